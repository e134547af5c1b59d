"""Outbox handlers for the loyalty app: cards and point movements → AMM calls."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.errors import ContractDrift, ProviderNotFound, ProviderUnavailable
from core.sync import RemoteState, SyncHandler, sync_handler_register
from loyalty.amm import RemoteCard, RemoteRecord, amm_client
from loyalty.models import FidelityCard, MovementAction, PointMovement


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
            from loyalty.services import customer_get_or_create

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


@sync_handler_register
class MovementSync(SyncHandler):
    """`POST .../card/{code}/record` and `DELETE .../record/{id}`; no update call exists."""

    provider = "amm"
    model = PointMovement

    def prerequisites(self, obj: PointMovement) -> list:
        return [obj.card]

    def create(self, obj: PointMovement) -> RemoteState:
        card = obj.card
        client = amm_client()
        remote = client.add_record(
            card.program.remote_id,
            card.code,
            action=obj.action,
            points=obj.points_requested if obj.action == MovementAction.ADD else None,
            amount=obj.amount,
            reward_id=obj.reward_id,
            note=obj.note,
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
            code="RECORD_NOT_FOUND",
        )

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        client = amm_client()
        with suppress(ProviderNotFound):  # already gone at AMM: the goal is met
            client.delete_record(payload["program"], payload["code"], remote_id)
        balance = _card_points_of(payload["program"], payload["code"])
        FidelityCard.objects.filter(pk=payload["card"]).update(remote_points=balance)

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        """A record whose create answer was lost, found like `find_existing` does."""
        page = amm_client().list_records(
            payload["program"], payload["code"], action=payload.get("action")
        )
        matches = [
            r
            for r in page.items
            if (r.amount or 0) == Decimal(payload.get("amount") or 0)
            and (payload.get("points_requested") is None or r.points == payload["points_requested"])
            and r.reward_id == payload.get("reward_id")
        ]
        return RemoteState(matches[0].id, matches[0].raw) if len(matches) == 1 else None

    def delete_payload(self, obj: PointMovement) -> dict[str, Any]:
        return {
            "program": obj.card.program.remote_id,
            "code": obj.card.code,
            "card": obj.card_id,
            "points": obj.points,
            "action": obj.action,
            "amount": str(obj.amount) if obj.amount is not None else None,
            "points_requested": obj.points_requested,
            "reward_id": obj.reward_id,
        }

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        record = RemoteRecord.from_wire(state.data)
        # AMM decides what a reward or a reset is worth; ADD points are ours, same rule.
        fields: dict[str, Any] = {"date": record.date} if record.date else {}
        if record.action in (MovementAction.REWARD, MovementAction.AZZERA):
            fields["points"] = record.points
        return fields

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        from loyalty.services import card_recompute_points

        movement = PointMovement.objects.only("card_id").filter(pk=object_id).first()
        if movement is None:  # deleted here meanwhile; its delete entry follows
            return
        card_recompute_points(card_id=movement.card_id)
        if "card_points" in state.data:  # AMM's balance read right after the record, or None
            FidelityCard.objects.filter(pk=movement.card_id).update(
                remote_points=state.data["card_points"]
            )

    def find_existing(self, obj: PointMovement) -> RemoteState | None:
        card = obj.card
        page = amm_client().list_records(
            card.program.remote_id,
            card.code,
            action=obj.action,
            from_date=obj.date - timedelta(minutes=5),
        )
        taken = set(
            PointMovement.objects.filter(card=card)
            .exclude(remote_id=None)
            .values_list("remote_id", flat=True)
        )
        matches = [
            record
            for record in page.items
            if record.id not in taken
            and (record.amount or 0) == (obj.amount or 0)
            and record.reward_id == obj.reward_id
            and (obj.points_requested is None or record.points == obj.points_requested)
        ]
        # Only an unambiguous match is ours; otherwise the next attempt sends it again.
        return RemoteState(matches[0].id, matches[0].raw) if len(matches) == 1 else None

    def adopt(self, obj: PointMovement, found: RemoteState) -> RemoteState:
        # A record never changes at AMM, and the listing just read it: listing the card's
        # records again (`update`) would only add calls that can fail.
        return RemoteState(found.remote_id, {**found.data, **_card_points(obj.card)})
