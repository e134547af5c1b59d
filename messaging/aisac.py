"""Aisac client (`../shared/api-docs/aisac-requests-whatsapp-shopify.txt`): WhatsApp customer
care requests, flows and charges by user key (the customer's phone), and orders.

What the document prints, and what we follow where it is silent
----------------------------------------------------------------
It prints three request URLs and no answer (every "Response" heading is empty):

    https://api.aisac.io/v1/getRequest?api_key =[TOKEN_KEY] &request_id =[REQUEST_ID]
    https://api.aisac.io/v1/getFlowByUserKey?api_key =[TOKEN_KEY] &user_key =[user_key]
    https://api.aisac.io/v1/getChargesByUserKey?api_key =[TOKEN_KEY] &user_key =[user_key]

(the spaces before "=" are the document's typography: we send `api_key=…&request_id=…`). Of the
rest it says "Accetta richieste GET, POST, PUT, DELETE e PATCH codificate JSON.", "Restituisce i
valori codificati JSON." and "Il fuso orario di riferimento è il CEST". Creating a request
("Permette di creare le request"), reading many ("recuperare un numero maggiore di richieste
effettuate con diversi parametri") and creating orders ("Permette di creare ordini") are
described without a URL: the names `createRequest`, `getRequests`, `createOrder`, every body,
every answer, the list filters and the error bodies are our design, written down once in
docs/aisac.md, which the sandbox answers by default.

Because the answers are guesses, every one is read tolerantly, in one place per endpoint (the
`read_*` methods and `RemoteRequest.from_wire`), accepting:

- the bare object or list docs/aisac.md designs, or the same under a wrapper (`data`, `result`,
  `response`, or the endpoint's own name: `{"request": {...}}`, `{"requests": [...]}`), with or
  without `status`/`success` beside it;
- ids as numbers or as text (`7` or `"REQ-7"`), `request_id` or plain `id`;
- times as the document's zone says (Italian local time) in `YYYY-MM-DD HH:MM:SS`, or ISO 8601
  with or without an offset, or a Unix time;
- a list with or without `total` (as a number or as digits in text).

A 2xx answer that says it failed (`{"status": "error", "code", "message"}`, `{"success": false}`)
is the refusal it names. Anything else that cannot be read is a `ContractDrift` naming the fields
(the call log keeps the answer's shape, never its values)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import errors
from core.http import ProviderClient, Response, provider_client
from core.preflight import Probe, ProviderPreflight, provider_preflight
from core.provider_settings import provider_settings
from core.shapes import Expected, items_differing
from core.wire import Unreadable, id_text

# What the client is made from: AISAC_BASE_URL, AISAC_API_KEY.
SETTINGS = ("BASE_URL", "API_KEY")
AISAC_TZ = ZoneInfo("Europe/Rome")  # "il CEST … UTC+2 con l'ora legale, UTC+1 con l'ora solare"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # ours: the document shows no date at all
ERROR_MESSAGES = {
    "INVALID_API_KEY": gettext_lazy("Aisac refused our api_key: check AISAC_API_KEY."),
    "VALIDATION_ERROR": gettext_lazy("Aisac refused the request data."),
    "REQUEST_NOT_FOUND": gettext_lazy("Aisac does not know this request."),
    "ORDERS_DISABLED": gettext_lazy("The Aisac account is not set up to manage orders."),
    "DUPLICATE_ORDER": gettext_lazy("Aisac already has an order with this number."),
}
# Our error codes whose meaning is sure whatever HTTP status carries them.
CODE_ERRORS: dict[str, type[errors.ProviderError]] = {
    "INVALID_API_KEY": errors.ProviderAuthError,
    "REQUEST_NOT_FOUND": errors.ProviderNotFound,
}
# A request's statuses that end it: docs/aisac.md's request goes open → in_progress → closed;
# "resolved" and "cancelled", common in help desks, end it too. Any other status is open.
CLOSED_REQUEST_STATUSES = frozenset({"closed", "resolved", "cancelled"})
# Keys a JSON API commonly wraps its answer in (the document shows no answer at all).
WRAPPERS = ("data", "result", "response")
# Words that say a 2xx answer is a success without carrying anything else (createOrder).
SUCCESS_WORDS = frozenset({"success", "ok", "created", "true"})
FAILURE_WORDS = frozenset({"error", "ko", "failed", "failure"})

# What the client reads of a request in getRequests (the preflight names what differs).
REQUEST_FIELDS: Expected = {
    "request_id": ("number", "text"),
    "user_key": ("number", "text"),
    "type": ("text", "blank text"),
    "subject": ("text", "blank text"),
    "status": ("text",),
    "created_at": ("text", "number"),
}


def format_date(value: datetime) -> str:
    return value.astimezone(AISAC_TZ).strftime(DATE_FORMAT)


def parse_date(value: Any) -> datetime | None:
    """A time as Aisac may write it; None when absent. The document only says the zone is
    Italian ("il CEST"), so a time without an offset is Italian local time. Accepted: ours
    (`2026-11-22 10:00:00`), ISO 8601 with or without an offset (`2026-11-22T10:00:00+01:00`,
    `…Z`, fractions of a second), and a Unix time in seconds. Anything else raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value.strip()
    try:
        return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=AISAC_TZ)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=AISAC_TZ)


def wire_id(value: Any, name: str) -> str:
    """An id as text, whether the answer gives a number (`7`) or text (`"REQ-7"`)."""
    text = id_text(value)
    if text is None:
        raise Unreadable(name)
    return text


def wire_text(raw: dict[str, Any], name: str) -> str:
    """A text field: missing or null is blank, a number is its digits, a list or object is
    not text."""
    value = raw.get(name)
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        raise Unreadable(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def wire_count(value: Any) -> int | None:
    """A count given as a number or as digits in text; None when absent or unreadable (the list
    is then paged until a page brings nothing new)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass(frozen=True)
class RemoteRequest:
    request_id: str
    user_key: str
    type: str
    subject: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    # Ours, when Aisac gives it back: None when the answer has no `reference` (or null).
    reference: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: Any) -> RemoteRequest:
        """docs/aisac.md: `{"request_id", "user_key", "type", "subject", "status", "reference",
        "created_at", "updated_at"}`; the document names only `request_id` and `user_key` (as
        query parameters). Only the id is required; `id` stands for `request_id` if that is
        missing. Raises Unreadable naming the fields that cannot be read."""
        if not isinstance(raw, dict):
            raise Unreadable("request")
        key = "request_id" if raw.get("request_id") not in (None, "") else "id"
        if raw.get(key) in (None, ""):
            raise Unreadable("request_id")
        request_id = wire_id(raw.get(key), "request_id")
        unreadable = []
        values: dict[str, Any] = {}
        for name in ("user_key", "type", "subject", "status", "reference"):
            try:
                values[name] = wire_text(raw, name)
            except Unreadable:
                unreadable.append(name)
        # Ours, sent with createRequest: None when Aisac does not give it back (see
        # messaging.care.care_request_lookup for what that changes).
        values["reference"] = None if raw.get("reference") is None else values.get("reference")
        for name in ("created_at", "updated_at"):
            try:
                values[name] = parse_date(raw.get(name))
            except (ValueError, TypeError, OverflowError, OSError):
                unreadable.append(name)
        if unreadable:
            raise Unreadable(*unreadable)
        return cls(request_id=request_id, raw=raw, **values)


def request_status(raw: dict[str, Any]) -> str:
    """A request's status as its answer (RemoteRequest.raw) gives it, as text ("" for none)."""
    return str(raw.get("status") or "")


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class RemoteOrder:
    """An order Aisac holds: our order number (Aisac's id for it) and its answer, as read."""

    order_id: str
    raw: dict[str, Any]


class AisacClient(ProviderClient):
    provider = "aisac"

    def __init__(self, *, base_url: str, api_key: str, **timeouts: float) -> None:
        self._api_key = api_key
        super().__init__(base_url=base_url, **timeouts)

    # --- errors -----------------------------------------------------------------------------
    @staticmethod
    def _error_fields(body: dict[str, Any]) -> tuple[str, str]:
        """docs/aisac.md: `{"status": "error", "code", "message"}`. The document shows no error,
        so `{"error": {"code", "message"}}`, `{"error": "CODE"}` and `errorCode`/`errorMsg` are
        read too."""
        nested = body.get("error")
        source = nested if isinstance(nested, dict) else body
        code = source.get("code") or source.get("error_code") or source.get("errorCode")
        if not code and isinstance(nested, str):
            code = nested
        detail = source.get("message") or source.get("errorMsg") or source.get("error_description")
        return (
            str(code) if isinstance(code, str | int) else "",
            str(detail) if isinstance(detail, str | int) else "",
        )

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response)
        if not isinstance(body, dict):
            return "", ""
        code, detail = self._error_fields(body)
        message = ERROR_MESSAGES.get(code)
        return code, f"{message} {detail}".strip() if message else detail

    def error_for(self, response: Response) -> errors.ProviderError:
        error = super().error_for(response)
        cls = CODE_ERRORS.get(error.code)
        if cls is None or isinstance(error, cls):
            return error
        return cls(error.user_message, provider=self.provider, code=error.code, status=error.status)

    def _refused_in_body(self, response: Response, body: Any) -> errors.ProviderError | None:
        """A 2xx answer that says it failed (the document is silent; common in JSON APIs):
        `{"status": "error", …}` or `{"success": false, …}`, without an id of what we asked."""
        if not isinstance(body, dict):
            return None
        status = body.get("status")
        failed = body.get("success") is False or (
            isinstance(status, str) and status.strip().lower() in FAILURE_WORDS
        )
        if not failed or any(body.get(key) for key in ("request_id", "order_id", "id")):
            return None
        code, detail = self._error_fields(body)
        message = ERROR_MESSAGES.get(code)
        cls = CODE_ERRORS.get(code, errors.ProviderRejected)
        return cls(
            f"{message} {detail}".strip() if message else detail or None,
            provider=self.provider,
            code=code or "REFUSED",
            status=response.status_code,
        )

    def _unreadable(self, response: Response, *fields: str) -> errors.ContractDrift:
        return self.drift(
            response,
            *fields,
            message=_(
                "Aisac answered in a form Vetrina cannot read (%(fields)s); it may have applied "
                "the request. The call log shows the answer's shape."
            )
            % {"fields": ", ".join(fields)},
        )

    # --- reading ----------------------------------------------------------------------------
    def _body(self, response: Response) -> Any:
        body = self.json(response)  # a body that is not JSON: a lost answer, looked up later
        refusal = self._refused_in_body(response, body)
        if refusal is not None:
            raise refusal
        return body

    @staticmethod
    def _places(body: Any, name: str) -> Iterator[tuple[dict[str, Any] | None, Any]]:
        """Where an answer may hold what we asked for, with the object holding it: the body
        itself, under the endpoint's own name, under a wrapper, or under both."""
        yield None, body
        if not isinstance(body, dict):
            return
        for key in (name, *WRAPPERS):
            inner = body.get(key)
            yield body, inner
            if isinstance(inner, dict) and key != name:
                yield inner, inner.get(name)

    def _object(self, response: Response, body: Any, name: str, ids: tuple[str, ...]) -> dict:
        for _holder, place in self._places(body, name):
            if isinstance(place, dict) and any(place.get(key) not in (None, "") for key in ids):
                return place
        raise self._unreadable(response, ids[0])

    def _list(self, response: Response, body: Any, name: str) -> tuple[list[dict], int | None]:
        """The items of a list answer and the total it states (None when it states none)."""
        for holder, place in self._places(body, name):
            if not isinstance(place, list):
                continue
            if not all(isinstance(item, dict) for item in place):
                raise self._unreadable(response, f"{name}[]")
            total = None
            for source in (holder, body):
                if isinstance(source, dict):
                    meta = source.get("meta") or source.get("pagination")
                    for value in (
                        source.get("total"),
                        meta.get("total") if isinstance(meta, dict) else None,
                    ):
                        total = total if total is not None else wire_count(value)
            return place, total
        if isinstance(body, dict) and any(
            key in body and body[key] is None for key in (name, *WRAPPERS)
        ):
            return [], 0  # `{"flows": null}`, `{"data": null}`: an empty list, said as null
        raise self._unreadable(response, name)

    def _request_from(self, response: Response, raw: Any, where: str = "") -> RemoteRequest:
        try:
            return RemoteRequest.from_wire(raw)
        except Unreadable as exc:
            raise self._unreadable(response, *(f"{where}{name}" for name in exc.fields)) from exc

    def read_request(self, response: Response) -> RemoteRequest:
        """createRequest, getRequest. The document prints no answer ("Response" is empty);
        docs/aisac.md designs the bare request object. Also read: the object under `request`,
        `data`, `result` or `response` (`{"status": "success", "data": {...}}`)."""
        body = self._body(response)
        return self._request_from(
            response, self._object(response, body, "request", ("request_id", "id"))
        )

    def read_requests(self, response: Response) -> tuple[int | None, list[RemoteRequest]]:
        """getRequests. The document: "Permette di recuperare un numero maggiore di richieste
        effettuate con diversi parametri", no URL, no answer. docs/aisac.md designs
        `{"requests": [...], "page", "total"}`; also read: a bare list, the list under a wrapper
        (`{"data": [...]}`, `{"data": {"requests": [...]}}`), a total as digits in text, or no
        total at all."""
        items, total = self._list(response, self._body(response), "requests")
        return total, [self._request_from(response, raw, "requests[].") for raw in items]

    def read_user_list(self, name: str):
        """getFlowByUserKey ("Recupera tutti i flussi operativi processati partendo da valore
        user_key") and getChargesByUserKey ("Recupera tutti gli addebiti processati generati da
        user_key"): the document prints the URLs, no answer. docs/aisac.md designs
        `{"user_key", "flows": [...]}` / `{"user_key", "charges": [...]}`; also read: a bare list
        ("tutti": all of them, no wrapper) or the list under a wrapper. Each item must be an
        object; its fields are shown as they come (ids as numbers or text)."""

        def read(response: Response) -> list[dict[str, Any]]:
            items, _total = self._list(response, self._body(response), name)
            return list(items)

        return read

    def read_order(self, order_id: str):
        """createOrder: "Permette di creare ordini direttamente in Aisac se il tuo account è
        configurato per gestire Ordini", no URL, no answer. docs/aisac.md designs
        `{"order_id", "status"}`; also read: the object under a wrapper, `id` for `order_id`,
        an id as a number, and a success that carries no id at all (no body,
        `{"status": "success"}`, `{"success": true}`): the order number is ours, sent in the
        request, so a 2xx without one still means Aisac has it under that number."""

        def read(response: Response) -> dict[str, Any]:
            body = self._body(response)
            if body is None:
                return {"order_id": order_id}
            for _holder, place in self._places(body, "order"):
                if isinstance(place, dict):
                    for key in ("order_id", "id"):
                        if place.get(key) not in (None, ""):
                            try:
                                return {**place, "order_id": wire_id(place[key], "order_id")}
                            except Unreadable as exc:
                                raise self._unreadable(response, *exc.fields) from exc
            if isinstance(body, dict) and (
                body.get("success") is True
                or str(body.get("status", "")).strip().lower() in SUCCESS_WORDS
            ):
                return {**body, "order_id": order_id}
            raise self._unreadable(response, "order_id")

        return read

    # --- calls ------------------------------------------------------------------------------
    def _params(self, **params: Any) -> dict[str, Any]:
        # "…/getRequest?api_key =[TOKEN_KEY] &request_id =[REQUEST_ID]": the key in the query.
        return {
            "api_key": self._api_key,
            **{k: v for k, v in params.items() if v not in (None, "")},
        }

    def _get(self, endpoint: str, read, **params: Any) -> Any:
        return self.request(
            "GET", endpoint, operation=endpoint, params=self._params(**params), read=read
        )

    def _post(self, endpoint: str, body: dict[str, Any], read) -> Any:
        return self.request(
            "POST", endpoint, operation=endpoint, params=self._params(), json_body=body, read=read
        )

    # --- care requests ----------------------------------------------------------------------
    def create_request(
        self, *, user_key: str, type: str, subject: str, message: str = "", reference: str = ""
    ) -> RemoteRequest:
        body = {"user_key": user_key, "type": type, "subject": subject, "message": message}
        if reference:
            body["reference"] = reference  # ours: lets a lost answer be found again
        return self._post("createRequest", body, self.read_request)

    def get_request(self, request_id: str) -> RemoteRequest:
        return self._get("getRequest", self.read_request, request_id=request_id)

    def get_requests(
        self,
        *,
        user_key: str = "",
        status: str = "",
        type: str = "",
        reference: str = "",
        from_date: datetime | None = None,
        page: int = 1,
    ) -> tuple[int | None, list[RemoteRequest]]:
        """One page; the total Aisac states, or None when it states none."""
        return self._get(
            "getRequests",
            self.read_requests,
            user_key=user_key,
            status=status,
            type=type,
            reference=reference,
            from_date=format_date(from_date) if from_date else None,
            page=page,
        )

    def iter_requests(self, **filters: Any) -> Iterator[RemoteRequest]:
        """Every request, page after page, each once. It stops at the stated total, or — when
        no total is given, or the `page` parameter is not honoured — at the first page that
        brings nothing new."""
        page, seen = 1, set()
        while True:
            total, items = self.get_requests(page=page, **filters)
            new = [item for item in items if item.request_id not in seen]
            seen.update(item.request_id for item in new)
            yield from new
            if not new or (total is not None and len(seen) >= total):
                return
            page += 1

    # --- per user ---------------------------------------------------------------------------
    def flows_by_user_key(self, user_key: str) -> list[dict[str, Any]]:
        # "…/getFlowByUserKey?api_key =[TOKEN_KEY] &user_key =[user_key]"
        return self._get("getFlowByUserKey", self.read_user_list("flows"), user_key=user_key)

    def charges_by_user_key(self, user_key: str) -> list[dict[str, Any]]:
        # "…/getChargesByUserKey?api_key =[TOKEN_KEY] &user_key =[user_key]"
        return self._get("getChargesByUserKey", self.read_user_list("charges"), user_key=user_key)

    # --- orders -----------------------------------------------------------------------------
    def create_order(
        self,
        *,
        order_id: str,
        user_key: str,
        shop_code: str,
        total: Decimal,
        lines: list[OrderLine],
        currency: str = "EUR",
    ) -> dict[str, Any]:
        body = {
            "order_id": order_id,
            "user_key": user_key,
            "shop_code": shop_code,
            "total": str(total),
            "currency": currency,
            "lines": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "price": str(line.price),
                }
                for line in lines
            ],
        }
        return self._post("createOrder", body, self.read_order(order_id))

    def place_order(self, *, order_id: str, **order: Any) -> RemoteOrder:
        """createOrder, once: Aisac refuses a second order with our number (DUPLICATE_ORDER),
        which means an earlier attempt got there — the goal is met."""
        try:
            answer = self.create_order(order_id=order_id, **order)
        except errors.ProviderRejected as exc:
            if exc.code == "DUPLICATE_ORDER":
                return RemoteOrder(order_id, {"order_id": order_id})
            raise
        return RemoteOrder(str(answer["order_id"]), answer)

    # --- preflight --------------------------------------------------------------------------
    def probe_requests(self) -> list[str]:
        """getRequests, first page only (read-only): the fields of its requests that differ
        from what the client reads. A list it cannot find at all is a ContractDrift."""

        def read(response: Response) -> list[str]:
            items, _total = self._list(response, self._body(response), "requests")
            differing = items_differing(items, REQUEST_FIELDS, where="requests")
            for item in items:
                for name in ("created_at", "updated_at"):
                    try:
                        parse_date(item.get(name))
                    except (ValueError, TypeError, OverflowError, OSError):
                        note = f"requests[].{name}: not a time Vetrina reads"
                        if note not in differing and f"requests[].{name}: missing" not in differing:
                            differing.append(note)
            return differing

        return self._get("getRequests", read, page=1)


def aisac_client() -> AisacClient:
    return provider_client(AisacClient, **provider_settings(AisacClient.provider, *SETTINGS))


def aisac_preflight() -> ProviderPreflight:
    """What `checkproviders` checks for Aisac (registered in messaging/apps.py): its settings,
    then the one read-only call we use, getRequests (first page)."""
    return provider_preflight(
        AisacClient.provider,
        "Aisac",
        needs=SETTINGS,
        probes=lambda: [Probe("getRequests", aisac_client().probe_requests)],
    )
