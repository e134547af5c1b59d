"""SMSHosting push/SMS client (`../shared/api-docs/smshosting-push.txt`).

HTTP Basic (AUTH_KEY:AUTH_SECRET). POSTs are `application/x-www-form-urlencoded`, or
`multipart/form-data` when an image (`file`) is attached. Dates are `yyyy-MM-ddTHH:mm:ssZ`
(2014-12-25T08:00:00+0200). Errors answer 400 with an `errorMsg` code from the document.

Every answer is read here, and only here: the dataclasses below (and `message_values`) are
what the rest of Vetrina sees. Each reading quotes the document's line it follows and says
what else it accepts; an answer that still cannot be read raises a ContractDrift naming the
fields (the call log keeps its shape). SMSHosting and AMM are the same vendor: the values are
read with the same readers (core.wire), and errors, dates and list metadata the same way
(core.vendor_client: an error code the document does not list is classified by status and
wording)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import errors
from core.http import Response, provider_client
from core.preflight import Probe, ProviderPreflight, provider_preflight
from core.provider_settings import provider_settings
from core.shapes import type_name
from core.vendor_client import (
    VendorClient,
    format_date,
    metadata_differing,
    probe_differing,
)
from core.wire import (
    Unreadable,
    parse_date,  # noqa: F401  (the document's dates and their ISO variants, for callers here)
    read_date,
    read_decimal,
    read_id,
    read_int,
    read_object,
    read_text,
)

# What the client is made from: SMSHOSTING_BASE_URL, SMSHOSTING_AUTH_KEY, SMSHOSTING_AUTH_SECRET.
SETTINGS = ("BASE_URL", "AUTH_KEY", "AUTH_SECRET")
SEARCH_PAGE_SIZE = 500
# A message's status: INSERTED or NOT_INSERTED when sent ("Dati Invio"), then PENDING, SENT, and
# at last one of FINAL_STATUSES ("I possibili stati di un sms"). The rest of Vetrina names them
# by these.
INSERTED = "INSERTED"
NOT_INSERTED = "NOT_INSERTED"
PENDING = "PENDING"
SENT = "SENT"
NOSENT = "NOSENT"
DELIVERED = "DELIVERED"
NOTDELIVERED = "NOTDELIVERED"
OPEN_STATUSES = (INSERTED, PENDING, SENT)  # on their way: push/search tells how they end
FINAL_STATUSES = {DELIVERED, NOTDELIVERED, NOSENT}
# A message's detail when not inserted: "BADNUMBERFORMAT - Numero del destinatario non
# corretto", "DUPLICATESMS - Sms già inserito nelle ultime 24 ore"; EXCLUDED is ours, for a
# number SMSHosting left out of a push-only send (no push app).
BADNUMBERFORMAT = "BADNUMBERFORMAT"
DUPLICATESMS = "DUPLICATESMS"
EXCLUDED = "EXCLUDED"
# How far back `checkproviders` searches (push/search wants at least one parameter).
PROBE_SEARCH_DAYS = 30
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
    # "401 Credenziali non valide" (the sandbox's body: {"errorMsg": "UNAUTHORIZED"}).
    "UNAUTHORIZED": _(
        "SMSHosting refused our credentials: check SMSHOSTING_AUTH_KEY and "
        "SMSHOSTING_AUTH_SECRET in the settings."
    ),
}
# A server-side error is worth another try; the others need the user to change something.
RETRYABLE_CODES = frozenset({"GENERIC_ERROR"})


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
            # "Default: true": sent all the same, so that a changed default changes nothing.
            "onlyPush": "true" if self.only_push else "false",
            "smsFrom": self.sms_from or None,
            "smsText": self.sms_text or None,
            "smsEncoding": self.sms_encoding or None,
        }
        if for_send:  # date, transactionId and sandbox belong to push/send only
            # "date … (in formato yyyy-MM-ddTHH:mm:ssZ) alla quale sarà inviato il messaggio",
            # e.g. 2014-12-25T08:00:00+0200: the moment with its own offset.
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

    # "Dati relativi al preventivo: cost, userCredit, smsCount, pushCount, pushAvailable";
    # the example: `{"cost":0, "userCredit":15.484, "smsCount":0, "pushCount":1,
    # "pushAvailable":899}`. All five are needed (the send is confirmed on them: pushes
    # available against pushes to send); numbers as numbers or text ("0.065", "0,065").
    FIELDS: ClassVar[dict] = {
        "cost": ("number", "text"),
        "userCredit": ("number", "text"),
        "smsCount": ("number", "text"),
        "pushCount": ("number", "text"),
        "pushAvailable": ("number", "text"),
    }

    @classmethod
    def from_wire(cls, raw: Any) -> Estimate:
        raw = read_object(raw, "answer")
        missing = [f"{name}: missing" for name in cls.FIELDS if raw.get(name) in (None, "")]
        if missing:
            raise Unreadable(*missing)
        return cls(
            cost=read_decimal(raw["cost"], "cost"),
            user_credit=read_decimal(raw["userCredit"], "userCredit"),
            sms_count=read_int(raw["smsCount"], "smsCount"),
            push_count=read_int(raw["pushCount"], "pushCount"),
            push_available=read_int(raw["pushAvailable"], "pushAvailable"),
        )


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

    # What a message of push/search holds: `id` and `to` and `status` needed (a message is
    # matched by its id, to a recipient by its number); the others read when present.
    REQUIRED: ClassVar[dict] = {
        "id": ("number", "text"),
        "to": ("number", "text"),
        "status": ("text",),
    }
    OPTIONAL: ClassVar[dict] = {
        "text": ("text", "blank text"),
        "from": ("text", "blank text", "number"),
        "statusDetail": ("text", "blank text"),
        "type": ("text", "blank text"),
        "insertDate": ("text", "blank text", "number"),
        "sentDate": ("text", "blank text", "number"),
        "deliveryDate": ("text", "blank text", "number"),
        "transactionId": ("text", "number"),
        "price": ("number", "text"),
        "multimediaContent": ("object", "text"),
    }

    @classmethod
    def from_wire(cls, raw: Any, where: str = "sms[]", *, need_id: bool = False) -> SentMessage:
        values = message_values(raw, where)
        if need_id and not values[0]:
            raise Unreadable(f"{where}.id: missing")
        return cls(*values, raw=raw)


def message_values(raw: Any, where: str = "sms[]") -> tuple:
    """A message of an answer as SentMessage's fields, in their order, without building one:
    recording a 1,000-message batch reads these (a frozen dataclass apiece cost ~7 ms).

    push/send, "Dati Invio", sms: "to - numero di cellulare", "id - id interno del messaggio",
    "status - … INSERTED … NOT_INSERTED", "statusDetail - BADNUMBERFORMAT, DUPLICATESMS",
    "type - … PUSH"; push/search adds text, from, insertDate, sentDate, deliveryDate ("nel
    formato yyyy-MM-ddTHH:mm:ssZ"), transactionId, price and "multimediaContent - identificativo
    id e tipo type". Needed: `to` (digits, as text or number; a leading + is dropped) and
    `status` (read in capitals). A message not inserted has no id (""). Dates as
    loyalty.amm.parse_date reads them; price as a number or text; multimediaContent as the
    document's object, or its id alone, or null. Unreadable names the field otherwise."""
    if type(raw) is not dict:
        raise Unreadable(f"{where}: {type_name(raw)}, expected object")
    get = raw.get
    to, status, id_ = get("to"), get("status"), get("id")
    to = to if type(to) is str and to.isdigit() else read_id(to, f"{where}.to").lstrip("+")
    if type(status) is not str or not status.isupper():
        status = read_text(status, f"{where}.status", None)
        if status is None or not status.strip():
            raise Unreadable(f"{where}.status: {type_name(status)}, expected text")
        status = status.strip().upper()
    id_ = str(id_) if type(id_) is int else read_id(id_, f"{where}.id", "")
    detail, kind = get("statusDetail"), get("type")
    multimedia = get("multimediaContent")
    price = get("price")
    inserted, sent, delivered = get("insertDate"), get("sentDate"), get("deliveryDate")
    return (
        id_,
        to,
        status,
        detail if type(detail) is str else read_text(detail, f"{where}.statusDetail"),
        kind.upper() if type(kind) is str else read_text(kind, f"{where}.type").upper(),
        None if inserted is None else read_date(inserted, f"{where}.insertDate"),
        None if sent is None else read_date(sent, f"{where}.sentDate"),
        None if delivered is None else read_date(delivered, f"{where}.deliveryDate"),
        None if price is None else read_decimal(price, f"{where}.price", None),
        _multimedia_id(multimedia, f"{where}.multimediaContent") if multimedia else "",
    )


# message_values() of a number SMSHosting left out of a push-only send (no push app).
EXCLUDED_MESSAGE = ("", "", NOT_INSERTED, EXCLUDED, "", None, None, None, None, "")


def _multimedia_id(value: Any, name: str) -> str:
    if isinstance(value, dict):
        return read_id(value.get("id"), f"{name}.id", "")
    return read_id(value, name, "")


@dataclass(frozen=True)
class SendResult:
    transaction_id: str
    sms_inserted: int | None  # None: SMSHosting did not say, and its messages do not tell
    sms_not_inserted: int | None
    push_inserted: int | None
    raw: dict[str, Any]

    # push/send, "Dati Invio": "transactionId - identificatore dell'invio", "smsInserted",
    # "smsNotInserted", "pushInserted", "sms - Lista dei messaggi"; the example:
    # `{"transactionId":"d41e…", "smsInserted":0, "smsNotInserted":0, "pushInserted": 1,
    # "sms":[{"id":389310742, "to":"393412345678", "status":"INSERTED", "type":"PUSH"}]}`.
    REQUIRED: ClassVar[dict] = {"sms": ("list",)}
    OPTIONAL: ClassVar[dict] = {
        "transactionId": ("text", "number"),
        "smsInserted": ("number", "text"),
        "smsNotInserted": ("number", "text"),
        "pushInserted": ("number", "text"),
    }

    @classmethod
    def from_answer(cls, raw: Any, *, transaction_id: str = "") -> SendResult:
        """The counts of a push/send answer (its messages are read by `messages`).

        The counts as numbers or text; one left out is counted from the messages when they
        tell (not inserted: status NOT_INSERTED; pushes and SMS: by `type`, when every message
        inserted has one), else None. `transactionId` left out: the one we sent ("Se non
        specificato … verrà generato": we always send one). A different one is taken as
        SMSHosting's (the send happened), and kept."""
        raw = read_object(raw, "answer")
        listed = raw.get("sms")
        if listed is not None and not isinstance(listed, list):
            raise Unreadable(f"sms: {type_name(listed)}, expected list")
        messages = listed or []
        derived = _counts(messages)
        return cls(
            transaction_id=read_id(raw.get("transactionId"), "transactionId", transaction_id),
            sms_inserted=read_int(raw.get("smsInserted"), "smsInserted", derived[0]),
            sms_not_inserted=read_int(raw.get("smsNotInserted"), "smsNotInserted", derived[1]),
            push_inserted=read_int(raw.get("pushInserted"), "pushInserted", derived[2]),
            raw=raw,
        )

    @classmethod
    def from_messages(cls, transaction_id: str, messages: list[SentMessage]) -> SendResult:
        """A send as push/search shows it afterwards, in push/send's form (a send never changes:
        reading it back is how a send whose answer was lost is recorded)."""
        return cls.from_answer(
            {"transactionId": transaction_id, "sms": [m.raw for m in messages]},
            transaction_id=transaction_id,
        )

    @property
    def message_answers(self) -> list[dict[str, Any]]:
        """The messages as they came (message_values reads each): the outbox handler keeps the
        raw answer and reads it after the provider's slot is released, so a 1,000-message batch
        is not parsed twice (and not while the slot is held)."""
        return list(self.raw.get("sms") or [])

    @property
    def messages(self) -> list[SentMessage]:
        return [SentMessage.from_wire(m) for m in self.message_answers]


def _counts(messages: list[Any]) -> tuple[int | None, int | None, int | None]:
    """(SMS inserted, not inserted, pushes inserted) as the messages tell them."""
    readable = [m for m in messages if isinstance(m, dict)]  # the others: message_values says
    not_inserted = sum(1 for m in readable if str(m.get("status") or "").upper() == NOT_INSERTED)
    kinds = [
        str(m.get("type") or "").upper()
        for m in readable
        if str(m.get("status") or "").upper() != NOT_INSERTED
    ]
    if not all(kinds):
        return None, not_inserted, None
    pushes = sum(1 for kind in kinds if kind == "PUSH")
    return len(kinds) - pushes, not_inserted, pushes


def read_search(body: Any) -> tuple[int | None, list[SentMessage]]:
    """A page of push/search: (the total, None without metadata; the messages).

    "smsList - Lista degli sms"; "metadata - Metadata utili per la paginazione" (the example
    prints both). Without metadata (or its count) the total is not known and the search is read
    until an empty page. smsList absent or null beside a metadata block: no message; with
    neither, the answer cannot be read. Each message needs its id (see message_values)."""
    body = read_object(body, "answer")
    meta = body.get("metadata")
    if meta is not None:
        meta = read_object(meta, "metadata")
    listed = body.get("smsList")
    if listed is None and meta is None:
        raise Unreadable("smsList: missing")
    if listed is not None and not isinstance(listed, list):
        raise Unreadable(f"smsList: {type_name(listed)}, expected list")
    count = read_int((meta or {}).get("count"), "metadata.count", None)
    return count, [SentMessage.from_wire(m, "smsList[]", need_id=True) for m in listed or []]


class SmsHostingClient(VendorClient):
    """SMSHosting's push API; its errors and answers read as its vendor's (core.vendor_client):
    the document's codes keep their meaning (GENERIC_ERROR is retried)."""

    provider = "smshosting"
    error_messages = ERROR_MESSAGES
    retryable_codes = RETRYABLE_CODES
    unreadable_message = _(
        "SMSHosting answered in a form Vetrina cannot read (%(fields)s); the "
        "request may have been applied. The call log shows the answer's shape."
    )
    refused_message = _("SMSHosting refused the request: %(reason)s")

    # --- calls ------------------------------------------------------------------------------
    def _post_push(self, path: str, request: PushRequest, *, for_send: bool, read) -> Any:
        form = request.form(for_send=for_send)
        files = {"file": request.image} if request.image is not None else None
        # multipart only when a file is attached
        return self.request("POST", path, operation=path, data=form, files=files, read=read)

    def estimate(self, request: PushRequest) -> Estimate:
        return self._post_push(
            "push/estimate", request, for_send=False, read=self._read(Estimate.from_wire)
        )

    def send(self, request: PushRequest) -> SendResult:
        def parse(body: Any) -> SendResult:
            result = SendResult.from_answer(body, transaction_id=request.transaction_id)
            answered = result.raw.get("sms")
            # Without its list of messages a send that reached anybody cannot be recorded per
            # recipient: a drift, so that the send is looked up (push/search) before it is ever
            # repeated. No list and every count zero: nobody was reached.
            if answered is None:
                counts = (result.sms_inserted, result.sms_not_inserted, result.push_inserted)
                told = all(
                    result.raw.get(key) is not None
                    for key in ("smsInserted", "smsNotInserted", "pushInserted")
                )
                if not told or any(counts):
                    raise Unreadable("sms: missing")
            for message in answered or []:  # every message readable, or the answer is not
                message_values(message)
            return result

        return self._post_push("push/send", request, for_send=True, read=self._read(parse))

    def search(
        self,
        *,
        transaction_id: str = "",
        ids: list[str] | None = None,
        offset: int | None = 0,
        limit: int | None = SEARCH_PAGE_SIZE,
        from_date: datetime | None = None,
        status: str = "",
    ) -> tuple[int | None, list[SentMessage]]:
        """A page of push/search: (the total, None when SMSHosting does not say; messages).
        `offset` or `limit` None: not sent (SMSHosting's defaults, 0 and 20)."""
        params: dict[str, Any] = {
            name: value
            for name, value in (("offset", offset), ("limit", limit))
            if value is not None
        }
        if transaction_id:
            params["transactionId"] = transaction_id
        if ids:
            params["id"] = ",".join(ids)
        if from_date:
            params["fromDate"] = format_date(from_date)
        if status:
            params["status"] = status
        return self._call("GET", "push/search", "push/search", read_search, params=params)

    def search_all(self, *, transaction_id: str) -> Iterator[SentMessage]:
        """Every message of a transaction, page by page, until the count (or an empty page)."""
        offset = 0
        previous_first: str | None = None
        while True:
            count, page = self.search(transaction_id=transaction_id, offset=offset)
            first = page[0].id if page else None
            if offset and first is not None and first == previous_first:
                raise errors.ContractDrift(
                    gettext(
                        "SMSHosting answered the same page again: it does not seem to read offset."
                    ),
                    provider=self.provider,
                    fields=("offset",),
                )
            previous_first = first
            yield from page
            offset += len(page)
            if not page or (count is not None and offset >= count):
                return

    def find_sent(self, transaction_id: str) -> SendResult:
        """A send read back from push/search, in push/send's form."""
        return SendResult.from_messages(
            transaction_id, list(self.search_all(transaction_id=transaction_id))
        )

    def was_sent(self, transaction_id: str) -> bool:
        """Whether push/search knows any message of this transaction."""
        count, page = self.search(transaction_id=transaction_id, limit=1)
        return bool(count or page)

    def multimedia(self, media_id: str) -> tuple[bytes, str]:
        # "La chiamata ritorna direttamente il contenuto dell'immagine": the bytes, with their
        # Content-Type (none given: application/octet-stream). An empty body is no image; a
        # JSON error body under a 2xx is that error.
        def read(response: Response) -> tuple[bytes, str]:
            kind = response.headers.get("Content-Type", "") or "application/octet-stream"
            if kind.split(";")[0].strip().endswith("json"):
                self._raise_error_body(response, self._json_or_none(response))
            if not response.content:
                raise self.drift(response, "image: empty")
            return response.content, kind

        return self.request(
            "GET",
            f"push/multimedia/{quote(media_id, safe='=+')}",
            operation="push/multimedia",
            log_path="/push/multimedia/{id}",
            read=read,
        )

    def invitation(self, to: str) -> str:
        # "Dati relativi all'invito: to, url"; the example: `{"to":"393480000000",
        # "url":"cqui.it/5izKw2"}` (a link without its scheme, kept as it is). The url is
        # needed; `to` is not read.
        def parse(body: Any) -> str:
            url = read_object(body, "answer").get("url")
            if not isinstance(url, str) or not url.strip():
                raise Unreadable(f"url: {type_name(url) if url is not None else 'missing'}")
            return url.strip()

        return self._call("POST", "push/invitation", "push/invitation", parse, data={"to": to})

    # --- the read-only check (checkproviders) -------------------------------------------------
    def probes(self) -> list[Probe]:
        """push/search with limit 1 (from PROBE_SEARCH_DAYS ago: it needs one parameter)."""

        def search() -> list[str]:
            def read(body: Any) -> list[str]:
                if not isinstance(body, dict):
                    return [f"answer: {type_name(body)}, expected object"]
                differing = []
                if body.get("smsList") is not None or body.get("metadata") is None:
                    differing += probe_differing(body.get("smsList"), SentMessage, where="smsList")
                differing += metadata_differing(body)
                if not differing:
                    try:
                        read_search(body)
                    except Unreadable as exc:
                        return list(exc.fields)
                return differing

            since = timezone.now() - timedelta(days=PROBE_SEARCH_DAYS)
            params = {"fromDate": format_date(since), "offset": 0, "limit": 1}
            return self._call("GET", "push/search", "push/search", read, params=params)

        return [Probe("push/search", search)]


def smshosting_client() -> SmsHostingClient:
    return provider_client(
        SmsHostingClient, **provider_settings(SmsHostingClient.provider, *SETTINGS)
    )


def smshosting_preflight() -> ProviderPreflight:
    """What `checkproviders` checks for SMSHosting (registered in messaging/apps.py): its
    settings, then push/search (`SmsHostingClient.probes`)."""
    return provider_preflight(
        SmsHostingClient.provider,
        "SMSHosting",
        needs=SETTINGS,
        probes=lambda: smshosting_client().probes(),
    )
