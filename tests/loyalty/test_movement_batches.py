"""Movements of one card delivered in one relay batch (core.outbox.outbox_relay): each
outcome is recorded after the batch's last delivery, in the order they were delivered, so AMM's
balance kept beside ours is the one read after the last of them."""

from decimal import Decimal

import pytest
from django.db.models import F

from core import relay
from core.models import OutboxEntry, OutboxState, SyncStatus
from core.outbox import outbox_relay
from core.services import records_sync_now
from core.sync import sync_handler_for
from core.tasks import outbox_deliver_task
from loyalty.models import PointMovement
from loyalty.services import movement_add, movement_delete
from sandbox.models import AmmCard
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


def test_a_movement_added_then_another_deleted_in_one_batch_leave_amms_last_balance(
    deliver, monkeypatch, outcome_transactions
):
    with deliver():
        card = make_card()
        added = movement_add(card=card, amount=Decimal("32.00"))  # 6 points, synced
    card.refresh_from_db()
    assert card.points == card.remote_points == 6
    outcome_transactions.clear()

    monkeypatch.setattr(outbox_deliver_task, "delay", lambda *args, **kwargs: None)
    with deliver():  # queued for a relay that has not started yet
        movement_add(card=card, points=4)
        movement_delete(movement=added)
    relay.relay_started("amm")
    outbox_relay(provider="amm")

    # One batch: the add (AMM's balance read after it: 10) then the delete (then: 4).
    assert outcome_transactions == [2]
    card.refresh_from_db()
    assert card.points == card.remote_points == 4 == AmmCard.objects.get(pk=card.remote_id).points
    assert set(PointMovement.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert set(OutboxEntry.objects.values_list("state", flat=True)) == {OutboxState.DONE}


def test_a_card_synced_after_a_movement_in_one_batch_keeps_the_balance_it_read_last(
    deliver, monkeypatch, outcome_transactions
):
    """A movement's hook and its card's update both write AMM's balance: the batch writes them
    in the order they were delivered, so the card's later read stands."""
    with deliver():
        card = make_card()
    card.refresh_from_db()
    handler = sync_handler_for("loyalty.pointmovement")
    real_create = handler.create

    def create(obj):
        state = real_create(obj)  # AMM's balance read right after the record: 4
        # … and then the till adds points at AMM directly, before the card is read again.
        AmmCard.objects.filter(pk=card.remote_id).update(points=F("points") + 100)
        return state

    monkeypatch.setattr(handler, "create", create)
    monkeypatch.setattr(outbox_deliver_task, "delay", lambda *args, **kwargs: None)
    outcome_transactions.clear()
    with deliver():  # queued for a relay that has not started yet
        movement_add(card=card, points=4)
        records_sync_now(objects=[card])
    relay.relay_started("amm")
    outbox_relay(provider="amm")

    assert outcome_transactions == [2]  # the movement, then the card's update: one batch
    card.refresh_from_db()
    assert card.remote_points == 104 == AmmCard.objects.get(pk=card.remote_id).points
    assert card.points == 4
