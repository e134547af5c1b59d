"""Cards and point movements end to end: services → outbox → AMM sandbox → back."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.models import OutboxEntry, RemoteCall, SyncStatus
from loyalty.amm import points_for_amount
from loyalty.models import Customer, FidelityCard, PointMovement
from loyalty.services import (
    customer_get_or_create,
    movement_add,
    movement_delete,
    movement_reset,
    movement_reward,
)
from sandbox.models import AmmCard, AmmRecord, AmmReward
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(deliver):
    with deliver():
        shop = make_shop()
        created = make_card(shop=shop)
    created.refresh_from_db()
    return created


@pytest.mark.parametrize(
    ("amount", "point_value", "points"),
    [
        ("10.00", "5", 2),  # the document's examples (point value 5.0)
        ("20.00", "5", 4),
        ("32.00", "5", 6),
        ("11.12", "5", 2),
        ("4.99", "5", 0),
        ("9.99", "1", 9),
        ("0.50", "0.25", 2),
    ],
)
def test_points_for_an_amount_follow_amms_rule(amount, point_value, points):
    assert points_for_amount(Decimal(amount), Decimal(point_value)) == points


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("3471234567", "+393471234567"),
        ("+39 347 123 4567", "+393471234567"),
        ("00393471234567", "+393471234567"),
    ],
)
def test_a_customer_is_identified_by_the_normalised_mobile_number(raw, stored):
    customer = customer_get_or_create(msisdn=raw)
    assert str(customer.msisdn) == stored
    assert customer.amm_msisdn == stored.lstrip("+")
    assert customer_get_or_create(msisdn="347 1234567") == customer


@pytest.mark.parametrize("raw", ["12345", "not a phone", "+39 02 1234 5678"])
def test_an_invalid_or_landline_number_is_refused_in_italian(raw):
    with pytest.raises(ValidationError) as refused:
        customer_get_or_create(msisdn=raw)
    assert "non è" in refused.value.message_dict["msisdn"][0]
    assert not Customer.objects.exists()


def test_a_card_without_code_gets_amms_generated_code(card):
    assert card.sync_status == SyncStatus.SYNCED
    remote = AmmCard.objects.get(pk=card.remote_id)
    assert card.code == remote.code and len(card.code) == 15
    assert remote.msisdn == card.customer.amm_msisdn
    assert card.activation_date is not None and card.remote_points == 0


def test_a_card_code_is_validated_before_anything_is_sent():
    with pytest.raises(ValidationError) as refused:
        make_card(code="a b")
    assert "6 a 30 caratteri" in refused.value.message_dict["code"][0]
    assert not FidelityCard.objects.exists() and not OutboxEntry.objects.exists()


def test_a_card_with_a_starting_amount_starts_with_amms_points(deliver):
    with deliver():
        card = make_card(code="CARD_00011", starting_amount=Decimal("32.00"))
    card.refresh_from_db()
    assert (card.points, card.remote_points, card.code) == (6, 6, "CARD_00011")


def test_a_code_taken_at_amm_fails_with_its_reason(deliver):
    program = pulled_program()
    AmmCard.objects.create(  # made in AMM's own console
        program_id=program.remote_id,
        code="CARD_DUP01",
        msisdn="393400000001",
        activation_date="2026-01-01T10:00:00Z",
    )
    with deliver():
        second = make_card(code="CARD_DUP01", program=program)
    second.refresh_from_db()
    assert second.sync_status == SyncStatus.FAILED
    assert "già una carta con questo codice" in second.sync_error


def test_add_by_amount_computes_the_points_and_amm_agrees(deliver, card):
    with deliver():
        movement = movement_add(card=card, amount=Decimal("32.00"), note="scontrino 12")
    movement.refresh_from_db()
    card.refresh_from_db()
    assert (movement.points, movement.sync_status) == (6, SyncStatus.SYNCED)
    record = AmmRecord.objects.get(pk=movement.remote_id)
    # The note keeps ours, after the movement's own reference (loyalty.amm.note_with_reference).
    assert (record.points, record.amount) == (6, Decimal("32.00"))
    assert record.note == f"{movement.reference} scontrino 12"
    assert re.fullmatch(r"vtr:[0-9a-f]{32}", movement.reference)
    assert card.points == card.remote_points == 6
    assert not card.balance_differs


def test_add_by_points_sends_the_points(deliver, card):
    with deliver():
        movement_add(card=card, points=15)
    card.refresh_from_db()
    assert card.points == card.remote_points == 15


def test_a_reward_takes_its_points_from_amms_answer(deliver, card):
    reward = AmmReward.objects.get(name="Buono 5 euro")
    with deliver():
        movement_add(card=card, points=12)
        movement = movement_reward(card=card, reward_id=reward.pk)
    movement.refresh_from_db()
    card.refresh_from_db()
    assert movement.points == -5
    assert card.points == card.remote_points == 7


def test_a_reset_brings_the_balance_to_zero(deliver, card):
    with deliver():
        movement_add(card=card, points=9)
        movement_reset(card=card, note="chiusura")
    card.refresh_from_db()
    assert card.points == card.remote_points == 0
    assert AmmCard.objects.get(pk=card.remote_id).points == 0


def test_deleting_a_movement_deletes_the_record_and_restores_the_balance(deliver, card):
    with deliver():
        keep = movement_add(card=card, points=5)
        gone = movement_add(card=card, points=3)
    gone.refresh_from_db()
    with deliver():
        movement_delete(movement=gone)
    card.refresh_from_db()
    assert card.points == card.remote_points == 5
    keep.refresh_from_db()
    assert list(AmmRecord.objects.values_list("pk", flat=True)) == [int(keep.remote_id)]
    assert RemoteCall.objects.filter(operation="record.delete", status_code=204).count() == 1


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda c: movement_add(card=c), "points", "punti da aggiungere o l'importo"),
        (lambda c: movement_add(card=c, points=0), "points", "maggiori di zero"),
        (lambda c: movement_add(card=c, amount=Decimal("-1")), "amount", "maggiore di zero"),
        (lambda c: movement_reward(card=c, reward_id=None), "reward_id", "id del premio"),
    ],
)
def test_bad_movements_are_refused_with_a_clear_message(card, call, field, message):
    with pytest.raises(ValidationError) as refused:
        call(card)
    assert message in refused.value.message_dict[field][0]
    assert not PointMovement.objects.exists()


def test_a_reward_amm_refuses_ends_failed_with_the_reason(deliver, card):
    with deliver():
        movement = movement_reward(card=card, reward_id=999999)
    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.FAILED
    assert "non conosce questo premio" in movement.sync_error


def test_a_movement_waits_for_its_card_to_reach_amm(deliver, knobs):
    pulled_program()
    knobs("amm", forced_status=503, forced_remaining=1)
    with deliver():
        card = make_card()
        movement = movement_add(card=card, points=4)
    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.PENDING and "In attesa" in movement.sync_error

    from core.outbox import outbox_retry

    with deliver():
        outbox_retry(entries=OutboxEntry.objects.filter(object_key=card.outbox_key))
    movement.refresh_from_db()
    card.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED
    assert card.points == card.remote_points == 4


def test_a_balance_changed_at_amm_is_flagged_not_overwritten(deliver, card):
    with deliver():
        movement_add(card=card, points=10)
    AmmCard.objects.filter(pk=card.remote_id).update(points=25)  # someone used AMM's console
    from core.services import records_sync_now

    with deliver():
        records_sync_now(objects=[card])
    card.refresh_from_db()
    assert (card.points, card.remote_points, card.balance_differs) == (10, 25, True)


def test_a_generated_code_card_whose_answer_was_lost_is_found_and_synced(deliver, knobs):
    """AMM created the card (and generated its code) but its answer was garbled: the next attempt
    finds it by phone number, reads it with AMM's code and syncs it — once, never failed."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from core.outbox import outbox_sweep

    with deliver():
        shop = make_shop()
    pulled_program()
    knobs("amm", malformed_json=True)
    with deliver():
        created = make_card(shop=shop)
    knobs("amm", malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True), deliver():
        outbox_sweep()
    created.refresh_from_db()
    remote = AmmCard.objects.filter(msisdn=created.customer.amm_msisdn)
    assert remote.count() == 1
    assert created.sync_status == SyncStatus.SYNCED and created.code == remote.get().code


def test_a_balance_amm_does_not_give_after_the_record_leaves_the_movement_synced(
    deliver, card, monkeypatch
):
    """AMM made the record, then failed to give the card's balance: the movement is synced
    with AMM's id, once, and the balance kept beside ours becomes "not known", not stale."""
    from core.errors import ProviderUnavailable
    from loyalty.amm import AmmClient

    def unavailable(*args, **kwargs):
        raise ProviderUnavailable("AMM 500", provider="amm", code="HTTP_500")

    with deliver():
        movement_add(card=card, points=5)
    card.refresh_from_db()
    assert card.remote_points == 5
    monkeypatch.setattr(AmmClient, "get_card", unavailable)
    with deliver():
        movement = movement_add(card=card, points=3)
    movement.refresh_from_db()
    card.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED and movement.remote_id
    assert AmmRecord.objects.filter(card__code=card.code).count() == 2
    assert (card.points, card.remote_points) == (8, None)


def test_a_movement_whose_answer_was_lost_is_adopted_from_one_listing(deliver, card, knobs):
    """The record was made but its answer lost: the next attempt lists the card's records once,
    takes the match, reads the balance, and sends nothing again."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from core.outbox import outbox_sweep

    knobs("amm", malformed_json=True)
    with deliver():
        movement = movement_add(card=card, points=7)
    knobs("amm", malformed_json=False)
    entry = OutboxEntry.objects.get(object_key=movement.outbox_key)
    assert entry.outcome_unknown
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True), deliver():
        outbox_sweep()
    movement.refresh_from_db()
    card.refresh_from_db()
    retry_calls = list(
        RemoteCall.objects.filter(outbox_entry=entry)
        .order_by("id")
        .values_list("operation", flat=True)[1:]
    )
    assert retry_calls == ["record.list", "card.detail"]
    assert AmmRecord.objects.filter(card__code=card.code).count() == 1
    assert movement.sync_status == SyncStatus.SYNCED
    assert movement.remote_id == str(AmmRecord.objects.get(card__code=card.code).pk)
    assert card.points == card.remote_points == 7


def test_a_movement_that_waited_for_its_card_keeps_its_backoff_after_a_failure(
    deliver, card, monkeypatch
):
    """Once taken, an entry no longer waits for its card. A movement can be taken while still
    marked as waiting (the sweeper's re-check, or a card synced while the movement was in
    flight); if it then fails, a later success of the card must not send it again ahead of its
    backoff, or it spends all its attempts in a few seconds."""
    from django.utils import timezone

    from core.errors import ProviderUnavailable
    from core.outbox import outbox_deliver
    from core.services import records_sync_now
    from loyalty.amm import AmmClient

    def unavailable(*args, **kwargs):
        raise ProviderUnavailable("AMM 500", provider="amm", code="HTTP_500")

    monkeypatch.setattr(AmmClient, "add_record", unavailable)
    with deliver():
        movement = movement_add(card=card, points=4)
    entry = OutboxEntry.objects.get(object_key=movement.outbox_key)
    assert entry.attempts == 1
    # Due again, and still marked as waiting for its card, as the sweeper finds it.
    OutboxEntry.objects.filter(pk=entry.pk).update(
        waiting_for=card.outbox_key, next_attempt_at=timezone.now()
    )
    assert outbox_deliver(entry_id=entry.pk) == "retry"
    entry.refresh_from_db()
    assert (entry.attempts, entry.waiting_for) == (2, "")
    with deliver():  # the card syncs again: the movement stays in its backoff
        records_sync_now(objects=[card])
    entry.refresh_from_db()
    assert entry.attempts == 2 and entry.next_attempt_at > timezone.now()
