"""Every final write of a delivery is conditional on its claim, and a cancel wins or loses
whole: two workers and a cancel, the cancel placed at each step of a delivery in turn."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.models import OutboxEntry, OutboxState, SyncStatus
from core.outbox import outbox_cancel, outbox_claim, outbox_deliver
from core.sync import sync_handler_for
from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_shop(broker_idle):
    shop = make_shop(code="PV-RACE")
    return shop, OutboxEntry.objects.get()


def cancel_all() -> int:
    return outbox_cancel(entries=OutboxEntry.objects.all())


def shop_state(shop):
    shop.refresh_from_db()
    return shop.sync_status


def test_a_cancel_before_any_worker_wins_and_nothing_is_sent(queued_shop, sandbox_records):
    shop, entry = queued_shop

    assert cancel_all() == 1
    assert outbox_deliver(entry_id=entry.pk) == "skipped"  # first worker
    assert outbox_deliver(entry_id=entry.pk) == "skipped"  # second worker

    entry.refresh_from_db()
    assert entry.state == OutboxState.CANCELLED
    assert shop_state(shop) == SyncStatus.FAILED
    assert sandbox_records("volantinopiu", "shop") == []


def test_a_cancel_that_read_the_entry_just_before_a_worker_claimed_it_loses_whole(
    queued_shop, monkeypatch, sandbox_records
):
    """The cancel read the entry as pending; a worker claimed it before the cancel's write: the
    write changes nothing, the worker delivers, the record ends synced — never cancelled and
    delivered at once."""
    shop, entry = queued_shop
    real_atomic = transaction.atomic
    claimed = []

    @contextmanager
    def claim_first(*args, **kwargs):
        if not claimed:
            claimed.append(outbox_claim(entry_id=entry.pk))
        with real_atomic(*args, **kwargs):
            yield

    monkeypatch.setattr(outbox.transaction, "atomic", claim_first)
    assert cancel_all() == 0
    monkeypatch.setattr(outbox.transaction, "atomic", real_atomic)

    entry.refresh_from_db()
    assert entry.state == OutboxState.IN_FLIGHT
    assert shop_state(shop) == SyncStatus.PENDING  # the cancel did not touch the record


@pytest.mark.parametrize("step", ["during the call", "after the call, before the outcome"])
def test_a_cancel_while_a_worker_delivers_loses_and_the_delivery_ends_done(
    queued_shop, monkeypatch, sandbox_records, step
):
    shop, entry = queued_shop
    handler = sync_handler_for("campaigns.shop")
    cancels = []
    if step == "during the call":
        real_create = handler.create

        def create_and_cancel(obj):
            cancels.append(cancel_all())
            cancels.append(outbox_deliver(entry_id=entry.pk))  # the second worker
            return real_create(obj)

        monkeypatch.setattr(handler, "create", create_and_cancel)
    else:
        real_record = outbox._record_success

        def cancel_then_record(claimed, state, calls, **options):
            cancels.append(cancel_all())
            cancels.append(outbox_deliver(entry_id=entry.pk))
            return real_record(claimed, state, calls, **options)

        monkeypatch.setattr(outbox, "_record_success", cancel_then_record)

    assert outbox_deliver(entry_id=entry.pk) == "done"

    assert cancels == [0, "skipped"]
    entry.refresh_from_db()
    assert entry.state == OutboxState.DONE
    assert shop_state(shop) == SyncStatus.SYNCED
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_a_cancel_after_a_failed_attempt_wins_and_a_late_retry_sends_nothing(
    queued_shop, knobs, sandbox_records
):
    shop, entry = queued_shop
    knobs("volantinopiu", forced_status=503)
    assert outbox_deliver(entry_id=entry.pk) == "retry"
    knobs("volantinopiu", forced_status=None)

    assert cancel_all() == 1
    OutboxEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(entry_id=entry.pk) == "skipped"

    entry.refresh_from_db()
    assert entry.state == OutboxState.CANCELLED
    assert shop_state(shop) == SyncStatus.FAILED
    assert sandbox_records("volantinopiu", "shop") == []


def _expire_lease(entry: OutboxEntry) -> None:
    OutboxEntry.objects.filter(pk=entry.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.parametrize("late_outcome", ["success", "failure"])
def test_a_worker_whose_lease_ran_out_records_nothing_over_the_worker_that_took_over(
    queued_shop, monkeypatch, knobs, sandbox_records, late_outcome
):
    """Worker A claims and is slow; its lease runs out; worker B takes the entry over and
    finishes it. A's late outcome — a success or a failure — writes nothing: not the entry, not
    the record, and no after_failure."""
    shop, entry = queued_shop
    handler = sync_handler_for("campaigns.shop")
    real_create = handler.create
    seen = []

    def slow_create(obj):
        if not seen:  # worker A, in its call: its lease runs out, worker B takes over
            seen.append("A")
            _expire_lease(entry)
            seen.append(outbox_deliver(entry_id=entry.pk))
            if late_outcome == "failure":
                from core.errors import ProviderRejected

                raise ProviderRejected("late refusal", provider="volantinopiu")
        return real_create(obj)

    monkeypatch.setattr(handler, "create", slow_create)
    failures = []
    monkeypatch.setattr(
        handler, "after_failure", lambda **kwargs: failures.append(kwargs), raising=False
    )

    assert outbox_deliver(entry_id=entry.pk) == "skipped"

    assert seen == ["A", "done"]
    entry.refresh_from_db()
    assert (entry.state, entry.last_error) == (OutboxState.DONE, "")
    assert shop_state(shop) == SyncStatus.SYNCED
    assert failures == []
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_a_release_for_a_busy_slot_by_a_worker_that_lost_its_claim_changes_nothing(queued_shop):
    _shop, entry = queued_shop
    claimed = outbox_claim(entry_id=entry.pk)
    _expire_lease(entry)
    taken_over = outbox_claim(entry_id=entry.pk)
    assert taken_over is not None

    outbox._release_busy(claimed)  # the first worker, late: it found every slot taken

    entry.refresh_from_db()
    assert (entry.state, entry.claim_token) == (OutboxState.IN_FLIGHT, taken_over.claim_token)
    assert entry.attempts == taken_over.attempts


# --- where "not sent" could not be kept, a cancel loses ------------------------------------
def test_a_cancel_of_an_entry_whose_answer_was_lost_loses_since_it_may_be_there(
    queued_shop, knobs, sandbox_records
):
    """Its provider may have acted: "cancelled, not sent" would be false. The lookup (or a
    person) settles it; the cancel changes nothing."""
    shop, entry = queued_shop
    knobs("volantinopiu", malformed_json=True)  # acts, then garbles its answer
    assert outbox_deliver(entry_id=entry.pk) == "retry"
    knobs("volantinopiu", malformed_json=False)

    assert cancel_all() == 0

    OutboxEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(entry_id=entry.pk) == "done"  # found by the lookup, not sent again
    assert shop_state(shop) == SyncStatus.SYNCED
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_a_cancel_of_an_edit_behind_an_open_entry_of_the_same_record_loses(
    broker_idle, sandbox_records
):
    """The earlier entry sends the record's current fields, this edit's included: cancelling
    the edit could not keep it from the provider, so it changes nothing."""
    from campaigns.services import shop_update

    shop = make_shop(code="PV-EDIT")
    first = OutboxEntry.objects.get()
    outbox_claim(entry_id=first.pk)  # a worker has it
    shop_update(shop=shop, data={"description": "B"})
    edit = OutboxEntry.objects.exclude(pk=first.pk).get()

    assert outbox_cancel(entries=OutboxEntry.objects.filter(pk=edit.pk)) == 0
    edit.refresh_from_db()
    assert edit.state == OutboxState.PENDING


def test_entries_waiting_for_a_record_whose_create_was_cancelled_fail_at_once_with_the_reason(
    broker_idle, deliver, sandbox_records
):
    from datetime import timedelta as td

    from campaigns.models import Campaign
    from campaigns.services import campaign_create
    from tests.campaigns.factories import campaign_fields

    shop = make_shop(code="PV-NEVER")
    campaign = campaign_create(**campaign_fields(shop))
    waiting = OutboxEntry.objects.get(model_label="campaigns.campaign")
    assert outbox_deliver(entry_id=waiting.pk) == "waiting"

    with deliver():
        assert outbox_cancel(entries=OutboxEntry.objects.filter(model_label="campaigns.shop")) == 1
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= timezone.now() + td(seconds=1)  # looked at again now
    assert outbox_deliver(entry_id=waiting.pk) == "failed"

    waiting.refresh_from_db()
    assert (waiting.state, waiting.error_code) == (OutboxState.FAILED, "PREREQUISITE_NOT_SENT")
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.sync_status == SyncStatus.FAILED and "PV-NEVER" in campaign.sync_error
    assert sandbox_records("volantinopiu", "campaign") == []
