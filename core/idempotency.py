"""`Idempotency-Key` on API POSTs: the same key with the same request answers the first response
again and creates nothing; the same key with a different request answers 422.

The key's row, the view's writes and the stored answer commit in one transaction: two requests
racing with one key cannot both act (the second waits on the unique key, then replays), and a
request that dies half-way leaves no key behind, so its retry runs again from scratch. Outbox
deliveries start on commit, as everywhere else. Keys are kept IDEMPOTENCY_KEY_TTL_HOURS
(default 24), then forgotten.

Only final answers are kept: those the same request would get again whenever it was sent.
- Kept (`answer_is_final`): every 2xx, and the input errors 400 (the request's data is invalid:
  the error names the fields) and 422 (well-formed data that cannot be processed). A client that
  fixes its data sends it with a new key.
- Not kept: every other answer — 401 and 403 (credentials or role, which can be put right),
  404, 405, 406, 413 and 415 (the view did not act), 409 (the record's state, which changes),
  429 (throttled: retry after Retry-After), every 5xx, and streamed answers. Neither are the
  view's writes for them: the transaction is rolled back, no key remains, and a retry with the
  same key runs again from scratch.
A kept answer is replayed with its status, its body byte for byte, its content type and the
headers the view gave it (Location, Retry-After, Allow, Vary…, never a cookie), plus the
language its messages are in (Content-Language: a replay does not translate them), with
`Idempotent-Replayed: true`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.api import api_error_body
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
API_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 255
# The errors kept and replayed like a success: the request's own data is wrong (module docstring).
FINAL_ERROR_STATUSES = frozenset({400, 422})
# Not kept with the other headers: the content type has its own column, the length follows the
# body, and a cookie is never handed out again. (Middleware further out adds its headers to
# every answer, replays included: they are not there yet when the answer is kept.)
_HEADERS_NOT_KEPT = frozenset({"content-type", "content-length", "set-cookie"})


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        user = _api_user(request)
        if user is None:  # the view answers 401/403 itself
            return self.get_response(request)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(
                400,
                "invalid_idempotency_key",
                _("The Idempotency-Key header must be 1 to %(n)d printable characters.")
                % {"n": MAX_KEY_LENGTH},
            )
        fingerprint = request_fingerprint(request)
        earlier = _live_keys().filter(user=user, key=key).first()
        if earlier is not None:
            return _replay(earlier, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method,
                    path=request.path[:500],
                )
                response = self.get_response(request)
                if not answer_is_final(response):
                    transaction.set_rollback(True)  # neither the key nor the view's writes
                    return response
                _keep(record, response)
                return response
        except IntegrityError:
            # Another request with this key committed first: answer what it answered.
            earlier = IdempotencyKey.objects.filter(user=user, key=key).first()
            if earlier is None:
                raise
            return _replay(earlier, fingerprint)


def answer_is_final(response: HttpResponse) -> bool:
    """Whether the same request would get this answer again: a 2xx, or invalid input (400,
    422). Anything else is not kept, so that a retry with the same key runs again."""
    if getattr(response, "streaming", False):
        return False
    return 200 <= response.status_code < 300 or response.status_code in FINAL_ERROR_STATUSES


def request_fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path, query and body. A multipart body is
    compared without its boundary (a client picks a new one on every retry), a JSON body
    without its spacing and key order."""
    body = request.body
    content_type = request.content_type or ""
    if content_type == "application/json":
        with suppress(ValueError):  # not JSON after all: compared as it came
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    elif content_type.startswith("multipart/"):
        boundary = request.content_params.get("boundary", "")
        if boundary:
            body = body.replace(boundary.encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path(), content_type):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def idempotency_keys_purge() -> int:
    """Forget keys older than their time to live (run by beat)."""
    deleted, _details = IdempotencyKey.objects.filter(created_at__lt=_oldest_live()).delete()
    return deleted


def _live_keys():
    return IdempotencyKey.objects.filter(created_at__gte=_oldest_live())


def _oldest_live():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _api_user(request: HttpRequest):
    """The user the API view will see: a token's, else the session's."""
    try:
        authenticated = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if authenticated is not None:
        return authenticated[0]
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _keep(record: IdempotencyKey, response: HttpResponse) -> None:
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")[:100]
    record.headers = {
        name: value for name, value in response.items() if name.lower() not in _HEADERS_NOT_KEPT
    }
    # The language of the answer's messages; LocaleMiddleware (outside) sets it only later.
    if not response.has_header("Content-Language"):
        record.headers["Content-Language"] = translation.get_language() or ""
    record.body = response.content
    record.save(update_fields=["status_code", "content_type", "headers", "body"])


def _replay(record: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return _error(
            422,
            "idempotency_key_reused",
            _(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for a new request."
            ),
        )
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    for name, value in (record.headers or {}).items():
        if value:
            response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        api_error_body(code=code, message=message),
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
