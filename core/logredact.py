"""Keys that travel in URLs never reach Vetrina's logs.

Aisac's inbound calls may carry our key as `?api_key=…` (docs/aisac.md), and so do our own
calls to Aisac. Every log line a request can write goes through one of these:

- `RedactSecretsFilter`, on the handlers of settings.LOGGING (Django's request and server
  loggers, ours, Celery's);
- `RedactingGunicornLogger`, the access log of gunicorn (named by gunicorn.conf.py, which
  gunicorn reads from the directory it starts in).

Both replace the value of `api_key=` (in any case) with `[redacted]`. This module imports
nothing of Django's: gunicorn's master loads it before the application."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# The query parameters whose value is a secret, in a URL or a request line, also URL-encoded
# (`api%5Fkey`) or as gunicorn writes a header (`{x-api-key}i`).
_SECRET_PARAM = re.compile(r"(?i)\b(api(?:_|%5f)key=)[^&\s\"'#]*")
_SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "cookie", "wolkvox-token"}
    | {"http_x_api_key", "http_authorization", "http_cookie", "http_wolkvox_token"}  # environ
)


def redact_secrets(text: str) -> str:
    """The text with every `api_key=<value>` replaced by `api_key=[redacted]`."""
    if "key" not in text.lower():  # the usual line: nothing to look for
        return text
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message (and its traceback) without the secrets; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        return True


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover (gunicorn is a dependency; the worker does not need it)
    _GunicornLogger = object  # type: ignore[assignment,misc]


class RedactingGunicornLogger(_GunicornLogger):  # type: ignore[valid-type,misc]
    """gunicorn's logger, whose access-log fields (request line, query, referer, headers if a
    format names them) carry no secret, and whose own lines ("Booting worker", "Connection in
    use") look like Django's in the same stream: settings.LOGGING's "plain" format."""

    error_fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    datefmt = None  # logging's default, as Django's lines: 2026-12-04 18:37:17,200

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name.startswith("{") and name[1:].split("}", 1)[0] in _SECRET_HEADERS:
                atoms[name] = REDACTED
            elif isinstance(value, str):
                atoms[name] = redact_secrets(value)
        return atoms
