"""No AMM point given twice, none adopted by guess (issue 21, item 4).

Every movement is sent with its own reference in the record's `note` (the document lets us
write one: "note | No | String | Note aggiunte all'operazione"). Where AMM's record list gives
notes back (the sandbox's usual answers) a lost answer is resolved by that reference alone; where
it does not (the document's example, the sandbox's "document" style) a record is adopted only
when exactly one record no movement here holds matches card, action, points or amount and the
window around the first attempt, and otherwise the movement waits for a person's decision."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ProviderTimeout
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_retry, outbox_sweep
from core.preflight import preflight_run
from loyalty.amm import AmmClient, note_with_reference, references_in
from loyalty.models import PointMovement
from loyalty.services import movement_add, movement_delete
from sandbox.models import AmmCard, AmmRecord
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(deliver):
    with deliver():
        created = make_card()
    created.refresh_from_db()
    assert created.sync_status == SyncStatus.SYNCED
    return created


@pytest.fixture
def sweep_later(deliver):
    """The sweeper as beat runs it, a little later each time (past any backoff)."""
    ahead = {"minutes": 0}

    def sweep() -> None:
        ahead["minutes"] += 2
        later = timezone.now() + timedelta(minutes=ahead["minutes"])
        with time_machine.travel(later, tick=True), deliver():
            outbox_sweep()

    return sweep


def lost_movements(deliver, knobs, card, count: int, **fields) -> list[PointMovement]:
    """`count` identical movements that AMM records, each answer lost (garbled on the way)."""
    before = AmmRecord.objects.filter(card__code=card.code).count()
    knobs("amm", malformed_json=True)
    with deliver():
        movements = [movement_add(card=card, **fields) for _ in range(count)]
    knobs("amm", malformed_json=False)
    for movement in movements:
        entry = OutboxEntry.objects.get(object_key=movement.outbox_key)
        assert entry.outcome_unknown and entry.state == OutboxState.PENDING
    assert AmmRecord.objects.filter(card__code=card.code).count() == before + count
    return movements


def creates() -> int:
    return RemoteCall.objects.filter(operation="record.create").count()


def test_a_movement_sends_its_own_reference_before_its_note():
    reference = "vtr:" + "0" * 31 + "1"
    assert note_with_reference(reference, " scontrino 12 ") == f"{reference} scontrino 12"
    assert note_with_reference(reference, "") == reference
    assert len(note_with_reference(reference, "x" * 300)) == 255  # our note field's length
    assert references_in(f"{reference} scontrino") == {reference}
    assert references_in(f"x{reference}") == set()  # a token, exactly: nothing guessed
    assert references_in(None) == set()


def test_two_identical_movements_both_lost_are_each_resolved_by_their_own_reference(
    deliver, knobs, card, sweep_later
):
    movements = lost_movements(deliver, knobs, card, 2, points=7)
    sent = creates()
    sweep_later()

    assert creates() == sent  # none sent again
    records = AmmRecord.objects.filter(card__code=card.code)
    assert records.count() == 2 and AmmCard.objects.get(code=card.code).points == 14
    for movement in movements:
        movement.refresh_from_db()
        assert movement.sync_status == SyncStatus.SYNCED, movement.sync_error
        assert movement.reference in records.get(pk=movement.remote_id).note
    assert movements[0].remote_id != movements[1].remote_id
    card.refresh_from_db()
    assert card.points == card.remote_points == 14


def test_a_same_amount_record_made_at_a_till_is_never_adopted_when_amm_gives_notes_back(
    deliver, card, sweep_later, monkeypatch
):
    """Our request never reached AMM (its answer timed out); meanwhile a shop's till loaded the
    same points on the card. The look-up sees notes and no reference of ours: it sends ours."""

    def timed_out(self, *args, **kwargs):
        raise ProviderTimeout(provider="amm", code="TIMEOUT")

    monkeypatch.setattr(AmmClient, "add_record", timed_out)
    with deliver():
        movement = movement_add(card=card, points=7)
    monkeypatch.undo()
    till = AmmRecord.objects.create(
        card=AmmCard.objects.get(code=card.code),
        action="ADD",
        points=7,
        amount=0,
        note="cassa 2",
        date=timezone.now().replace(microsecond=0),
    )
    sweep_later()

    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED, movement.sync_error
    assert movement.remote_id != str(till.pk)
    ours = AmmRecord.objects.get(pk=movement.remote_id)
    assert movement.reference in ours.note and ours.points == 7
    assert AmmRecord.objects.filter(card__code=card.code).count() == 2


@pytest.fixture
def document(knobs):
    """AMM answering as its document prints: records without their note."""
    knobs("amm", answers="document")


def test_without_notes_one_unclaimed_match_in_the_window_is_adopted(
    deliver, knobs, card, sweep_later, document
):
    """The same points loaded at a till three minutes before our attempt are outside its window
    (the first attempt's start less a minute): our record is the one match, and is adopted."""
    remote_card = AmmCard.objects.get(code=card.code)
    earlier = AmmRecord.objects.create(
        card=remote_card,
        action="ADD",
        points=7,
        amount=0,
        date=(timezone.now() - timedelta(minutes=3)).replace(microsecond=0),
    )
    AmmCard.objects.filter(pk=remote_card.pk).update(points=7)
    [movement] = lost_movements(deliver, knobs, card, 1, points=7)
    sent = creates()
    sweep_later()

    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED, movement.sync_error
    assert creates() == sent
    assert movement.remote_id != str(earlier.pk)
    assert AmmRecord.objects.filter(card__code=card.code).count() == 2


def test_without_notes_two_matches_wait_for_a_decision_neither_resent_nor_adopted(
    deliver, knobs, card, sweep_later, document, admin_client
):
    movements = lost_movements(deliver, knobs, card, 2, points=7)
    sent = creates()
    sweep_later()

    assert creates() == sent  # never resent blindly
    assert AmmRecord.objects.filter(card__code=card.code).count() == 2
    ids = sorted(str(pk) for pk in AmmRecord.objects.values_list("pk", flat=True))
    for movement in movements:
        movement.refresh_from_db()
        entry = OutboxEntry.objects.get(object_key=movement.outbox_key)
        assert (entry.state, entry.error_code) == (OutboxState.FAILED, "OUTCOME_UNKNOWN")
        assert entry.outcome_unknown
        assert movement.remote_id is None and movement.sync_status == SyncStatus.FAILED
        assert all(pk in movement.sync_error for pk in ids)  # the candidates are named

    # The movement's page says what to do, with the two decisions.
    first, second = movements
    page = admin_client.get(f"/admin/loyalty/pointmovement/{first.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/admin/loyalty/pointmovement/{first.pk}/decide/" in html
    assert 'value="resend"' in html and 'value="delivered"' in html

    # A person found the first one at AMM: it takes that record, nothing is sent.
    chosen = ids[0]
    response = admin_client.post(
        f"/admin/loyalty/pointmovement/{first.pk}/decide/",
        {"decision": "delivered", "record_id": chosen},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.remote_id, first.sync_status) == (chosen, SyncStatus.SYNCED)
    assert OutboxEntry.objects.get(object_key=first.outbox_key).state == OutboxState.DONE
    assert creates() == sent
    # **Retry** on the second looks it up again: one record left unclaimed, so it is that one.
    with deliver():
        outbox_retry(entries=OutboxEntry.objects.filter(object_key=second.outbox_key))
    second.refresh_from_db()
    assert (second.remote_id, second.sync_status) == (ids[1], SyncStatus.SYNCED)
    assert creates() == sent
    card.refresh_from_db()
    assert card.points == card.remote_points == 14


def test_a_decision_to_send_again_sends_it_once_and_a_wrong_record_id_changes_nothing(
    deliver, knobs, card, sweep_later, document, admin_client
):
    movements = lost_movements(deliver, knobs, card, 2, points=7)
    sweep_later()
    movement = movements[0]
    url = f"/admin/loyalty/pointmovement/{movement.pk}/decide/"
    sent = creates()

    for bad in ({"decision": "delivered", "record_id": "999999"}, {"decision": "x"}):
        admin_client.post(url, bad)
        movement.refresh_from_db()
        assert movement.remote_id is None and movement.sync_status == SyncStatus.FAILED
    assert admin_client.get(url).status_code == 403  # a decision is a POST

    with deliver():
        admin_client.post(url, {"decision": "resend"})
    movement.refresh_from_db()
    assert movement.sync_status == SyncStatus.SYNCED and creates() == sent + 1
    assert AmmRecord.objects.filter(card__code=card.code).count() == 3


def test_a_deleted_movement_whose_answer_was_lost_deletes_its_own_record(
    deliver, knobs, card, sweep_later
):
    """Two identical movements, both answers lost, one deleted here before its retry: the
    delete finds its record by the reference and removes that one only."""
    first, second = lost_movements(deliver, knobs, card, 2, points=7)
    first = PointMovement.objects.get(pk=first.pk)
    with deliver():
        movement_delete(movement=first)
    sweep_later()

    second.refresh_from_db()
    assert second.sync_status == SyncStatus.SYNCED, second.sync_error
    left = AmmRecord.objects.filter(card__code=card.code)
    assert list(left.values_list("pk", flat=True)) == [int(second.remote_id)]
    assert second.reference in left.get().note


# --- checkproviders: does AMM give notes back? ----------------------------------------------
def amm_card_with_records(count: int) -> None:
    from sandbox.amm import seed_programs
    from sandbox.models import AmmProgram

    seed_programs()
    program = AmmProgram.objects.order_by("pk").first()
    remote = AmmCard.objects.create(
        program=program,
        code="CARD_PROBE1",
        msisdn="393470000001",
        activation_date=timezone.now(),
        points=3 * count,
    )
    for _ in range(count):
        AmmRecord.objects.create(
            card=remote, action="ADD", points=3, amount=15, date=timezone.now()
        )


def test_checkproviders_says_when_amms_records_come_without_their_note(knobs):
    amm_card_with_records(2)
    knobs("amm", answers="document")
    [report] = preflight_run("amm")
    records = report.probes[2]
    assert records.name == "record/list" and not records.passed and not report.passed
    assert [f.split(" (")[0] for f in records.fields] == ["fidelityCardRecordList[].note: missing"]
    for style in ("", "variant"):  # notes given back: nothing to say
        knobs("amm", answers=style)
        [report] = preflight_run("amm")
        assert report.passed, (style, report.summary())


def test_checkproviders_passes_when_the_card_has_no_record_to_show(knobs):
    amm_card_with_records(0)
    knobs("amm", answers="document")
    [report] = preflight_run("amm")
    assert report.passed, report.summary()
    assert RemoteCall.objects.filter(operation="record.list").count() == 1
