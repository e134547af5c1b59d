"""Routes `http://sandbox.test/...` to the sandbox views in-process, through Django's test
client: the provider clients run their full `requests` stack (headers, auth, bodies, status
mapping) with no socket, inside the test's transaction. Tests about sockets (timeouts, refused
connections, real workers) use live_server instead."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.test import Client
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SANDBOX_ORIGIN = "http://sandbox.test"
_SKIPPED_HEADERS = {"content-type", "content-length", "host"}


class DjangoSandboxAdapter(BaseAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIPPED_HEADERS}
        django_response = Client(raise_request_exception=True).generic(
            request.method,
            url.path,
            data=body,
            content_type=request.headers.get("Content-Type", ""),
            QUERY_STRING=url.query,
            HTTP_HOST=url.netloc,
            headers=headers,
        )
        response = requests.Response()
        response.status_code = django_response.status_code
        response.reason = django_response.reason_phrase
        response._content = django_response.content
        response.headers = CaseInsensitiveDict(django_response.headers.items())
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release: no sockets are opened."""
