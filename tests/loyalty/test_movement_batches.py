"""Movements of one card delivered in one relay batch (core.outbox.outbox_relay): each
outcome is recorded after the batch's last delivery, in the order they were delivered, so AMM's
balance kept beside ours is the one read after the last of them."""

from decimal import Decimal

import pytest

from core import outbox, relay
from core.models import OutboxEntry, OutboxState, SyncStatus
from core.outbox import outbox_relay
from core.tasks import outbox_deliver_task
from loyalty.models import PointMovement
from loyalty.services import movement_add, movement_delete
from sandbox.models import AmmCard
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def outcome_transactions(monkeypatch):
    """How many deliveries each outcome transaction recorded."""
    recorded = []
    real = outbox._record_success

    def counted(entry, state, calls, **options):
        recorded.append(len(options.get("deferred", ())) + (entry is not None))
        return real(entry, state, calls, **options)

    monkeypatch.setattr(outbox, "_record_success", counted)
    return recorded


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
