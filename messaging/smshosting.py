"""SMSHosting push/SMS client (`../shared/api-docs/smshosting-push.txt`).

HTTP Basic (AUTH_KEY:AUTH_SECRET). POSTs are `application/x-www-form-urlencoded`, or
`multipart/form-data` when an image (`file`) is attached. Dates are `yyyy-MM-ddTHH:mm:ssZ`
(2014-12-25T08:00:00+0200). Errors answer 400 with an `errorMsg` code from the document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.http import ErrorCodeClient, Response, cached_client_factory

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
SEARCH_PAGE_SIZE = 500
FINAL_STATUSES = {"DELIVERED", "NOTDELIVERED", "NOSENT"}
# Every errorMsg of the document, with what the user can do about it.
ERROR_MESSAGES = {
    "PUSH_UNAVAILABLE": _("No push plan is active on the SMSHosting account."),
    "BAD_TRANSACTIONID": _("SMSHosting refused the transaction id (at most 60 characters)."),
    "BAD_DATE": _("SMSHosting refused the send date."),
    "BAD_CONTENT_PUSH": _("The push needs a text or an image."),
    "BAD_ENCODING": _("SMSHosting refused the SMS encoding (7BIT, UCS2 or AUTO)."),
    "BAD_TEXT": _("SMSHosting refused the SMS text (needed when not push-only, at most 5 SMS)."),
    "BAD_FROM": _(
        "SMSHosting refused the sender: a validated number or at most 11 letters and digits."
    ),
    "BAD_GROUP": _("SMSHosting does not know one of the address-book groups."),
    "BAD_CREDIT": _("Not enough SMSHosting credit for this send: top up the account."),
    "NO_PUSH": _("Not enough pushes left in the SMSHosting plan for this send."),
    "NO_VALID_RECIPIENT": _("None of the recipients is a valid mobile number."),
    "GENERIC_ERROR": _("SMSHosting had an internal error; the send will be retried."),
    "NO_PARAMS": _("SMSHosting needs at least one search parameter."),
    "BAD_ID": _("SMSHosting refused the message id."),
    "BAD_MSISDN": _("SMSHosting refused the phone number."),
    "BAD_STATUS": _("SMSHosting refused the status filter."),
    "BAD_TO": _("SMSHosting refused the phone number for the invitation."),
}
# A server-side error is worth another try; the others need the user to change something.
RETRYABLE_CODES = frozenset({"GENERIC_ERROR"})


def format_date(value: datetime) -> str:
    if value.tzinfo is None:  # %z would print nothing: the provider could not read the date
        raise ValueError("A provider date needs a time zone")
    return value.strftime(DATE_FORMAT)


def parse_date(value: str | None) -> datetime | None:
    return datetime.strptime(value, DATE_FORMAT) if value else None  # noqa: DTZ007 (%z)


@dataclass(frozen=True)
class PushRequest:
    """One push/send (or push/estimate) call, with our names."""

    to: list[str] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    text: str = ""
    image: tuple[str, bytes, str] | None = None  # (filename, content, content type)
    only_push: bool = True
    sms_text: str = ""
    sms_from: str = ""
    sms_encoding: str = ""
    send_at: datetime | None = None
    transaction_id: str = ""
    sandbox: bool = False

    def form(self, *, for_send: bool) -> dict[str, str]:
        values: dict[str, str | None] = {
            "to": ",".join(self.to) or None,
            "group": ",".join(str(g) for g in self.groups) or None,
            "text": self.text or None,
            "onlyPush": "true" if self.only_push else "false",
            "smsFrom": self.sms_from or None,
            "smsText": self.sms_text or None,
            "smsEncoding": self.sms_encoding or None,
        }
        if for_send:  # date, transactionId and sandbox belong to push/send only
            values["date"] = format_date(self.send_at) if self.send_at else None
            values["transactionId"] = self.transaction_id or None
            values["sandbox"] = "true" if self.sandbox else None
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class Estimate:
    cost: Decimal
    user_credit: Decimal
    sms_count: int
    push_count: int
    push_available: int


@dataclass(frozen=True)
class SentMessage:
    id: str
    to: str
    status: str  # INSERTED / NOT_INSERTED, then PENDING, SENT, NOSENT, DELIVERED, NOTDELIVERED
    status_detail: str = ""
    type: str = ""
    insert_date: datetime | None = None
    sent_date: datetime | None = None
    delivery_date: datetime | None = None
    price: Decimal | None = None
    multimedia_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> SentMessage:
        return cls(*message_values(raw), raw=raw)


def message_values(raw: dict[str, Any]) -> tuple:
    """A message of an answer as SentMessage's fields, in their order, without building one:
    recording a 1,000-message batch reads these (a frozen dataclass apiece cost ~7 ms)."""
    multimedia = raw.get("multimediaContent")
    price = raw.get("price")
    return (
        str(raw.get("id") or ""),
        str(raw.get("to") or ""),
        str(raw.get("status") or ""),
        str(raw.get("statusDetail") or ""),
        str(raw.get("type") or ""),
        parse_date(raw.get("insertDate")),
        parse_date(raw.get("sentDate")),
        parse_date(raw.get("deliveryDate")),
        None if price is None else Decimal(str(price)),
        str(multimedia.get("id") or "") if multimedia else "",
    )


@dataclass(frozen=True)
class SendResult:
    transaction_id: str
    sms_inserted: int
    sms_not_inserted: int
    push_inserted: int
    raw: dict[str, Any]

    @property
    def messages(self) -> list[SentMessage]:
        """Read from the answer when asked: the outbox handler keeps the raw answer and reads
        it after the provider's slot is released, so a 1,000-message batch is not parsed twice
        (and not while the slot is held)."""
        return [SentMessage.from_wire(m) for m in self.raw.get("sms", [])]


class SmsHostingClient(ErrorCodeClient):
    provider = "smshosting"
    error_messages = ERROR_MESSAGES
    retryable_codes = RETRYABLE_CODES

    def _post_push(self, path: str, request: PushRequest, *, for_send: bool) -> Response:
        form = request.form(for_send=for_send)
        if request.image is not None:  # multipart only when a file is attached
            return self.request(
                "POST", path, operation=path, data=form, files={"file": request.image}
            )
        return self.request("POST", path, operation=path, data=form)

    def estimate(self, request: PushRequest) -> Estimate:
        body = self.json(self._post_push("push/estimate", request, for_send=False)) or {}
        return Estimate(
            cost=Decimal(str(body.get("cost", 0))),
            user_credit=Decimal(str(body.get("userCredit", 0))),
            sms_count=int(body.get("smsCount", 0)),
            push_count=int(body.get("pushCount", 0)),
            push_available=int(body.get("pushAvailable", 0)),
        )

    def send(self, request: PushRequest) -> SendResult:
        body = self.json(self._post_push("push/send", request, for_send=True)) or {}
        return SendResult(
            transaction_id=str(body.get("transactionId") or request.transaction_id),
            sms_inserted=int(body.get("smsInserted", 0)),
            sms_not_inserted=int(body.get("smsNotInserted", 0)),
            push_inserted=int(body.get("pushInserted", 0)),
            raw=body,
        )

    def search(
        self,
        *,
        transaction_id: str = "",
        ids: list[str] | None = None,
        offset: int = 0,
        limit: int = SEARCH_PAGE_SIZE,
        from_date: datetime | None = None,
        status: str = "",
    ) -> tuple[int, list[SentMessage]]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if transaction_id:
            params["transactionId"] = transaction_id
        if ids:
            params["id"] = ",".join(ids)
        if from_date:
            params["fromDate"] = format_date(from_date)
        if status:
            params["status"] = status
        body = self.json(self.request("GET", "push/search", operation="push/search", params=params))
        body = body or {}
        count = int((body.get("metadata") or {}).get("count", 0))
        return count, [SentMessage.from_wire(m) for m in body.get("smsList", [])]

    def search_all(self, *, transaction_id: str) -> Iterator[SentMessage]:
        """Every message of a transaction, page by page."""
        offset = 0
        while True:
            count, page = self.search(transaction_id=transaction_id, offset=offset)
            yield from page
            offset += len(page)
            if not page or offset >= count:
                return

    def multimedia(self, media_id: str) -> tuple[bytes, str]:
        response = self.request(
            "GET",
            f"push/multimedia/{quote(media_id, safe='=+')}",
            operation="push/multimedia",
            log_path="/push/multimedia/{id}",
        )
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    def invitation(self, to: str) -> str:
        body = self.json(
            self.request("POST", "push/invitation", operation="push/invitation", data={"to": to})
        )
        return str((body or {}).get("url") or "")


@cached_client_factory
def _client(base_url: str, key: str, secret: str, connect: float, read: float) -> SmsHostingClient:
    return SmsHostingClient(
        base_url=base_url,
        auth_key=key,
        auth_secret=secret,
        connect_timeout=connect,
        read_timeout=read,
    )


def smshosting_client() -> SmsHostingClient:
    return _client(
        settings.SMSHOSTING_BASE_URL,
        settings.SMSHOSTING_AUTH_KEY,
        settings.SMSHOSTING_AUTH_SECRET,
        settings.PROVIDER_CONNECT_TIMEOUT,
        settings.PROVIDER_READ_TIMEOUT,
    )
