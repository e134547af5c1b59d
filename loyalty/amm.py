"""AMM fidelity-card client (`../shared/api-docs/amm-fidelity-cards.txt`).

HTTP Basic (AUTH_KEY:AUTH_SECRET); POSTs form-encoded with the document's parameter names
(msisdn, cardCode, startingPoints, startingAmount, sendSms; action, points, amount, rewardId,
note, sendSms); dates as `yyyy-MM-dd'T'HH:mm:ssZ` (2019-11-22T16:11:23+0100); lists paginated
with offset/limit and a `metadata` block. Errors answer 400 with an `errorMsg` code."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core import errors
from core.http import ErrorCodeClient, cached_client_factory

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# What the lists ask for a page. The document gives `limit` no maximum (default 20); the sandbox
# caps it at 1,000. A provider that refuses a page this large (BAD_LIMIT) is asked for half.
PAGE_SIZE = 1000
DOCUMENT_DEFAULT_LIMIT = 20
# Pages asked for at once ahead of the one being read, when the caller lends threads to do it.
PAGES_AHEAD = 2
# DATE_FORMAT's shape exactly, which datetime.fromisoformat reads alike, 40 times faster than
# strptime (a pull reads one date per card).
_WIRE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")

# The document cuts off its lists of error codes; these are the codes the sandbox answers
# with (docs/sandbox.md), each with what the user can do about it.
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
    "RECORD_NOT_FOUND": _("AMM does not know this movement (already deleted?)."),
    "BAD_DATE": _("AMM refused a date filter."),
    "BAD_OFFSET": _("AMM refused the page offset."),
    "BAD_LIMIT": _("AMM refused the page size."),
    "GENERIC_ERROR": _("AMM had an internal error."),
}
NOT_FOUND_CODES = frozenset({"CARD_NOT_FOUND", "FIDELITY_NOT_FOUND", "RECORD_NOT_FOUND"})


def format_date(value: datetime) -> str:
    if value.tzinfo is None:  # %z would print nothing: the provider could not read the date
        raise ValueError("A provider date needs a time zone")
    return value.strftime(DATE_FORMAT)


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    if _WIRE_DATE.fullmatch(value):
        return datetime.fromisoformat(value)
    return datetime.strptime(value, DATE_FORMAT)  # noqa: DTZ007 (%z in format): or ValueError


def points_for_amount(amount: Decimal, point_value: Decimal) -> int:
    """AMM's rule: points = amount / point value, whole points only (rounded down)."""
    if point_value <= 0:
        return 0
    return int((Decimal(amount) / Decimal(point_value)).to_integral_value(rounding=ROUND_DOWN))


def _wire_amount(value: Decimal | float | None) -> str | None:
    return None if value is None else format(Decimal(str(value)).normalize(), "f")


def _wire_bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


@dataclass(frozen=True)
class RemoteProgram:
    id: str
    name: str
    point_value: Decimal


@dataclass(frozen=True)
class RemoteCard:
    program_id: str
    id: str
    code: str
    activation_date: datetime | None
    active: bool
    points: int
    contact: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteCard:
        return cls(
            program_id=str(raw.get("fidelityId", "")),
            id=str(raw["fidelityCardId"]),
            code=str(raw.get("fidelityCode") or ""),
            activation_date=parse_date(raw.get("activationDate")),
            active=bool(raw.get("active", True)),
            points=int(raw.get("points") or 0),
            contact=raw.get("contactDetail") or {},
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

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteRecord:
        amount = raw.get("amount")
        return cls(
            id=str(raw["id"]),
            action=str(raw.get("action") or ""),
            points=int(raw.get("points") or 0),
            amount=None if amount is None else Decimal(str(amount)),
            reward_id=raw.get("rewardId"),
            date=parse_date(raw.get("date")),
            raw=raw,
        )


@dataclass(frozen=True)
class Page:
    count: int
    offset: int
    limit: int
    items: list


class AmmClient(ErrorCodeClient):
    provider = "amm"
    error_messages = ERROR_MESSAGES
    not_found_codes = NOT_FOUND_CODES

    # --- programs -----------------------------------------------------------------------------
    def list_programs(self) -> list[RemoteProgram]:
        body = self.json(self.request("GET", "fidelity/list", operation="fidelity.list"))
        return [
            RemoteProgram(
                id=str(item["id"]),
                name=str(item.get("name") or ""),
                point_value=Decimal(str(item.get("pointValue") or 0)),
            )
            for item in (body or {}).get("fidelityList", [])
        ]

    # --- cards --------------------------------------------------------------------------------
    def list_cards(
        self,
        program_id: str,
        *,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> Page:
        params = self._page_params(offset, limit, from_date, to_date)
        body = self.json(
            self.request(
                "GET",
                f"fidelity/{_seg(program_id)}/card/list",
                operation="card.list",
                params=params,
            )
        )
        return self._page(body, "fidelityCardList", RemoteCard.from_wire)

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
        body = self.json(
            self.request(
                "GET", f"fidelity/{_seg(program_id)}/card/{_seg(code)}", operation="card.detail"
            )
        )
        return RemoteCard.from_wire(body)

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
        body = self.json(
            self.request(
                "POST", f"fidelity/{_seg(program_id)}/card", operation="card.create", data=form
            )
        )
        return RemoteCard.from_wire(body)

    # --- records (point movements) -------------------------------------------------------------
    def list_records(
        self,
        program_id: str,
        code: str,
        *,
        action: str | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> Page:
        params = self._page_params(offset, limit, from_date, to_date)
        if action:
            params["action"] = action
        body = self.json(
            self.request(
                "GET",
                f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record/list",
                operation="record.list",
                params=params,
            )
        )
        return self._page(body, "fidelityCardRecordList", RemoteRecord.from_wire)

    def iter_records(self, program_id: str, code: str) -> Iterator[RemoteRecord]:
        def fetch(offset: int, limit: int) -> Page:
            return self.list_records(program_id, code, offset=offset, limit=limit)

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
        body = self.json(
            self.request(
                "POST",
                f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record",
                operation="record.create",
                data=form,
            )
        )
        return RemoteRecord.from_wire(body)

    def delete_record(self, program_id: str, code: str, record_id: str) -> None:
        self.request(
            "DELETE",
            f"fidelity/{_seg(program_id)}/card/{_seg(code)}/record/{_seg(record_id)}",
            operation="record.delete",
        )

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _pages(
        fetch: Callable[[int, int], Page], page_size: int, submit: Submit | None = None
    ) -> Iterator[Page]:
        """Every page of a list, `fetch(offset, limit)` each, until `metadata.count` is reached.

        The next offset is what was received, so a provider that sends fewer than asked loses
        nothing; one that refuses the page size (BAD_LIMIT: the document sets no maximum) is
        asked again for half, down to the document's default of 20.

        With `submit`, after a full page the next PAGES_AHEAD pages are asked for at once, at
        the offsets full pages give; an answer is used only for the offset and limit it was
        asked with, so after a short page the ones asked ahead are dropped and asked again."""
        offset = 0
        ahead: deque[tuple[int, int, Future[Page]]] = deque()
        try:
            while True:
                try:
                    if ahead and ahead[0][:2] == (offset, page_size):
                        page = ahead.popleft()[2].result()
                    else:
                        _drop(ahead)
                        page = fetch(offset, page_size)
                except errors.ProviderRejected as exc:
                    if exc.code != "BAD_LIMIT" or page_size <= DOCUMENT_DEFAULT_LIMIT:
                        raise
                    page_size = max(page_size // 2, DOCUMENT_DEFAULT_LIMIT)
                    continue
                offset += len(page.items)
                if not page.items or offset >= page.count:
                    yield page
                    return
                if submit is not None and len(page.items) == page_size:
                    asked = ahead[-1][0] + page_size if ahead else offset
                    while len(ahead) < PAGES_AHEAD and asked < page.count:
                        ahead.append((asked, page_size, submit(fetch, asked, page_size)))
                        asked += page_size
                yield page
        finally:
            _drop(ahead)

    @staticmethod
    def _page_params(offset, limit, from_date, to_date) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if from_date is not None:
            params["fromDate"] = format_date(from_date)
        if to_date is not None:
            params["toDate"] = format_date(to_date)
        return params

    def _page(self, body: Any, key: str, parse) -> Page:
        if not isinstance(body, dict) or not isinstance(body.get(key, []), list):
            raise errors.ProviderTimeout(
                _("AMM sent an answer we cannot read; the outcome will be checked."),
                provider=self.provider,
                code="UNEXPECTED_RESPONSE",
            )
        meta = body.get("metadata") or {}
        items = [parse(item) for item in body.get(key, [])]
        return Page(
            count=int(meta.get("count", len(items))),
            offset=int(meta.get("offset", 0)),
            limit=int(meta.get("limit", len(items))),
            items=items,
        )


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


@cached_client_factory
def _client(base_url: str, key: str, secret: str, connect: float, read: float) -> AmmClient:
    return AmmClient(
        base_url=base_url,
        auth_key=key,
        auth_secret=secret,
        connect_timeout=connect,
        read_timeout=read,
    )


def amm_client() -> AmmClient:
    return _client(
        settings.AMM_BASE_URL,
        settings.AMM_AUTH_KEY,
        settings.AMM_AUTH_SECRET,
        settings.PROVIDER_CONNECT_TIMEOUT,
        settings.PROVIDER_READ_TIMEOUT,
    )
