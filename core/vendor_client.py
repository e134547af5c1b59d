"""What the clients of AMM and SMSHosting share: the two come from the same vendor, whose APIs
follow one convention — HTTP Basic (`VendorClient`), errors as `{"errorCode": 400,
"errorMsg": CODE}` (also inside a 2xx answer), dates as `yyyy-MM-dd'T'HH:mm:ssZ`
(2019-11-22T16:11:23+0100), lists paged with a `metadata` block.

Each client keeps its own codes and messages (`error_messages`, `not_found_codes`,
`retryable_codes`, and the wording below) and its own readers; the convention is read here once.
The documents' lists of codes are incomplete, so a code we do not know is classified by its
HTTP status, then by its wording (`error_class`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from core import errors
from core.http import ProviderClient, Response, Session
from core.shapes import fields_differing, items_differing
from core.wire import Unreadable, read_int, wording

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Lists: `"metadata": {"count": 15, "offset": 0, "limit": 3}`, numbers or text, and the list.
METADATA_FIELDS = {
    "count": ("number", "text"),
    "offset": ("number", "text"),
    "limit": ("number", "text"),
}
# How many items of a list the read-only check looks at for optional fields of another type.
PROBE_ITEMS = 20

# A code we do not know is read by its wording (the code itself, with _ as spaces, and any text
# beside it), English or Italian. Each wording: the error class, and for "not found" the thing.
NOT_FOUND_WORDS = re.compile(
    r"not ?found|non ?trovat|not ?exists?|non ?esist|inesistent|does ?n[o']?t ?exist|no ?such"
    r"|unknown ?(card|record|fidelity|program)|sconosciut"
)
UNAVAILABLE_WORDS = re.compile(
    r"temporar|try ?again|riprova|time ?out|unavailable|non ?disponibil|internal|errore ?interno"
    r"|errore ?generico|generic ?error|server ?error"
)
AUTH_WORDS = re.compile(
    r"unauthori[sz]ed|credential|credenzial|forbidden|not ?authori[sz]ed|non ?autorizzat"
    r"|access ?denied|accesso ?negato"
)


def format_date(value: datetime) -> str:
    if value.tzinfo is None:  # %z would print nothing: the provider could not read the date
        raise ValueError("A provider date needs a time zone")
    return value.strftime(DATE_FORMAT)


def present(obj: Any, expected: dict) -> dict:
    """The expected fields `obj` has (not null): read when there, not needed."""
    return {k: v for k, v in expected.items() if isinstance(obj, dict) and obj.get(k) is not None}


def probe_differing(items: Any, cls: Any, *, where: str) -> list[str]:
    """The fields of a list's items that differ from what `cls.from_wire` reads: required ones
    (`cls.REQUIRED`) missing or of another type, optional ones (`cls.OPTIONAL`) of another
    type."""
    found = items_differing(items, cls.REQUIRED, where=where)
    for item in items[:PROBE_ITEMS] if isinstance(items, list) else []:
        if isinstance(item, dict):
            found += fields_differing(item, present(item, cls.OPTIONAL), where=f"{where}[]")
    return list(dict.fromkeys(found))


def metadata_differing(body: dict[str, Any]) -> list[str]:
    """The fields of a list answer's `metadata` block that differ from METADATA_FIELDS (none
    when the answer has no block: the list is then read to an empty page)."""
    meta = body.get("metadata")
    if meta is None:
        return []
    return fields_differing(meta, present(meta, METADATA_FIELDS), where="metadata")


def error_words(body: Any) -> tuple[str, str]:
    """(code, words) of an error body of this vendor: `{"errorCode": 400, "errorMsg": CODE}`
    (the SMS API's convention; the fidelity document prints no error body), and any text
    beside it under a usual name (errorDescription, message, description, detail)."""
    code = said = ""
    if isinstance(body, dict):
        value = body.get("errorMsg") or body.get("code") or body.get("error") or ""
        code = value if isinstance(value, str) else str(value)
        for key in ("errorDescription", "message", "description", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                said = body[key].strip()
                break
    return code.strip()[:64], said


def error_class(
    by_status: type[errors.ProviderError] | None,
    code: str,
    words: str,
    *,
    known: dict[str, Any],
    not_found: frozenset[str],
    retryable: frozenset[str],
) -> type[errors.ProviderError]:
    """The error class for a code of this vendor. Known codes first (`not_found`, `retryable`,
    UNAUTHORIZED); then the HTTP status (`by_status`: 401/403, 404, 408, 429, 5xx); then, for a
    code we do not know under a plain 4xx, its wording: not found, transient, credentials. The
    rest is a refusal."""
    if code in not_found:
        return errors.ProviderNotFound
    if code in retryable:
        return errors.ProviderUnavailable
    if code == "UNAUTHORIZED":
        return errors.ProviderAuthError
    if by_status is not None:
        return by_status
    if code not in known:
        if NOT_FOUND_WORDS.search(words):
            return errors.ProviderNotFound
        if UNAVAILABLE_WORDS.search(words):
            return errors.ProviderUnavailable
        if AUTH_WORDS.search(words):
            return errors.ProviderAuthError
    return errors.ProviderRejected


class VendorClient(ProviderClient):
    """A client of this vendor, authenticated with HTTP Basic. A subclass lists its codes'
    messages (`error_messages`) and how to classify them (`not_found_codes`,
    `retryable_codes`), and says, in its own name, that an answer cannot be read
    (`unreadable_message`, with %(fields)s) and that the provider refused a request for a
    reason we have no message of ours for (`refused_message`, with %(reason)s)."""

    error_messages: ClassVar[dict[str, Any]] = {}
    not_found_codes: ClassVar[frozenset[str]] = frozenset()
    retryable_codes: ClassVar[frozenset[str]] = frozenset()
    unreadable_message: ClassVar[Any]
    refused_message: ClassVar[Any]

    def __init__(self, *, base_url: str, auth_key: str, auth_secret: str, **timeouts: float):
        self._auth = (auth_key, auth_secret)
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        session.auth = self._auth

    def _call(
        self, method: str, path: str, operation: str, parse: Callable[[Any], Any], **kwargs: Any
    ) -> Any:
        """One call, its JSON answer read by `parse` (see `_read`)."""
        return self.request(method, path, operation=operation, read=self._read(parse), **kwargs)

    # --- reading ----------------------------------------------------------------------------
    def _read(self, parse: Callable[[Any], Any]) -> Callable[[Response], Any]:
        """A `read` for request(): the JSON body through `parse`, whose Unreadable becomes a
        ContractDrift naming the fields. A 2xx body that is one of the vendor's error bodies is
        that error. A body that is not JSON stays a MALFORMED_RESPONSE (core.http: looked up)."""

        def read(response: Response) -> Any:
            body = self.json(response)
            try:
                self._raise_error_body(response, body)
                return parse(body)
            except Unreadable as exc:
                raise self.drift(
                    response,
                    *exc.fields,
                    message=str(self.unreadable_message) % {"fields": "; ".join(exc.fields)},
                ) from exc

        return read

    def _raise_error_body(self, response: Response, body: Any) -> None:
        if isinstance(body, dict) and "errorMsg" in body and "errorCode" in body:
            status = read_int(body.get("errorCode"), "errorCode", 0)
            if status >= 400:
                raise self._error(status, body, response.text)

    # --- errors -----------------------------------------------------------------------------
    def error_for(self, response: Response) -> errors.ProviderError:
        return self._error(response.status_code, self._json_or_none(response), response.text)

    def _error(self, status: int, body: Any, text: str) -> errors.ProviderError:
        """The vendor's error as one of ours (error_class): a known code keeps its meaning,
        any other is read by its status, then by its wording (not found, transient,
        credentials); a refusal we cannot name shows the provider's own words."""
        code, said = error_words(body)
        words = wording(code, said)
        cls = error_class(
            self.status_class(status),
            code,
            words,
            known=self.error_messages,
            not_found=self.not_found_codes,
            retryable=self.retryable_codes,
        )
        message: Any = self.error_messages.get(code)
        if message is None:
            if issubclass(cls, errors.ProviderAuthError):
                message = self.error_messages["UNAUTHORIZED"]
            elif issubclass(cls, errors.ProviderNotFound):
                message = self.not_found_message(words)
            elif not cls.retryable and (said or code):
                message = str(self.refused_message) % {"reason": said or code}
        return cls(
            message,
            provider=self.provider,
            code=code or f"HTTP_{status}",
            status=status,
            response_text=text,
        )

    def not_found_message(self, words: str) -> Any:
        """The message of a "not found" whose code we do not know, from its words; None: the
        generic one."""
        return None
