"""Cards and movements end to end through the AMM sandbox in each of its answer styles: the
usual answers, the document's literal examples ("document") and the other shapes a real AMM may
send ("variant": numbers and ids as text, ISO dates, no metadata on the lists, not-found errors
under codes the client does not know). Every flow ends the same way in all three."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_sweep
from core.pull import pull_run
from core.services import records_sync_now
from loyalty.models import FidelityCard, FidelityProgram, PointMovement
from loyalty.services import movement_add, movement_delete, movement_reward
from sandbox.models import AmmCard, AmmProgram, AmmRecord, AmmReward
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["", "document", "variant"])
def style(request, knobs):
    knobs("amm", answers=request.param)
    return request.param


@pytest.fixture
def card(deliver, style):
    with deliver():
        created = make_card()
    created.refresh_from_db()
    return created


def test_programs_are_pulled_with_their_point_value(style):
    program = pulled_program()
    assert program.point_value == Decimal("5.00")
    assert FidelityProgram.objects.count() == AmmProgram.objects.count() == 2


def test_a_card_gets_amms_generated_code_its_date_and_balance(card):
    remote = AmmCard.objects.get(pk=card.remote_id)
    assert card.sync_status == SyncStatus.SYNCED, card.sync_error
    assert (card.code, card.remote_points, card.active) == (remote.code, 0, True)
    assert card.activation_date == remote.activation_date


def test_movements_add_reward_and_delete_keep_both_balances_equal(deliver, card):
    reward = AmmReward.objects.get(name="Buono 5 euro")
    with deliver():
        added = movement_add(card=card, amount=Decimal("32.00"))  # 6 points
        movement_add(card=card, points=4)
        rewarded = movement_reward(card=card, reward_id=reward.pk)
    added.refresh_from_db()
    rewarded.refresh_from_db()
    card.refresh_from_db()
    assert (added.sync_status, rewarded.sync_status) == (SyncStatus.SYNCED, SyncStatus.SYNCED)
    assert rewarded.points == -5 and rewarded.date is not None
    assert card.points == card.remote_points == 5 == AmmCard.objects.get(pk=card.remote_id).points

    with deliver():
        movement_delete(movement=added)
    card.refresh_from_db()
    assert card.points == card.remote_points == -1
    assert AmmRecord.objects.filter(card_id=card.remote_id).count() == 2


def test_a_movement_already_gone_at_amm_is_deleted_here_without_error(deliver, card):
    with deliver():
        movement = movement_add(card=card, points=3)
    movement.refresh_from_db()
    AmmRecord.objects.filter(pk=movement.remote_id).delete()  # removed in AMM's console
    with deliver():
        movement_delete(movement=movement)
    assert not OutboxEntry.objects.exclude(state=OutboxState.DONE).exists()
    # Each style says "not found" its own way; the client knows every one.
    assert RemoteCall.objects.filter(operation="record.delete", status_code=400).count() == 1


def test_a_card_gone_at_amm_fails_its_sync_as_not_found(deliver, card):
    AmmCard.objects.filter(pk=card.remote_id).delete()
    with deliver():
        records_sync_now(objects=[card])
    card.refresh_from_db()
    assert card.sync_status == SyncStatus.FAILED
    assert "non conosce questa carta" in card.sync_error


def test_a_lost_answer_is_looked_up_and_adopted_once(deliver, knobs, card, style):
    knobs("amm", malformed_json=True, answers=style)
    with deliver():
        movement = movement_add(card=card, points=7)
    knobs("amm", malformed_json=False, answers=style)
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True), deliver():
        outbox_sweep()
    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED, movement.sync_error
    assert list(AmmRecord.objects.filter(card_id=card.remote_id).values_list("pk", flat=True)) == [
        int(movement.remote_id)
    ]


def test_a_pull_imports_every_card_and_its_movements(style, monkeypatch):
    import loyalty.pull

    monkeypatch.setattr(loyalty.pull, "PAGE_SIZE", 7)  # several pages, the last one short
    pulled_program()
    program = AmmProgram.objects.get(name="Carta Vetrina")
    issued = timezone.now() - timedelta(days=3)
    AmmCard.objects.bulk_create(
        AmmCard(
            program=program,
            code=f"CARD_{n:05d}",
            msisdn=f"3934700{n:05d}",
            activation_date=issued,
            points=n,
        )
        for n in range(1, 17)
    )
    AmmRecord.objects.create(
        card=AmmCard.objects.get(code="CARD_00016"),
        action="ADD",
        points=16,
        amount=80,
        date=issued,
    )
    report = pull_run(provider="amm", dry_run=False, full=True, movements=True)
    assert report.imported["card"] == 16
    card = FidelityCard.objects.get(code="CARD_00016")
    assert (card.points, card.remote_points, card.activation_date) == (
        16,
        16,
        issued.replace(microsecond=0),
    )
    assert PointMovement.objects.get(card=card).amount == Decimal("80")


def test_a_card_made_in_amms_console_gets_its_holder_from_the_detail(deliver, style):
    program = pulled_program()
    AmmCard.objects.create(
        program_id=program.remote_id,
        code="CARD_CONSOLE1",
        msisdn="393471110001",
        contact={"name": "Mario", "lastname": "Rossi", "email": "mario.rossi@example.it"},
        activation_date=timezone.now(),
        points=3,
    )
    pull_run(provider="amm", dry_run=False)
    card = FidelityCard.objects.get(code="CARD_CONSOLE1")
    assert card.customer is None
    with deliver():
        records_sync_now(objects=[card])
    card.refresh_from_db()
    assert card.customer is not None
    assert (str(card.customer.msisdn), card.customer.surname) == ("+393471110001", "Rossi")
