"""The HTTP base every provider client builds on (the only module that imports `requests`).

A provider module fills in hooks — how to authenticate, how to read an error body — and calls
`request()`, which runs the fixed sequence: send → time and log the call → map failures to the
typed errors of `core.errors`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from core import errors
from core.shapes import answer_shape

# What reading an answer raises when the answer is not what the reader expected: a missing key,
# a list where an object was expected, a number that is not one. `request(read=…)` turns these
# into a ContractDrift, so none of them ever reaches the outbox from a client module.
ANSWER_READING_ERRORS = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    InvalidOperation,
)

# Provider modules type their hooks with these, so that only this module imports requests.
Response = requests.Response
Session = requests.Session


@dataclass(frozen=True)
class CallRecord:
    """What the call log keeps of one remote call: never a secret, never a body."""

    provider: str
    operation: str
    method: str
    path: str
    status: int | None
    duration_ms: int
    error_code: str = ""
    error: str = ""
    # Keys and value types of an answer the client could not read (core.shapes), never values.
    answer_shape: str = ""


CallListener = Callable[[CallRecord], None]
_listeners: list[CallListener] = []


def add_call_listener(listener: CallListener) -> None:
    """Subscribe to every remote call (the core app writes them to the call log)."""
    if listener not in _listeners:
        _listeners.append(listener)


_client_factories: list[Any] = []


def cached_client_factory(factory):
    """Cache a provider's client per configuration (one pooled session each), resettable."""
    cached = lru_cache(maxsize=4)(factory)
    _client_factories.append(cached)
    return cached


def provider_client[C: "ProviderClient"](
    client_class: type[C], /, read_timeout: float | None = None, **arguments: Any
) -> C:
    """The process's client of a provider, made from `arguments` (its settings' values) and the
    shared timeouts: one pooled session per configuration, made again when a setting changes
    (`clients_reset`). `read_timeout` overrides PROVIDER_READ_TIMEOUT for a provider whose
    calls are documented as longer (Wolkvox)."""
    return _provider_client(
        client_class,
        tuple(sorted(arguments.items())),
        settings.PROVIDER_CONNECT_TIMEOUT,
        read_timeout if read_timeout is not None else settings.PROVIDER_READ_TIMEOUT,
    )


def _make_client(client_class, arguments, connect: float, read: float):
    return client_class(**dict(arguments), connect_timeout=connect, read_timeout=read)


# One cache for every provider: a few configurations each (a test's settings, say).
_provider_client = lru_cache(maxsize=32)(_make_client)
_client_factories.append(_provider_client)


def clients_reset() -> None:
    """Forget cached clients (after settings change, or in tests)."""
    for cached in _client_factories:
        cached.cache_clear()


# The monotonic time by which every call of the current delivery must be over (or None).
_deadline: ContextVar[float | None] = ContextVar("delivery_deadline", default=None)
BODY_CHUNK_BYTES = 64 * 1024


@contextmanager
def delivery_deadline(seconds: float) -> Iterator[None]:
    """Hold every call made in this block to a total deadline, answers included: each call's
    timeouts shrink to what is left, its answer is read in chunks and abandoned once the
    deadline has passed (ProviderTimeout: the provider may have acted), and no call starts once
    it has passed. The outbox sets it to half the lease (core/outbox.py)."""
    deadline = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def build_session() -> requests.Session:
    """One pooled session per client; tests swap this to route the sandbox in-process."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _settle_environment(session: requests.Session, base_url: str) -> None:
    """Read the environment's proxy and CA bundle settings once, for this provider's address.

    With `trust_env`, requests reads them again for every call (the proxy variables, their
    bypass list and ~/.netrc), which cost a delivery more CPU than all of its SQL. What they
    say is kept: the proxies for `base_url` (none if NO_PROXY covers it) and a CA bundle from
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE. ~/.netrc is not: a provider's credentials come
    from the settings only."""
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False


class _DeadlinePassed(Exception):
    """The delivery's deadline passed while an answer was still arriving."""


def _read_body_by(response: requests.Response, deadline: float) -> None:
    """Read a streamed answer as it arrives, giving up once `deadline` has passed: each read is
    bounded by the read timeout, and the reads by the deadline, so an answer trickling in
    cannot hold a delivery past it. `read1` returns what has arrived (up to a chunk) instead of
    waiting for a whole chunk, which `iter_content` would."""
    if response._content is not False:  # already read (a test transport, say)
        return
    body = bytearray()
    try:
        while chunk := response.raw.read1(BODY_CHUNK_BYTES, decode_content=True):
            body += chunk
            if time.monotonic() > deadline:
                response.close()
                raise _DeadlinePassed
        if time.monotonic() > deadline:
            raise _DeadlinePassed
    except ReadTimeoutError as exc:  # as requests maps them when it reads the body itself
        raise requests.ConnectionError(exc, request=response.request) from exc
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    response._content = bytes(body)
    response._content_consumed = True
    response.raw.release_conn()  # read to the end: the connection goes back to the pool


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection failed before the request left: safe to repeat blindly."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


class ProviderClient:
    """Base for one provider's client. Subclasses set `provider` and fill in the hooks."""

    provider: ClassVar[str] = ""
    # HTTP status → error class; anything else ≥ 400 is a rejection, ≥ 500 unavailable.
    status_errors: ClassVar[dict[int, type[errors.ProviderError]]] = {
        401: errors.ProviderAuthError,
        403: errors.ProviderAuthError,
        404: errors.ProviderNotFound,
        408: errors.ProviderUnavailable,
        409: errors.ProviderRejected,
        429: errors.ProviderRateLimited,
    }

    def __init__(
        self,
        *,
        base_url: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        if not base_url:
            raise errors.ProviderAuthError(
                _("%(provider)s: the base URL is not configured.") % {"provider": self.provider},
                provider=self.provider,
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = build_session()
        _settle_environment(self.session, self.base_url)
        # Every provider answers JSON (each document's examples), errors included.
        self.session.headers["Accept"] = "application/json"
        self.configure_session(self.session)

    # --- hooks ---------------------------------------------------------------------------
    def configure_session(self, session: requests.Session) -> None:
        """Set authentication and the provider's own headers (Accept is set for every one)."""

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        """Return (provider error code, human message) from an error response: each provider
        reads its own error body. By default none is read: the status says enough."""
        return "", ""

    # --- the fixed sequence --------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: dict[str, Any] | Iterable[tuple[str, Any]] | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        log_path: str | None = None,
        read: Callable[[requests.Response], Any] | None = None,
    ) -> Any:
        """Send one request; return the response if 2xx, raise a ProviderError otherwise.

        With `read`, return what `read(response)` makes of a 2xx answer instead: reading is
        part of the call, so an answer it cannot read is logged with this call (as a failure,
        with the answer's shape) and raised as a ContractDrift, whatever `read` tripped on.
        `log_path` replaces `path` in the call log when the path itself carries personal data.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        deadline = _deadline.get()
        timeout = self.timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:  # never sent: safe to try again later (not the provider's failure)
                raise errors.ProviderUnavailable(
                    _("Not sent: the delivery ran out of time; it will be tried again."),
                    code="DEADLINE",
                )
            timeout = (min(timeout[0], left), min(timeout[1], left))
        started = time.monotonic()
        response: requests.Response | None = None
        failure: errors.ProviderError | None = None
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                files=files,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=deadline is not None,
            )
            if deadline is not None:
                _read_body_by(response, deadline)
        except _DeadlinePassed as exc:
            failure = errors.ProviderTimeout(provider=self.provider, code="DEADLINE")
            raise failure from exc
        except requests.ReadTimeout as exc:
            failure = errors.ProviderTimeout(provider=self.provider, code="TIMEOUT")
            raise failure from exc
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                failure = errors.ProviderUnavailable(provider=self.provider, code="CONNECTION")
            else:
                failure = errors.ProviderTimeout(
                    errors.ProviderTimeout.default_message,
                    provider=self.provider,
                    code="CONNECTION_LOST",
                )
            raise failure from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            # Never sent. The exception's text holds the whole URL (query keys included).
            failure = errors.ProviderRejected(
                _("The provider's base URL is not valid: check the settings."),
                provider=self.provider,
                code="BAD_URL",
            )
            raise failure from exc
        except requests.RequestException as exc:
            # Broken while sending or reading: the provider may have acted.
            failure = errors.ProviderTimeout(
                errors.ProviderTimeout.default_message,
                provider=self.provider,
                code=type(exc).__name__.upper()[:64],
            )
            raise failure from exc
        else:
            if response.status_code >= 300:
                failure = self.error_for(response)
                raise failure
            if read is None:
                return response
            try:
                return read(response)
            except errors.ProviderError as exc:
                failure = exc
                if not failure.shape:
                    failure.shape = self.shape_of(response)
                raise
            except ANSWER_READING_ERRORS as exc:
                failure = self.drift(response)
                raise failure from exc
        finally:
            self._record(
                CallRecord(
                    provider=self.provider,
                    operation=operation,
                    method=method.upper(),
                    path=log_path or "/" + path.lstrip("/"),
                    status=response.status_code if response is not None else None,
                    duration_ms=round((time.monotonic() - started) * 1000),
                    error_code=failure.code if failure else "",
                    error=failure.user_message if failure else "",
                    answer_shape=failure.shape if failure else "",
                )
            )

    @classmethod
    def status_class(cls, status: int) -> type[errors.ProviderError] | None:
        """The error an HTTP status means by itself (`status_errors`, any 5xx unavailable);
        None for any other status: a refusal, unless the provider's code says more."""
        if status in cls.status_errors:
            return cls.status_errors[status]
        if status >= 500:
            return errors.ProviderUnavailable
        return None

    def error_for(self, response: requests.Response) -> errors.ProviderError:
        code, message = self.parse_error(response)
        status = response.status_code
        cls = self.status_class(status) or errors.ProviderRejected
        return cls(
            message or None,
            provider=self.provider,
            code=code or f"HTTP_{status}",
            status=status,
            response_text=response.text,
        )

    def json(self, response: requests.Response) -> Any:
        """The response body as JSON; a garbled 2xx body means we cannot tell what happened."""
        body = self._json_or_none(response)
        if body is None and response.content.strip():
            raise errors.ProviderTimeout(
                _("The provider sent an unreadable answer; the outcome will be checked."),
                provider=self.provider,
                code="MALFORMED_RESPONSE",
                status=response.status_code,
            )
        return body

    def drift(
        self,
        answer: requests.Response | Any,
        *fields: str,
        message: str | None = None,
    ) -> errors.ContractDrift:
        """The error for an answer this client cannot read: raise it from a `read` function.
        `answer` is the response or the part of its body that was not understood; `fields`
        names what differed from what the client expects."""
        if isinstance(answer, requests.Response):
            shape, status = self.shape_of(answer), answer.status_code
        else:
            shape, status = answer_shape(answer), None
        return errors.ContractDrift(
            message, provider=self.provider, fields=fields, shape=shape, status=status
        )

    def shape_of(self, response: requests.Response) -> str:
        return answer_shape(
            self._json_or_none(response),
            content_type=response.headers.get("Content-Type", ""),
            size=len(response.content),
        )

    @staticmethod
    def _json_or_none(response: requests.Response) -> Any:
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            return None

    def _record(self, record: CallRecord) -> None:
        for listener in _listeners:
            listener(record)
