"""Consent per channel, and the one gate every outbound contact goes through.

Push sends, call-center uploads and outbound WhatsApp actions ask `consent_gate` which numbers
may be contacted on their channel; it excludes the rest and says how many and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import Channel, ConsentEvent, ConsentSource, ConsentState, Customer, DoNotCall
from loyalty.msisdn import msisdn_normalise

CONSENT_FIELD = {
    Channel.PUSH_SMS: "consent_push_sms",
    Channel.WHATSAPP: "consent_whatsapp",
    Channel.CALLS: "consent_calls",
}
EXCLUSION_REASONS = {
    "no_consent": _("no consent"),
    "withdrawn": _("consent withdrawn"),
    "do_not_call": _("on the do-not-call list"),
    "invalid_number": _("invalid number"),
    "duplicate": _("duplicate"),
}
_QUERY_CHUNK = 900  # SQLite allows 999 parameters a query


def consent_set(
    *,
    customer: Customer,
    channel: str,
    given: bool | None,
    source: str,
    text_version: str = "",
    user=None,
) -> bool:
    """Record the customer's consent on a channel (True given, False withdrawn, None unknown).
    Returns whether it changed; only a change is written to the history."""
    if channel not in CONSENT_FIELD or source not in ConsentSource.values:
        raise ValueError(f"Unknown channel or source: {channel}, {source}")
    state = {True: ConsentState.GIVEN, False: ConsentState.WITHDRAWN, None: ConsentState.UNKNOWN}[
        given
    ]
    name = CONSENT_FIELD[channel]
    if getattr(customer, name) == state:
        return False
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(**{name: state})
        setattr(customer, name, state)
        ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            state=state,
            source=source,
            text_version=text_version or settings.CONSENT_TEXT_VERSION,
            at=timezone.now(),
            by=user if user is not None and user.is_authenticated else None,
        )
    return True


@dataclass
class GateResult:
    allowed: list[str] = field(default_factory=list)  # international digits: 393471234567
    excluded: Counter = field(default_factory=Counter)  # reason code → how many


def consent_gate(
    *,
    channel: str,
    numbers: Iterable[str],
    normalised: bool = False,
    stored: Iterable[tuple[str, str]] = (),
) -> GateResult:
    """Which of these numbers may be contacted on this channel.

    Push/SMS and WhatsApp need that channel's consent given by the customer with the number.
    Calls are allowed unless the customer withdrew call consent or the number is on the
    do-not-call list. Invalid numbers and repeats are left out too. `normalised=True` says the
    numbers were validated when stored (international digits, e.g. leads' tel1): they are not
    parsed again, which matters for a 250,000-lead upload.

    `stored` are customers read by the caller's own query: (number as the database holds it,
    E.164 "+393471234567", validated when saved; the customer's `consent_field(channel)`).
    They come after `numbers` and are deduplicated with them, and are neither parsed nor looked
    up again: a send to 50,000 card holders spent 20 s parsing their numbers and then read the
    same 50,000 customers a second time. An erased customer's placeholder is no real number,
    but every consent of theirs is withdrawn, so it never passes."""
    result = GateResult()
    candidates: list[str] = []
    for raw in numbers:
        if normalised and raw:
            candidates.append(str(raw))
            continue
        try:
            candidates.append(msisdn_normalise(str(raw)).as_e164.lstrip("+"))
        except ValidationError:
            result.excluded["invalid_number"] += 1
    known: dict[str, str] = {}
    for number, state in stored:
        if number and number[0] == "+" and number[1:].isdigit():
            candidates.append(number[1:])
            known[number[1:]] = state
        else:  # not what the phone field stores: never guess whose number it is
            result.excluded["invalid_number"] += 1
    unique = list(dict.fromkeys(candidates))
    if len(unique) < len(candidates):
        result.excluded["duplicate"] += len(candidates) - len(unique)
    states = _consent_states(channel, [n for n in unique if n not in known])
    states.update(known)
    blocked = _do_not_call(unique) if channel == Channel.CALLS else set()
    for number in unique:
        state = states.get(number, ConsentState.UNKNOWN)
        if channel == Channel.CALLS:
            reason = (
                "do_not_call"
                if number in blocked
                else "withdrawn"
                if state == ConsentState.WITHDRAWN
                else ""
            )
        else:
            reason = (
                ""
                if state == ConsentState.GIVEN
                else "withdrawn"
                if state == ConsentState.WITHDRAWN
                else "no_consent"
            )
        if reason:
            result.excluded[reason] += 1
        else:
            result.allowed.append(number)
    return result


def consent_field(channel: str) -> str:
    """The Customer field holding consent on this channel (for `consent_gate(stored=…)`)."""
    return CONSENT_FIELD[channel]


def _consent_states(channel: str, numbers: list[str]) -> dict[str, str]:
    """Consent per number. The numbers are E.164 already, so the query takes them as plain
    text: through the ORM the phone field parses and validates each one again, which cost a
    250,000-lead upload most of its time."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    column = connection.ops.quote_name(Customer._meta.get_field(CONSENT_FIELD[channel]).column)
    states: dict[str, str] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(numbers), _QUERY_CHUNK):
            chunk = ["+" + n for n in numbers[start : start + _QUERY_CHUNK]]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT msisdn, {column} FROM {table} WHERE msisdn IN ({marks})",  # noqa: S608
                chunk,
            )
            for msisdn, state in cursor.fetchall():
                states[msisdn.lstrip("+")] = state
    return states


def _do_not_call(numbers: list[str]) -> set[str]:
    """The numbers on the do-not-call list. Plain text to SQL, as above: through the ORM each
    of a 250,000-lead upload's numbers was prepared as a lookup value again (4 s)."""
    table = connection.ops.quote_name(DoNotCall._meta.db_table)
    column = connection.ops.quote_name(DoNotCall._meta.get_field("msisdn").column)
    blocked: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(numbers), _QUERY_CHUNK):
            chunk = numbers[start : start + _QUERY_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({marks})",  # noqa: S608
                chunk,
            )
            blocked.update(number for (number,) in cursor.fetchall())
    return blocked


def exclusion_labels(excluded: dict[str, int]) -> list[tuple[str, int]]:
    """(reason in words, count) for showing how many were left out and why."""
    return [(str(EXCLUSION_REASONS.get(code, code)), count) for code, count in excluded.items()]
