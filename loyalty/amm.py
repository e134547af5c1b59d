"""AMM fidelity-card client (`../shared/api-docs/amm-fidelity-cards.txt`).

HTTP Basic (AUTH_KEY:AUTH_SECRET); POSTs form-encoded with the document's parameter names
(msisdn, cardCode, startingPoints, startingAmount, sendSms; action, points, amount, rewardId,
note, sendSms); dates as `yyyy-MM-dd'T'HH:mm:ssZ` (2019-11-22T16:11:23+0100); lists paginated
with offset/limit and a `metadata` block.

Every answer is read here, and only here: the dataclasses below are what the rest of Vetrina
sees. Each reading quotes the document's line it follows and says what else it accepts; an
answer that still cannot be read raises a ContractDrift naming the fields (the call log keeps
its shape). Errors: the document gives the HTTP statuses (400, 401, 405, 500) but its lists of
error codes stop mid-sentence ("400 | I possibili", "Parametri non validi, i possibili valori
sono:"), so a code we do not know is classified by its status and its wording (`_error`)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar
from urllib.parse import quote

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
    REQUIRED,
    WIRE_DATE,
    Unreadable,
    read_date,
    read_decimal,
    read_flag,
    read_id,
    read_int,
    read_object,
    read_text,
    wording,
)

# What the client is made from: AMM_BASE_URL, AMM_AUTH_KEY, AMM_AUTH_SECRET.
SETTINGS = ("BASE_URL", "AUTH_KEY", "AUTH_SECRET")
# What the lists ask for a page. The document gives `limit` no maximum (default 20); the sandbox
# caps it at 1,000. A provider that refuses a page this large (BAD_LIMIT) is asked for half.
PAGE_SIZE = 1000
DOCUMENT_DEFAULT_LIMIT = 20
# Pages asked for at once ahead of the one being read, when the caller lends threads to do it.
PAGES_AHEAD = 2
# The page of cards `checkproviders` reads: enough to see the shape, small enough to be quick.
PROBE_PAGE_SIZE = 5
CARD_CODE_MAX = 30  # "Codice della Fidelity Card da 6 a 30 caratteri 0-9A-Za-z_"
# Assegna Punti/Premi: "note | No | String | Note aggiunte all'operazione". The document lets us
# write a note with each record and sets no length: we send at most the 255 characters of our
# own note field (the sandbox keeps as many), our reference first, so that a service cutting
# notes shorter still keeps it.
NOTE_MAX = 255
# Our reference in a record's note: "vtr:" and a movement's own 32 hexadecimal digits.
REFERENCE_PREFIX = "vtr:"
_REFERENCE = re.compile(r"(?<![0-9A-Za-z_])vtr:[0-9a-f]{32}(?![0-9A-Za-z_])")

# A movement AMM does not have (a handler that finds none in its listing says it alike).
RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
# The codes the sandbox answers with (docs/sandbox.md), each with what the user can do about
# it: the document lists none (its lists stop at "I possibili"); these follow the errorMsg
# convention of the same vendor's SMS API (`{"errorCode": 400, "errorMsg": "BAD_…"}`).
ERROR_MESSAGES = {
    "BAD_MSISDN": _("AMM refused the mobile number: it must include the country prefix."),
    "BAD_CARDCODE": _("AMM refused the card code: 6 to 30 characters, digits, letters or _."),
    "DUPLICATE_CARDCODE": _("AMM already has a card with this code: choose another one."),
    "BAD_STARTINGPOINTS": _("AMM refused the starting points: a whole number is needed."),
    "BAD_STARTINGAMOUNT": _("AMM refused the starting amount."),
    "BAD_SENDSMS": _("AMM refused the send-SMS flag."),
    "BAD_ACTION": _("AMM refused the movement type (ADD, REWARD or AZZERA)."),
    "BAD_POINTS": _("AMM needs the points or the amount spent."),
    "BAD_AMOUNT": _("AMM refused the amount."),
    "BAD_REWARDID": _("AMM does not know this reward."),
    "INSUFFICIENT_POINTS": _("The card does not have enough points for this reward."),
    "CARD_NOT_ACTIVE": _("The card is not active at AMM."),
    "CARD_NOT_FOUND": _("AMM does not know this card."),
    "FIDELITY_NOT_FOUND": _("AMM does not know this fidelity program."),
    RECORD_NOT_FOUND: _("AMM does not know this movement (already deleted?)."),
    "BAD_DATE": _("AMM refused a date filter."),
    "BAD_OFFSET": _("AMM refused the page offset."),
    "BAD_LIMIT": _("AMM refused the page size."),
    "GENERIC_ERROR": _("AMM had an internal error."),
    "UNAUTHORIZED": _(
        "AMM refused our credentials: check AMM_AUTH_KEY and AMM_AUTH_SECRET in the settings."
    ),
}
NOT_FOUND_CODES = frozenset({"CARD_NOT_FOUND", "FIDELITY_NOT_FOUND", RECORD_NOT_FOUND})
# "500 | Errore generico": the same error under a 400 is worth another try too.
RETRYABLE_CODES = frozenset({"GENERIC_ERROR"})

_NOT_FOUND_SUBJECTS = (  # the more specific first: "fidelity card record" is a record
    (re.compile(r"record|moviment|operazion"), RECORD_NOT_FOUND),
    (re.compile(r"card|carta|tessera"), "CARD_NOT_FOUND"),
    (re.compile(r"fidelity|program"), "FIDELITY_NOT_FOUND"),
)


def note_with_reference(reference: str, text: str = "") -> str:
    """The note a record is sent with: our reference, then the human-readable note (cut to fit
    NOTE_MAX)."""
    if not reference:
        return text[:NOTE_MAX]
    text = text.strip()
    return f"{reference} {text}"[:NOTE_MAX].rstrip() if text else reference


def references_in(note: str | None) -> set[str]:
    """The references of ours a record's note carries (exact tokens, nothing guessed)."""
    return set(_REFERENCE.findall(note or ""))


def _require(raw: dict[str, Any], at: str, *names: str) -> None:
    """Every needed field that is absent (or null, or blank), named at once."""
    missing = [f"{at}{name}: missing" for name in names if raw.get(name) in (None, "")]
    if missing:
        raise Unreadable(*missing)


def points_for_amount(amount: Decimal, point_value: Decimal) -> int:
    """AMM's rule: points = amount / point value, whole points only (rounded down)."""
    if point_value <= 0:
        return 0
    return int((Decimal(amount) / Decimal(point_value)).to_integral_value(rounding=ROUND_DOWN))


def _wire_amount(value: Decimal | float | None) -> str | None:
    return None if value is None else format(Decimal(str(value)).normalize(), "f")


def _wire_bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


# --- what Vetrina reads of AMM's answers -----------------------------------------------------
@dataclass(frozen=True)
class RemoteProgram:
    id: str
    name: str
    point_value: Decimal

    # Lista Fidelity: `{"fidelityList": [{"id": 38, "name": "Mio programma fidelity",
    # "pointValue": 5.0}]}`. Ids and the point value as numbers or text; the name may be left
    # out (then blank). The point value is needed (points = amount / value): without it the
    # answer cannot be read.
    REQUIRED: ClassVar[dict] = {"id": ("number", "text"), "pointValue": ("number", "text")}
    OPTIONAL: ClassVar[dict] = {"name": ("text", "blank text")}

    @classmethod
    def from_wire(cls, raw: Any, where: str = "fidelityList[]") -> RemoteProgram:
        raw = read_object(raw, where)
        _require(raw, f"{where}.", "id", "pointValue")
        return cls(
            id=read_id(raw.get("id"), f"{where}.id"),
            name=read_text(raw.get("name"), f"{where}.name"),
            point_value=read_decimal(raw.get("pointValue"), f"{where}.pointValue"),
        )


@dataclass(frozen=True)
class Contact:
    """The card holder of a card's detail (`contactDetail`)."""

    msisdn: str = ""
    name: str = ""
    lastname: str = ""
    email: str = ""

    # Dettaglio Fidelity Card: `"contactDetail": {"msisdn": "393480000000", "name": "Mario",
    # "lastname": "Rossi", "email": "mario.rossi@fake.it", "groups": [...], "customFields":
    # [{"fieldKey": "f_s_msisdn", "fieldName": "Cellulare", "fieldValue": "393480000000"}, …]}`.
    # Only the detail carries it (the list and the create answer do not): absent or null, the
    # card has no known holder. The number as text or as a number; when `msisdn` is absent,
    # the custom field f_s_msisdn the document prints beside it is read instead (likewise
    # f_s_nome, f_s_cognome, f_s_email). groups are not read.
    @classmethod
    def from_wire(cls, raw: Any, where: str = "contactDetail") -> Contact:
        if raw is None:
            return cls()
        raw = read_object(raw, where)
        custom: dict[str, Any] = {}
        fields = raw.get("customFields")
        if isinstance(fields, list):
            custom = {f.get("fieldKey"): f.get("fieldValue") for f in fields if isinstance(f, dict)}

        def text(key: str, custom_key: str) -> str:
            value = raw.get(key)
            if value is None:
                value = custom.get(custom_key)
            return read_text(value, f"{where}.{key}").strip()

        return cls(
            msisdn=text("msisdn", "f_s_msisdn").lstrip("+"),
            name=text("name", "f_s_nome"),
            lastname=text("lastname", "f_s_cognome"),
            email=text("email", "f_s_email"),
        )


_NO_CONTACT = Contact()


@dataclass(frozen=True)
class RemoteCard:
    program_id: str
    id: str
    code: str
    activation_date: datetime | None
    active: bool
    points: int | None  # None: AMM did not say (the balance kept beside ours is "not known")
    contact: Contact = field(default_factory=Contact)
    raw: dict[str, Any] = field(default_factory=dict)

    # Lista Fidelity Card / Dettaglio / Crea: `"fidelityId": 62, "fidelityCardId": 2668,
    # "fidelityCode": "CARD_00011", "activationDate": "2019-11-22T16:11:23+0100",
    # "active": true, "points": 21`. Needed: the card id and its code (a card is addressed by
    # its code, "da 6 a 30 caratteri"); ids and points as numbers or text; `active` as a
    # boolean or "true"/"false" (absent: active, as every example prints it true);
    # `activationDate` as parse_date reads it (absent: not known); `points` absent: not known,
    # never zero. `fidelityId` absent: the program asked for.
    REQUIRED: ClassVar[dict] = {
        "fidelityCardId": ("number", "text"),
        "fidelityCode": ("text",),
    }
    OPTIONAL: ClassVar[dict] = {
        "fidelityId": ("number", "text"),
        "activationDate": ("text", "blank text", "number"),
        "active": ("bool", "text", "number"),
        "points": ("number", "text"),
        "contactDetail": ("object",),
    }

    @classmethod
    def from_wire(
        cls, raw: Any, where: str = "", *, program_id: str = "", code: str = ""
    ) -> RemoteCard:
        raw = read_object(raw, where or "answer")
        # The document's own shape, read at once (a pull reads 100,000 of these).
        get = raw.get
        card_id, card_code, date = get("fidelityCardId"), get("fidelityCode"), get("activationDate")
        active, points, program = get("active"), get("points"), get("fidelityId")
        if (
            type(card_id) is int
            and type(card_code) is str
            and 0 < len(card_code) <= CARD_CODE_MAX
            and type(active) is bool
            and type(points) is int
            and type(program) is int
            and type(date) is str
            and WIRE_DATE.fullmatch(date)
            and get("contactDetail") is None
        ):
            return cls(
                str(program),
                str(card_id),
                card_code,
                datetime.fromisoformat(date),
                active,
                points,
                _NO_CONTACT,
                raw,
            )
        at = f"{where}." if where else ""
        _require(raw, at, "fidelityCardId", *(() if code else ("fidelityCode",)))
        card_code = read_id(raw.get("fidelityCode"), f"{at}fidelityCode", code or REQUIRED)
        if len(card_code) > CARD_CODE_MAX:
            raise Unreadable(f"{at}fidelityCode: longer than {CARD_CODE_MAX} characters")
        if raw.get("fidelityCode") is None:  # ours: kept with the answer, which is read again
            raw = {**raw, "fidelityCode": card_code}
        return cls(
            program_id=read_id(raw.get("fidelityId"), f"{at}fidelityId", program_id),
            id=read_id(raw.get("fidelityCardId"), f"{at}fidelityCardId"),
            code=card_code,
            activation_date=read_date(raw.get("activationDate"), f"{at}activationDate"),
            active=read_flag(raw.get("active"), f"{at}active", True),
            points=read_int(raw.get("points"), f"{at}points", None),
            contact=Contact.from_wire(raw.get("contactDetail"), f"{at}contactDetail"),
            raw=raw,
        )


@dataclass(frozen=True)
class RemoteRecord:
    id: str
    action: str
    points: int
    amount: Decimal | None
    reward_id: int | None
    date: datetime | None
    raw: dict[str, Any]
    # The record's note, when the answer gives it back; None when it has no `note` field at all
    # (the document's examples do not print one: then a record cannot be told ours by its note).
    note: str | None = None

    # Dettaglio punti / Assegna Punti: `{"id": 438, "points": -5, "amount": 0.0, "rewardId":
    # 60, "action": "REWARD", "date": "2019-11-27T15:38:37+0100"}` (rewardId only on a
    # REWARD). Needed: the id, the points (a movement is its points) and the action (ADD,
    # REWARD or AZZERA, read in capitals); numbers as numbers or text; amount and rewardId
    # absent or null: none; the date as parse_date reads it. `note`, which we write with each
    # record ("note | No | String | Note aggiunte all'operazione"), is read when the answer has
    # the field (null: a record without a note).
    REQUIRED: ClassVar[dict] = {
        "id": ("number", "text"),
        "points": ("number", "text"),
        "action": ("text",),
    }
    OPTIONAL: ClassVar[dict] = {
        "amount": ("number", "text"),
        "rewardId": ("number", "text"),
        "date": ("text", "blank text", "number"),
        "note": ("text", "blank text"),
    }

    @classmethod
    def from_wire(cls, raw: Any, where: str = "") -> RemoteRecord:
        raw = read_object(raw, where or "answer")
        at = f"{where}." if where else ""
        _require(raw, at, "id", "points", "action")
        action = read_text(raw.get("action"), f"{at}action", REQUIRED).strip().upper()
        if not action:
            raise Unreadable(f"{at}action: blank text, expected ADD, REWARD or AZZERA")
        return cls(
            id=read_id(raw.get("id"), f"{at}id"),
            action=action,
            points=read_int(raw.get("points"), f"{at}points"),
            amount=read_decimal(raw.get("amount"), f"{at}amount", None),
            reward_id=read_int(raw.get("rewardId"), f"{at}rewardId", None),
            date=read_date(raw.get("date"), f"{at}date"),
            raw=raw,
            note=read_text(raw["note"], f"{at}note") if "note" in raw else None,
        )


@dataclass(frozen=True)
class Page:
    count: int | None  # None: the answer had no metadata (the list goes on to an empty page)
    offset: int
    limit: int | None
    items: list


def read_page(body: Any, key: str, parse: Callable[..., Any], *, offset: int) -> Page:
    """A page of a list: `{"metadata": {...}, key: [...]}`.

    The document prints the metadata on both lists; without it (or without its count) the
    total is not known and the list is read until an empty page. The list itself absent or
    null next to a metadata block is an empty page (a service that leaves out empty lists);
    an object with neither cannot be read."""
    body = read_object(body, "answer")
    meta = body.get("metadata")
    if meta is not None:
        meta = read_object(meta, "metadata")
    items = body.get(key)
    if items is None and meta is None:
        raise Unreadable(f"{key}: missing")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise Unreadable(f"{key}: {type_name(items)}, expected list")
    meta = meta or {}
    return Page(
        count=read_int(meta.get("count"), "metadata.count", None),
        offset=read_int(meta.get("offset"), "metadata.offset", offset),
        limit=read_int(meta.get("limit"), "metadata.limit", None),
        items=[parse(item, f"{key}[]") for item in items],
    )


class AmmClient(VendorClient):
    """AMM's fidelity API; its errors and answers read as its vendor's (core.vendor_client)."""

    provider = "amm"
    error_messages = ERROR_MESSAGES
    not_found_codes = NOT_FOUND_CODES
    retryable_codes = RETRYABLE_CODES
    unreadable_message = _(
        "AMM answered in a form Vetrina cannot read (%(fields)s); the request "
        "may have been applied. The call log shows the answer's shape."
    )
    refused_message = _("AMM refused the request: %(reason)s")

    def not_found_message(self, words: str) -> Any:
        """Which thing AMM does not know, from its words."""
        return next(
            (
                ERROR_MESSAGES[known]
                for subject, known in _NOT_FOUND_SUBJECTS
                if subject.search(words)
            ),
            None,
        )

    # --- programs ---------------------------------------------------------------------------
    def list_programs(self) -> list[RemoteProgram]:
        return self._call("GET", "fidelity/list", "fidelity.list", _programs)

    # --- cards ------------------------------------------------------------------------------
    def list_cards(
        self,
        program_id: str,
        *,
        offset: int | None = 0,
        limit: int | None = PAGE_SIZE,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> Page:
        """A page of a program's cards. `offset` or `limit` None: not sent (AMM's defaults,
        0 and 20)."""
        params = self._page_params(offset, limit, from_date, to_date)

        def parse(body: Any) -> Page:
            return read_page(
                body,
                "fidelityCardList",
                lambda raw, where: RemoteCard.from_wire(raw, where, program_id=str(program_id)),
                offset=offset or 0,
            )

        return self._call(
            "GET", f"fidelity/{_seg(program_id)}/card/list", "card.list", parse, params=params
        )

    def iter_cards(
        self,
        program_id: str,
        *,
        from_date: datetime | None = None,
        page_size: int = PAGE_SIZE,
        submit: Submit | None = None,
    ) -> Iterator[tuple[Page, list[RemoteCard]]]:
        """Every card of a program, page by page (each page with the total count); with
        `submit` (a thread pool's), the next pages are asked for while one is used."""

        def fetch(offset: int, limit: int) -> Page:
            return self.list_cards(program_id, offset=offset, limit=limit, from_date=from_date)

        for page in self._pages(fetch, page_size, submit):
            yield page, page.items

    def get_card(self, program_id: str, code: str) -> RemoteCard:
        return self._call(
            "GET",
            f"fidelity/{_seg(program_id)}/card/{_seg(code)}",
            "card.detail",
            lambda body: RemoteCard.from_wire(body, program_id=str(program_id)),
        )

    def create_card(
        self,
        program_id: str,
        *,
        msisdn: str,
        card_code: str = "",
        starting_points: int | None = None,
        starting_amount: Decimal | None = None,
        send_sms: bool | None = None,
    ) -> RemoteCard:
        form = _form(
            msisdn=msisdn,
            cardCode=card_code or None,
            startingPoints=None if starting_points is None else str(starting_points),
            startingAmount=_wire_amount(starting_amount),
            sendSms=_wire_bool(send_sms),
        )
        # Crea una Fidelity Card: the card as in the list. Without `fidelityCode` the code we
        # sent is the card's; when AMM generated it ("Se assente ne viene generato uno") the
        # answer must say it, or the card cannot be addressed.
        return self._call(
            "POST",
            f"fidelity/{_seg(program_id)}/card",
            "card.create",
            lambda body: RemoteCard.from_wire(body, program_id=str(program_id), code=card_code),
            data=form,
        )

    # --- records (point movements) ----------------------------------------------------------
    def list_records(
        self,
        program_id: str,
        code: str,
        *,
        action: str | None = None,
        offset: int | None = 0,
        limit: int | None = PAGE_SIZE,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> Page:
        params = self._page_params(offset, limit, from_date, to_date)
        if action:
            params["action"] = action
        return self._call(
            "GET",
            f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record/list",
            "record.list",
            lambda body: read_page(
                body, "fidelityCardRecordList", RemoteRecord.from_wire, offset=offset or 0
            ),
            params=params,
        )

    def iter_records(
        self,
        program_id: str,
        code: str,
        *,
        action: str | None = None,
        from_date: datetime | None = None,
    ) -> Iterator[RemoteRecord]:
        """Every record of a card, page by page; `from_date`: made since then ("fromDate | Data
        dell'operazione sulla Fidelity Card"), `action`: of that kind only."""

        def fetch(offset: int, limit: int) -> Page:
            return self.list_records(
                program_id, code, action=action, offset=offset, limit=limit, from_date=from_date
            )

        for page in self._pages(fetch, PAGE_SIZE):
            yield from page.items

    def add_record(
        self,
        program_id: str,
        code: str,
        *,
        action: str,
        points: int | None = None,
        amount: Decimal | None = None,
        reward_id: int | None = None,
        note: str = "",
        send_sms: bool | None = None,
    ) -> RemoteRecord:
        form = _form(
            action=action,
            points=None if points is None else str(points),
            amount=_wire_amount(amount),
            rewardId=None if reward_id is None else str(reward_id),
            note=note or None,
            sendSms=_wire_bool(send_sms),
        )
        return self._call(
            "POST",
            f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record",
            "record.create",
            RemoteRecord.from_wire,
            data=form,
        )

    def delete_record(self, program_id: str, code: str, record_id: str) -> None:
        # Elimina record: "204 | Record eliminato correttamente", no body. Any other 2xx is
        # taken as done too, unless its body is one of AMM's error bodies.
        def read(response: Response) -> None:
            if response.content.strip():
                self._read(lambda body: None)(response)

        self.request(
            "DELETE",
            f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record/{_seg(record_id)}",
            operation="record.delete",
            read=read,
        )

    # --- the read-only check (checkproviders) -------------------------------------------------
    def probes(self) -> list[Probe]:
        """`fidelity/list`, one small page of the first program's cards, then one small page of
        the records of one of those cards (one with points, when there is one): their shape, and
        whether AMM gives back the `note` a movement's reference travels in."""
        first: dict[str, str] = {}

        def programs() -> list[str]:
            def read(body: Any) -> list[str]:
                listed = body.get("fidelityList") if isinstance(body, dict) else body
                differing = probe_differing(listed, RemoteProgram, where="fidelityList")
                if listed and isinstance(listed, list) and isinstance(listed[0], dict):
                    with suppress(Unreadable):  # the next probe lists this program's cards
                        first["id"] = read_id(listed[0].get("id"), "id")
                if not differing:
                    try:
                        _programs(body)
                    except Unreadable as exc:
                        return list(exc.fields)
                return differing

            return self._call("GET", "fidelity/list", "fidelity.list", read)

        def cards() -> list[str]:
            if "id" not in first:
                found = self.list_programs()
                if not found:
                    return []  # no program: no card list to look at
                first["id"] = found[0].id

            def read(body: Any) -> list[str]:
                differing = []
                if isinstance(body, dict):
                    differing += probe_differing(
                        body.get("fidelityCardList"), RemoteCard, where="fidelityCardList"
                    )
                    differing += metadata_differing(body)
                else:
                    differing.append(f"answer: {type_name(body)}, expected object")
                if not differing:
                    try:
                        page = read_page(body, "fidelityCardList", RemoteCard.from_wire, offset=0)
                    except Unreadable as exc:
                        return list(exc.fields)
                    _remember_card(page.items)
                return differing

            return self._call(
                "GET",
                f"fidelity/{_seg(first['id'])}/card/list",
                "card.list",
                read,
                params={"offset": 0, "limit": PROBE_PAGE_SIZE},
            )

        def _remember_card(cards: list[RemoteCard]) -> None:
            # A card with points has records to look at: the first such one, else the first.
            first["cards read"] = "yes"
            chosen = next((c for c in cards if c.points), cards[0] if cards else None)
            if chosen is not None:
                first["code"] = chosen.code

        def records() -> list[str]:
            if "cards read" not in first:  # the card probe failed: a page of cards first
                if "id" not in first:
                    found = self.list_programs()
                    if not found:
                        return []
                    first["id"] = found[0].id
                _remember_card(self.list_cards(first["id"], limit=PROBE_PAGE_SIZE).items)
            if "code" not in first:
                return []  # no card: no records to look at

            def read(body: Any) -> list[str]:
                if not isinstance(body, dict):
                    return [f"answer: {type_name(body)}, expected object"]
                listed = body.get("fidelityCardRecordList")
                differing = probe_differing(listed, RemoteRecord, where="fidelityCardRecordList")
                differing += metadata_differing(body)
                if not differing:
                    try:
                        read_page(body, "fidelityCardRecordList", RemoteRecord.from_wire, offset=0)
                    except Unreadable as exc:
                        return list(exc.fields)
                # A lost movement is found by the reference in its note only if the listing
                # gives notes back (the document's example prints none). No record listed: no
                # way to tell, and nothing wrong.
                listed = listed if isinstance(listed, list) else []
                records = [r for r in listed if isinstance(r, dict)]
                if records and not any("note" in r for r in records):
                    why = gettext("a lost movement cannot be found by its reference")
                    differing.append(f"fidelityCardRecordList[].note: missing ({why})")
                return differing

            return self._call(
                "GET",
                f"fidelity/{_seg(first['id'])}/card/{_seg(first['code'])}/record/list",
                "record.list",
                read,
                params={"offset": 0, "limit": PROBE_PAGE_SIZE},
            )

        return [
            Probe("fidelity/list", programs),
            Probe("card/list", cards),
            Probe("record/list", records),
        ]

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _pages(
        fetch: Callable[[int, int], Page], page_size: int, submit: Submit | None = None
    ) -> Iterator[Page]:
        """Every page of a list, `fetch(offset, limit)` each, until `metadata.count` is reached
        (without a count: until an empty page).

        The next offset is what was received, so a provider that sends fewer than asked loses
        nothing; one that refuses the page size (BAD_LIMIT: the document sets no maximum) is
        asked again for half, down to the document's default of 20. A page that starts with
        the same item as the one before means the offset is not read: a ContractDrift, rather
        than reading the same page for ever.

        With `submit`, after a full page the next PAGES_AHEAD pages are asked for at once, at
        the offsets full pages give; an answer is used only for the offset and limit it was
        asked with, so after a short page the ones asked ahead are dropped and asked again."""
        offset = 0
        ahead: deque[tuple[int, int, Future[Page]]] = deque()
        previous_first: str | None = None
        try:
            while True:
                try:
                    if ahead and ahead[0][:2] == (offset, page_size):
                        page = ahead.popleft()[2].result()
                    else:
                        _drop(ahead)
                        page = fetch(offset, page_size)
                except errors.ProviderRejected as exc:
                    if not _page_size_refused(exc) or page_size <= DOCUMENT_DEFAULT_LIMIT:
                        raise
                    page_size = max(page_size // 2, DOCUMENT_DEFAULT_LIMIT)
                    continue
                first_id = page.items[0].id if page.items else None
                if offset and first_id is not None and first_id == previous_first:
                    raise errors.ContractDrift(
                        gettext(
                            "AMM answered the same page again: it does not seem to read offset."
                        ),
                        provider="amm",
                        fields=("offset",),
                    )
                previous_first = first_id
                offset += len(page.items)
                if not page.items or (page.count is not None and offset >= page.count):
                    yield page
                    return
                if submit is not None and page.count is not None and len(page.items) == page_size:
                    asked = ahead[-1][0] + page_size if ahead else offset
                    while len(ahead) < PAGES_AHEAD and asked < page.count:
                        ahead.append((asked, page_size, submit(fetch, asked, page_size)))
                        asked += page_size
                yield page
        finally:
            _drop(ahead)

    @staticmethod
    def _page_params(offset, limit, from_date, to_date) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if offset is not None:
            params["offset"] = offset
        if limit is not None:
            params["limit"] = limit
        if from_date is not None:
            params["fromDate"] = format_date(from_date)
        if to_date is not None:
            params["toDate"] = format_date(to_date)
        return params


def _programs(body: Any) -> list[RemoteProgram]:
    """Lista Fidelity: `{"fidelityList": [...]}`; the list absent or null cannot be read (the
    document prints it, and an account always has its programs)."""
    listed = read_object(body, "answer").get("fidelityList")
    if not isinstance(listed, list):
        raise Unreadable(f"fidelityList: {type_name(listed) if listed is not None else 'missing'}")
    return [RemoteProgram.from_wire(item) for item in listed]


def _page_size_refused(exc: errors.ProviderError) -> bool:
    """BAD_LIMIT, or a refusal of ours whose words are about the limit."""
    if exc.code == "BAD_LIMIT":
        return True
    return exc.code not in ERROR_MESSAGES and "limit" in wording(exc.code, exc.user_message)


Submit = Callable[..., "Future[Page]"]


def _drop(ahead: deque) -> None:
    """Forget the pages asked for ahead: those not started are not asked at all."""
    while ahead:
        ahead.popleft()[2].cancel()


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _form(**values: str | None) -> dict[str, str]:
    """Only the parameters that have a value: AMM applies its defaults to the others."""
    return {name: value for name, value in values.items() if value is not None}


def amm_client() -> AmmClient:
    return provider_client(AmmClient, **provider_settings(AmmClient.provider, *SETTINGS))


def amm_preflight() -> ProviderPreflight:
    """What `checkproviders` checks for AMM (registered in loyalty/apps.py): its settings, then
    its read-only listings (`AmmClient.probes`)."""
    return provider_preflight(
        AmmClient.provider, "AMM", needs=SETTINGS, probes=lambda: amm_client().probes()
    )
