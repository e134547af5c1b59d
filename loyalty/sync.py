"""Outbox handlers for the loyalty app: cards and point movements → AMM calls."""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import ContractDrift, NeedsDecision, ProviderNotFound, ProviderUnavailable
from core.models import SyncStatus
from core.outbox import outbox_mark_delivered
from core.selectors import outbox_awaiting_decision, outbox_remote_ids_deleted
from core.sync import RemoteState, SyncHandler, sync_handler_register
from loyalty.amm import (
    RECORD_NOT_FOUND,
    REFERENCE_PREFIX,
    RemoteCard,
    RemoteRecord,
    amm_client,
    note_with_reference,
    references_in,
)
from loyalty.models import FidelityCard, MovementAction, PointMovement
from loyalty.services import card_recompute_points, customer_get_or_create

if TYPE_CHECKING:
    from core.models import OutboxEntry

# How far AMM's clock may be from ours. A record that a lost attempt made is looked for from the
# first attempt's start less this, up to the look-up's own time plus this: a record of the same
# card and kind made outside that window cannot be ours.
CLOCK_SKEW = timedelta(seconds=60)
# The decision a movement waits for carries this code (as a Wolkvox chunk's does).
DECISION_CODE = "OUTCOME_UNKNOWN"


def card_fields_from_remote(card: RemoteCard) -> dict[str, Any]:
    """The one mapping from AMM's card onto our fields (balance kept apart, never overwritten;
    a balance AMM did not report is "not known", None)."""
    return {
        "code": card.code,
        "active": card.active,
        "activation_date": card.activation_date,
        "remote_points": card.points,
    }


@sync_handler_register
class CardSync(SyncHandler):
    """`POST fidelity/{program}/card`; AMM has no call to change or delete a card, so a sync of
    an existing card reads its detail (balance, active) instead."""

    provider = "amm"
    model = FidelityCard
    remote_delete = False

    def create(self, obj: FidelityCard) -> RemoteState:
        remote = amm_client().create_card(
            obj.program.remote_id,
            msisdn=obj.customer.amm_msisdn,
            card_code=obj.code,
            starting_points=obj.starting_points if obj.starting_amount is None else None,
            starting_amount=obj.starting_amount,
            send_sms=obj.send_sms,
        )
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: FidelityCard) -> RemoteState:
        remote = amm_client().get_card(obj.program.remote_id, obj.code)
        return RemoteState(remote.id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        return card_fields_from_remote(RemoteCard.from_wire(state.data))

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        # A card pulled from AMM has no customer until its detail names the phone number.
        contact = RemoteCard.from_wire(state.data).contact
        card = FidelityCard.objects.only("customer_id").filter(pk=object_id).first()
        if card is not None and contact.msisdn and card.customer_id is None:
            with suppress(ValidationError):  # a number AMM holds but we cannot read stays unlinked
                customer = customer_get_or_create(
                    msisdn="+" + contact.msisdn,
                    name=contact.name,
                    surname=contact.lastname,
                    email=contact.email,
                )
                FidelityCard.objects.filter(pk=object_id).update(customer=customer)

    def find_existing(self, obj: FidelityCard) -> RemoteState | None:
        client = amm_client()
        if obj.code:
            try:
                remote = client.get_card(obj.program.remote_id, obj.code)
            except ProviderNotFound:
                return None
            return RemoteState(remote.id, remote.raw)
        # A generated code we never heard: look at cards issued since, by phone number.
        since = obj.created_at - timedelta(minutes=5)
        for _page, cards in client.iter_cards(obj.program.remote_id, from_date=since):
            # Cards we already hold are not ours to find: only unknown codes are read in detail
            # (one call each), so the look-up stays a few calls however many cards were issued.
            known = set(
                FidelityCard.objects.filter(
                    program=obj.program, code__in=[card.code for card in cards]
                ).values_list("code", flat=True)
            )
            for card in cards:
                if not card.code or card.code in known:
                    continue  # a listing without a code cannot be read in detail
                try:
                    detail = client.get_card(obj.program.remote_id, card.code)
                except ProviderNotFound:
                    continue  # gone since the listing: not ours either
                if detail.contact.msisdn == obj.customer.amm_msisdn:
                    # The outbox reads the found card again through update(), which needs
                    # the code AMM generated: ours is still empty.
                    obj.code = detail.code
                    return RemoteState(detail.id, detail.raw)
        return None


def _card_points(card: FidelityCard) -> dict[str, int | None]:
    """AMM's balance of the card right now, to keep beside ours; None when AMM did not say.

    Read after the record is made: a failure here must not fail the attempt, or the record AMM
    now holds would be looked up again, at the cost of more calls that can fail. The balance
    kept before is stale by now, so it becomes "not known" until the card's next sync."""
    return {"card_points": _card_points_of(card.program.remote_id, card.code)}


def _card_points_of(program: str, code: str) -> int | None:
    try:
        return amm_client().get_card(program, code).points
    except (ProviderUnavailable, ContractDrift):  # not answered, or not readable: not known
        return None


@dataclass(frozen=True)
class _Sent:
    """What a movement's create sent to AMM, to find the record it may have made: from the
    movement, or from a delete's payload once the movement is gone here."""

    program: str
    code: str
    action: str
    amount: Decimal | None
    points_requested: int | None
    reward_id: int | None
    reference: str  # empty: sent without one (before references, or a pull's)
    since: datetime  # the first attempt's start (or the movement's date), less CLOCK_SKEW

    @classmethod
    def of(cls, obj: PointMovement) -> _Sent:
        return cls(
            program=obj.card.program.remote_id,
            code=obj.card.code,
            action=obj.action,
            amount=obj.amount,
            points_requested=obj.points_requested,
            reward_id=obj.reward_id,
            reference=obj.reference,
            since=(obj.sent_at or obj.date) - CLOCK_SKEW,
        )

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> _Sent:
        started = payload.get("sent_at") or payload.get("date")
        since = parse_datetime(started) if started else None
        return cls(
            program=payload["program"],
            code=payload["code"],
            action=payload.get("action") or "",
            amount=None if payload.get("amount") is None else Decimal(payload["amount"]),
            points_requested=payload.get("points_requested"),
            reward_id=payload.get("reward_id"),
            reference=payload.get("reference") or "",
            # A payload of before references has no time: a day back, as the listing once was
            # not limited at all (an ambiguous match still waits for a person).
            since=(since or timezone.now() - timedelta(days=1)) - CLOCK_SKEW,
        )

    def matches(self, record: RemoteRecord, until: datetime) -> bool:
        """Card (the listing's), action, points or amount, reward, and made in the window. What
        we did not send is not compared: AMM fills it in its own way."""
        return (
            record.action == self.action
            and (self.amount is None or (record.amount or 0) == self.amount)
            and (self.points_requested is None or record.points == self.points_requested)
            and (self.reward_id is None or record.reward_id == self.reward_id)
            and (record.date is None or self.since <= record.date <= until)
        )


def _unclaimed(records: list[RemoteRecord]) -> list[RemoteRecord]:
    """The records no movement here holds, nor a delete on its way to AMM."""
    ids = [record.id for record in records]
    held = set(
        PointMovement.objects.filter(remote_id__in=ids).values_list("remote_id", flat=True)
    ) | outbox_remote_ids_deleted(model=PointMovement, remote_ids=ids, open_only=True)
    return [record for record in records if record.id not in held]


def _find_record(sent: _Sent) -> tuple[RemoteRecord | None, list[RemoteRecord]]:
    """The record a lost attempt made, looked up in one listing of the card's records since the
    window opens: `(record, [])` when it is found, `(None, [])` when it is surely not there,
    `(None, candidates)` when several could be it and nothing tells which.

    - Sent with our reference and AMM gives notes back: the record whose note carries the
      reference, and only that one (exact match); none carries it: not there.
    - Otherwise (AMM's listing has no `note`, as in the document's example, or the movement was
      sent without a reference): a record is ours only when exactly one record no movement here
      holds has the card, action, points or amount and reward we sent and was made in the
      window; several are for a person to decide."""
    records = list(
        amm_client().iter_records(sent.program, sent.code, action=sent.action, from_date=sent.since)
    )
    if sent.reference:
        mine = [r for r in records if sent.reference in references_in(r.note)]
        if mine:
            return min(mine, key=lambda r: (len(r.id), r.id)), []
        if any(r.note is not None for r in records):
            return None, []  # AMM gives notes back, and none carries ours: it did not arrive
    until = timezone.now() + CLOCK_SKEW
    candidates = [
        record
        for record in records
        # A note with another reference of ours is another movement's record.
        if not references_in(record.note) and sent.matches(record, until)
    ]
    candidates = _unclaimed(candidates)
    if len(candidates) == 1:
        return candidates[0], []
    return None, candidates


def _needs_decision(candidates: list[RemoteRecord], *, deleted: bool = False) -> NeedsDecision:
    ids = ", ".join(record.id for record in candidates)
    if deleted:
        message = _(
            "A movement deleted here may have reached AMM without our hearing back, and AMM "
            "does not give back the reference it was sent with: %(count)d records of the card "
            "match it (AMM ids: %(ids)s) and nothing tells which one it is. Delete the right "
            "one in AMM's console, if any, then cancel this operation."
        )
    else:
        message = _(
            "AMM's answer for this movement was lost, and AMM does not give back the "
            "reference it was sent with: %(count)d records of the card made since the first "
            "attempt match it (AMM ids: %(ids)s), none held by another movement here. Check "
            "the card's records at AMM, then decide on this movement's page: it arrived (give "
            "its AMM id) or it did not (send it again)."
        )
    return NeedsDecision(
        message % {"count": len(candidates), "ids": ids},
        provider="amm",
        code=DECISION_CODE,
    )


def _new_reference() -> str:
    return REFERENCE_PREFIX + uuid.uuid4().hex


@sync_handler_register
class MovementSync(SyncHandler):
    """`POST .../card/{code}/record` and `DELETE .../record/{id}`; no update call exists.

    Each movement is sent with its own reference in the record's note ("vtr:" and 32 hex
    digits, then the movement's note): a lost answer is resolved by it (`_find_record`)."""

    provider = "amm"
    model = PointMovement

    def prerequisites(self, obj: PointMovement) -> list:
        return [obj.card]

    def create(self, obj: PointMovement) -> RemoteState:
        card = obj.card
        _stamp(obj)
        client = amm_client()
        remote = client.add_record(
            card.program.remote_id,
            card.code,
            action=obj.action,
            points=obj.points_requested if obj.action == MovementAction.ADD else None,
            amount=obj.amount,
            reward_id=obj.reward_id,
            note=note_with_reference(obj.reference, obj.note),
            send_sms=obj.send_sms,
        )
        return RemoteState(remote.id, {**remote.raw, **_card_points(card)})

    def update(self, obj: PointMovement) -> RemoteState:
        # A record never changes at AMM; a "sync" confirms it is still there.
        card = obj.card
        for record in amm_client().iter_records(card.program.remote_id, card.code):
            if record.id == obj.remote_id:
                return RemoteState(record.id, {**record.raw, **_card_points(card)})
        raise ProviderNotFound(
            _("AMM no longer has this movement (id %(id)s).") % {"id": obj.remote_id},
            provider=self.provider,
            code=RECORD_NOT_FOUND,
        )

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        client = amm_client()
        with suppress(ProviderNotFound):  # already gone at AMM: the goal is met
            client.delete_record(payload["program"], payload["code"], remote_id)
        return {"card_points": _card_points_of(payload["program"], payload["code"])}

    def after_delete(self, *, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        # AMM's balance read right after the delete (None: not known), written with the
        # delete's outcome, after the outcomes of the movements delivered before it.
        FidelityCard.objects.filter(pk=payload["card"]).update(remote_points=answer["card_points"])

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        """A record whose create answer was lost, found as `find_existing` finds it."""
        found, candidates = _find_record(_Sent.from_payload(payload))
        if candidates:
            raise _needs_decision(candidates, deleted=True)
        return RemoteState(found.id, found.raw) if found else None

    def delete_payload(self, obj: PointMovement) -> dict[str, Any]:
        # The reference and first attempt as they are now: a worker may have sent it meanwhile.
        sent = PointMovement.objects.filter(pk=obj.pk).values("reference", "sent_at").first()
        sent = sent or {"reference": obj.reference, "sent_at": obj.sent_at}
        return {
            "program": obj.card.program.remote_id,
            "code": obj.card.code,
            "card": obj.card_id,
            "points": obj.points,
            "action": obj.action,
            "amount": str(obj.amount) if obj.amount is not None else None,
            "points_requested": obj.points_requested,
            "reward_id": obj.reward_id,
            "reference": sent["reference"],
            "sent_at": sent["sent_at"].isoformat() if sent["sent_at"] else None,
            "date": obj.date.isoformat() if obj.date else None,
        }

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        record = RemoteRecord.from_wire(state.data)
        # AMM decides what a reward or a reset is worth; ADD points are ours, same rule.
        fields: dict[str, Any] = {"date": record.date} if record.date else {}
        if record.action in (MovementAction.REWARD, MovementAction.AZZERA):
            fields["points"] = record.points
        return fields

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        movement = PointMovement.objects.only("card_id").filter(pk=object_id).first()
        if movement is None:  # deleted here meanwhile; its delete entry follows
            return
        card_recompute_points(card_id=movement.card_id)
        if "card_points" in state.data:  # AMM's balance read right after the record, or None
            FidelityCard.objects.filter(pk=movement.card_id).update(
                remote_points=state.data["card_points"]
            )

    def find_existing(self, obj: PointMovement) -> RemoteState | None:
        """The record a lost attempt made (`_find_record`); None when it is surely not there (the
        next attempt sends it); several that could be it wait for a person's decision."""
        found, candidates = _find_record(_Sent.of(obj))
        if candidates:
            raise _needs_decision(candidates)
        return RemoteState(found.id, found.raw) if found else None

    def adopt(self, obj: PointMovement, found: RemoteState) -> RemoteState:
        # A record never changes at AMM, and the listing just read it: listing the card's
        # records again (`update`) would only add calls that can fail.
        return RemoteState(found.remote_id, {**found.data, **_card_points(obj.card)})


def _stamp(obj: PointMovement) -> None:
    """Give the movement its reference and the time of its first attempt, stored before the
    call goes out (so that a lost answer can be looked up by them); kept from then on."""
    if obj.reference:
        return
    reference, now = _new_reference(), timezone.now()
    if PointMovement.objects.filter(pk=obj.pk, reference="").update(
        reference=reference, sent_at=now
    ):
        obj.reference, obj.sent_at = reference, now
    else:  # given by an attempt this instance did not see
        obj.refresh_from_db(fields=["reference", "sent_at"])


# --- a person's decision on a movement whose answer was lost ---------------------------------
def movement_awaiting_decision(movement: PointMovement) -> OutboxEntry | None:
    """The movement's create that stopped for a decision (a lost answer that the look-up could
    not resolve), or None."""
    if movement.remote_id:
        return None
    return outbox_awaiting_decision(obj=movement, code=DECISION_CODE).first()


def movement_mark_delivered(*, movement: PointMovement, record_id: str) -> PointMovement:
    """Decision: the movement did reach AMM, as record `record_id` (a person checked there).

    The record is read at AMM again: it must be one of the card's records that match the
    movement, made since its first attempt, held by no other movement. Then the movement is
    synced with it, as if the lost answer had come; its outbox entry ends done."""
    entries = outbox_awaiting_decision(obj=movement, code=DECISION_CODE)
    if movement.remote_id or not entries.exists():
        raise ValidationError(_("This movement is not waiting for a decision."))
    record_id = str(record_id).strip()
    sent = _Sent.of(movement)
    records = amm_client().iter_records(
        sent.program, sent.code, action=sent.action, from_date=sent.since
    )
    record = next((r for r in records if r.id == record_id), None)
    if (
        record is None
        or (references_in(record.note) - {movement.reference})
        or not sent.matches(record, timezone.now() + CLOCK_SKEW)
        or not _unclaimed([record])
    ):
        raise ValidationError(
            _(
                "AMM has no record %(id)s of this card that matches this movement (same kind, "
                "points or amount, made since it was first sent) and is not another movement's."
            )
            % {"id": record_id}
        )
    handler = MovementSync()
    state = RemoteState(record.id, {**record.raw, **_card_points(movement.card)})
    now = timezone.now()
    message = _("Marked by hand as delivered: AMM's record %(id)s.") % {"id": record.id}
    with transaction.atomic():
        if not outbox_mark_delivered(entries=entries, message=message, remote_id=record.id):
            raise ValidationError(_("This movement is not waiting for a decision."))
        PointMovement.objects.filter(pk=movement.pk).update(
            **handler.record_fields(state),
            remote_id=record.id,
            remote_data=state.data,
            sync_status=SyncStatus.SYNCED,
            sync_error=message,
            last_sync_attempt_at=now,
            synced_at=now,
        )
        handler.after_success(object_id=str(movement.pk), state=state)
    movement.refresh_from_db()
    return movement
