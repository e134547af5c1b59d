"""Simulated AMM fidelity-card API (`/sms/v2/fidelity/...`): HTTP Basic, form-encoded POSTs,
`yyyy-MM-dd'T'HH:mm:ssZ` dates, offset/limit pages with `metadata`, and 400 answers carrying an
`errorMsg` code (the document cuts its lists of codes off; ours are listed in docs/sandbox.md).

The answer-style knob (`answer_style`): "" the usual answers (a record with the `note` it was
made with, which the document lets us write but does not print back); "document" each answer
built on the document's printed example for its endpoint, key for key and type for type (the
card detail's contact with the four custom fields it prints; a record without its note), with
the sandbox's values in place of the example's; "variant" the other shapes a real AMM may send and the client reads: ids,
numbers and flags as text, ISO dates with "+01:00" or "Z", no `metadata` block on the lists,
`rewardId: null`, the holder's number as a number, and the not-found errors under codes the
client does not know, recognised by their words ("Fidelity card not found", "Record non
trovato", "FIDELITY_NOT_EXIST")."""

from __future__ import annotations

import re
import secrets
import string
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.framework import SandboxError, answer_style, basic_auth, sandbox_endpoint
from sandbox.models import AmmCard, AmmProgram, AmmRecord, AmmReward
from sandbox.routers import sandbox_atomic

PROVIDER = "amm"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
ROME = ZoneInfo("Europe/Rome")
MAX_LIMIT = 1000
SEED_PROGRAMS = [
    ("Carta Vetrina", Decimal("5.00"), [("Buono 5 euro", 5), ("Borsa spesa", 10)]),
    ("Carta Vetrina Premium", Decimal("1.00"), [("Buono 10 euro", 50)]),
]


# "variant": the not-found errors under codes the client does not know, each in other words.
VARIANT_ERRORS = {
    "CARD_NOT_FOUND": {
        "errorCode": 400,
        "errorMsg": "INVALID_CARD",
        "errorDescription": "Fidelity card not found",
    },
    "RECORD_NOT_FOUND": {"errorCode": 400, "errorMsg": "Record non trovato"},
    "FIDELITY_NOT_FOUND": {"errorCode": "400", "errorMsg": "FIDELITY_NOT_EXIST"},
}


def endpoint(*methods: str):
    def decorate(view):
        @wraps(view)
        def styled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except SandboxError as exc:
                code = exc.body.get("errorMsg")
                if answer_style(request) == "variant" and code in VARIANT_ERRORS:
                    raise SandboxError(exc.status, VARIANT_ERRORS[code]) from None
                raise

        return sandbox_endpoint(PROVIDER, methods=methods, auth=basic_auth(PROVIDER))(styled)

    return decorate


def fail(code: str, status: int = 400) -> SandboxError:
    return SandboxError(status, {"errorCode": status, "errorMsg": code})


def seed_programs() -> None:
    """AMM's programs are made in its console; the sandbox starts with two."""
    if AmmProgram.objects.exists():
        return
    for name, value, rewards in SEED_PROGRAMS:
        program = AmmProgram.objects.create(name=name, point_value=value)
        for reward_name, points in rewards:
            AmmReward.objects.create(program=program, name=reward_name, points=points)


def _program(program_id: str) -> AmmProgram:
    seed_programs()
    program = AmmProgram.objects.filter(pk=_int(program_id, "FIDELITY_NOT_FOUND")).first()
    if program is None:
        raise fail("FIDELITY_NOT_FOUND")
    return program


def _card(program: AmmProgram, code: str) -> AmmCard:
    card = AmmCard.objects.filter(program=program, code=code).first()
    if card is None:
        raise fail("CARD_NOT_FOUND")
    return card


def _int(value: Any, code: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise fail(code) from None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT)  # noqa: DTZ007 (%z in the format)
    except ValueError:
        raise fail("BAD_DATE") from None


def _decimal(value: str | None, code: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise fail(code) from None
    if not number.is_finite() or number < 0:
        raise fail(code)
    return number


def _bool(value: str | None, code: str) -> bool:
    if value in (None, ""):
        return False
    if value.lower() not in ("true", "false"):
        raise fail(code)
    return value.lower() == "true"


def _form(request: HttpRequest) -> Any:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise SandboxError(
            415,
            {
                "errorCode": 415,
                "errorMsg": "Content-Type must be application/x-www-form-urlencoded",
            },
        )
    return request.POST


def _when(value: datetime) -> str:
    """DATE_FORMAT (`2019-11-22T16:11:23+0100`), through isoformat: strftime's %z is slow, and
    a page of cards has a date each."""
    text = timezone.localtime(value, ROME).isoformat(timespec="seconds")
    if len(text) != 25:  # an offset with seconds (Rome's before 1893): let strftime say it
        return timezone.localtime(value, ROME).strftime(DATE_FORMAT)
    return text[:22] + text[23:]  # "+01:00" → "+0100"


def _card_out(card: AmmCard, *, detail: bool = False, style: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "fidelityId": card.program_id,
        "fidelityCardId": card.pk,
        "fidelityCode": card.code,
        "activationDate": _when(card.activation_date),
        "active": card.active,
        "points": card.points,
    }
    if detail:
        contact = card.contact or {}
        if style == "document":
            # Dettaglio Fidelity Card, as printed: the four custom fields beside the contact.
            custom = [
                ("f_s_msisdn", "Cellulare", card.msisdn),
                ("f_s_email", "Email", contact.get("email", "")),
                ("f_s_nome", "Nome", contact.get("name", "")),
                ("f_s_cognome", "Cognome", contact.get("lastname", "")),
            ]
        else:
            custom = [("f_s_msisdn", "Cellulare", card.msisdn)]
        out = {
            "fidelityId": card.program_id,
            "fidelityCardId": card.pk,
            "fidelityName": card.program.name,
            "contactDetail": {
                "msisdn": card.msisdn,
                "name": contact.get("name", ""),
                "lastname": contact.get("lastname", ""),
                "email": contact.get("email", ""),
                "groups": [],
                "customFields": [
                    {"fieldKey": key, "fieldName": name, "fieldValue": value}
                    for key, name, value in custom
                ],
            },
            **{k: v for k, v in out.items() if k not in ("fidelityId", "fidelityCardId")},
        }
    return _variant_card(out) if style == "variant" else out


def _variant_card(out: dict[str, Any]) -> dict[str, Any]:
    """A card the "variant" way: ids, points and the flag as text, the date with "+01:00", the
    holder's number as a number and no groups or custom fields."""
    varied = {
        **out,
        "fidelityId": str(out["fidelityId"]),
        "fidelityCardId": str(out["fidelityCardId"]),
        "activationDate": _iso(out["activationDate"]),
        "active": "true" if out["active"] else "false",
        "points": str(out["points"]),
    }
    if "contactDetail" in out:
        contact = out["contactDetail"]
        varied["contactDetail"] = {
            "msisdn": int(contact["msisdn"]) if contact["msisdn"].isdigit() else contact["msisdn"],
            "name": contact["name"],
            "lastname": contact["lastname"],
            "email": contact["email"],
        }
    return varied


def _iso(text: str) -> str:
    """DATE_FORMAT's "+0100" as ISO 8601's "+01:00"."""
    return f"{text[:-2]}:{text[-2:]}"


def _record_out(record: AmmRecord, style: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.pk,
        "points": record.points,
        "amount": float(record.amount),
        "action": record.action,
        "date": _when(record.date),
    }
    if style == "variant":  # text numbers, a null reward, the date in UTC with Z, and the note
        return {
            "id": str(record.pk),
            "points": str(record.points),
            "amount": f"{record.amount:.2f}",
            "rewardId": None if record.reward_id is None else str(record.reward_id),
            "action": record.action,
            "date": record.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "note": record.note,
        }
    if record.reward_id is not None:
        out = {**out, "rewardId": record.reward_id}
        out = {k: out[k] for k in ("id", "points", "amount", "rewardId", "action", "date")}
    if style != "document":  # the note we wrote, given back ("" when none); not in the document
        out["note"] = record.note
    return out


def _list(request: HttpRequest, metadata: dict[str, Any], key: str, items: list) -> JsonResponse:
    """A page: `metadata` first, as the document prints it; without it in "variant"."""
    if answer_style(request) == "variant":
        return JsonResponse({key: items})
    return JsonResponse({"metadata": metadata, key: items})


def _page(request: HttpRequest, queryset, date_field: str):
    offset = _int(request.GET.get("offset", 0), "BAD_OFFSET")
    limit = _int(request.GET.get("limit", 20), "BAD_LIMIT")
    if offset < 0:
        raise fail("BAD_OFFSET")
    if not 0 < limit <= MAX_LIMIT:
        raise fail("BAD_LIMIT")
    from_date, to_date = _date(request.GET.get("fromDate")), _date(request.GET.get("toDate"))
    if from_date:
        queryset = queryset.filter(**{f"{date_field}__gte": from_date})
    if to_date:
        queryset = queryset.filter(**{f"{date_field}__lte": to_date})
    count = queryset.count()
    return {"count": count, "offset": offset, "limit": limit}, queryset[offset : offset + limit]


# --- endpoints ---------------------------------------------------------------------------------
@endpoint("GET")
def fidelity_list(request: HttpRequest) -> HttpResponse:
    seed_programs()
    variant = answer_style(request) == "variant"
    return JsonResponse(
        {
            "fidelityList": [
                {
                    "id": str(p.pk) if variant else p.pk,
                    "name": p.name,
                    "pointValue": f"{p.point_value:.2f}" if variant else float(p.point_value),
                }
                for p in AmmProgram.objects.order_by("pk")
            ]
        }
    )


@endpoint("GET")
def card_list(request: HttpRequest, program_id: str) -> HttpResponse:
    program = _program(program_id)
    metadata, cards = _page(request, program.cards.order_by("pk"), "activation_date")
    # Pages of up to MAX_LIMIT cards: plain rows, not model instances, in `_card_out`'s shape.
    rows = cards.values_list("pk", "code", "activation_date", "active", "points")
    listed = [
        {
            "fidelityId": program.pk,
            "fidelityCardId": pk,
            "fidelityCode": code,
            "activationDate": _when(activation_date),
            "active": active,
            "points": points,
        }
        for pk, code, activation_date, active, points in rows
    ]
    if answer_style(request) == "variant":
        listed = [_variant_card(card) for card in listed]
    return _list(request, metadata, "fidelityCardList", listed)


@endpoint("POST")
def card_create(request: HttpRequest, program_id: str) -> HttpResponse:
    program = _program(program_id)
    form = _form(request)
    msisdn = form.get("msisdn", "")
    if not re.fullmatch(r"\d{8,15}", msisdn):
        raise fail("BAD_MSISDN")
    code = form.get("cardCode") or ""
    if code and not re.fullmatch(r"[0-9A-Za-z_]{6,30}", code):
        raise fail("BAD_CARDCODE")
    starting_points = (
        _int(form["startingPoints"], "BAD_STARTINGPOINTS") if form.get("startingPoints") else None
    )
    if starting_points is not None and starting_points < 0:
        raise fail("BAD_STARTINGPOINTS")
    starting_amount = _decimal(form.get("startingAmount"), "BAD_STARTINGAMOUNT")
    _bool(form.get("sendSms"), "BAD_SENDSMS")
    with sandbox_atomic():
        if code and program.cards.filter(code=code).exists():
            raise fail("DUPLICATE_CARDCODE")
        if not code:
            code = _generated_code(program)
        if starting_points is None:
            starting_points = _points(starting_amount or Decimal(0), program.point_value)
        card = AmmCard.objects.create(
            program=program,
            code=code,
            msisdn=msisdn,
            activation_date=timezone.now().replace(microsecond=0),
            points=starting_points,
        )
    return JsonResponse(_card_out(card, style=answer_style(request)))


def _generated_code(program: AmmProgram) -> str:
    while True:  # "ne viene generato uno di 15 caratteri in automatico"
        code = "F" + "".join(secrets.choice(string.digits) for _ in range(14))
        if not program.cards.filter(code=code).exists():
            return code


def _points(amount: Decimal, point_value: Decimal) -> int:
    return int((amount / point_value).to_integral_value(rounding=ROUND_DOWN)) if point_value else 0


@endpoint("GET")
def card_detail(request: HttpRequest, program_id: str, code: str) -> HttpResponse:
    card = _card(_program(program_id), code)
    return JsonResponse(_card_out(card, detail=True, style=answer_style(request)))


@endpoint("GET")
def record_list(request: HttpRequest, program_id: str, code: str) -> HttpResponse:
    card = _card(_program(program_id), code)
    records = card.records.order_by("pk")
    action = request.GET.get("action")
    if action:
        if action not in ("ADD", "REWARD", "AZZERA"):
            raise fail("BAD_ACTION")
        records = records.filter(action=action)
    metadata, page = _page(request, records, "date")
    style = answer_style(request)
    return _list(request, metadata, "fidelityCardRecordList", [_record_out(r, style) for r in page])


@endpoint("POST")
def record_create(request: HttpRequest, program_id: str, code: str) -> HttpResponse:
    program = _program(program_id)
    form = _form(request)
    action = form.get("action", "")
    if action not in ("ADD", "REWARD", "AZZERA"):
        raise fail("BAD_ACTION")
    points = _int(form["points"], "BAD_POINTS") if form.get("points") else None
    amount = _decimal(form.get("amount"), "BAD_AMOUNT")
    send_sms = _bool(form.get("sendSms"), "BAD_SENDSMS")
    reward_id = None
    with sandbox_atomic():
        card = _card(program, code)
        if not card.active:
            raise fail("CARD_NOT_ACTIVE")
        if action == "ADD":
            if points is None and amount is None:
                raise fail("BAD_POINTS")
            if points is None:
                points = _points(amount, program.point_value)
        elif action == "REWARD":
            if not form.get("rewardId"):
                raise fail("BAD_REWARDID")
            reward = program.rewards.filter(pk=_int(form["rewardId"], "BAD_REWARDID")).first()
            if reward is None:
                raise fail("BAD_REWARDID")
            if card.points < reward.points:
                raise fail("INSUFFICIENT_POINTS")
            points, reward_id = -reward.points, reward.pk
        else:  # AZZERA
            points = -card.points
        record = AmmRecord.objects.create(
            card=card,
            action=action,
            points=points,
            amount=amount or 0,
            reward_id=reward_id,
            note=form.get("note", "")[:255],
            send_sms=send_sms,
            date=timezone.now().replace(microsecond=0),
        )
        AmmCard.objects.filter(pk=card.pk).update(points=F("points") + points)
    return JsonResponse(_record_out(record, answer_style(request)))


@endpoint("DELETE")
def record_delete(request: HttpRequest, program_id: str, code: str, record_id: str) -> HttpResponse:
    card = _card(_program(program_id), code)
    with sandbox_atomic():
        record = card.records.filter(pk=_int(record_id, "RECORD_NOT_FOUND")).first()
        if record is None:
            raise fail("RECORD_NOT_FOUND")
        AmmCard.objects.filter(pk=card.pk).update(points=F("points") - record.points)
        record.delete()
    return HttpResponse(status=204)
