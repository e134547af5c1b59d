"""The sync core's guarantees, each proved through the VolantinoPiù shop flow and its sandbox."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from campaigns.models import Shop
from campaigns.services import shop_delete, shop_update
from core import outbox
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_claim, outbox_deliver, outbox_retry, outbox_sweep
from core.tasks import outbox_deliver_task
from tests.campaigns.factories import make_shop, shop_fields

pytestmark = pytest.mark.django_db


def later(seconds: float = 7200):
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture
def sweep_later(django_capture_on_commit_callbacks):
    """Jump ahead in time (past any backoff) and run the sweeper as beat would; each call
    lands later than the one before."""
    ahead = {"seconds": 0.0}

    def sweep(seconds: float = 7200) -> int:
        ahead["seconds"] += seconds
        with (
            time_machine.travel(later(ahead["seconds"]), tick=True),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return outbox_sweep()

    return sweep


def calls(operation: str | None = None) -> list[RemoteCall]:
    qs = RemoteCall.objects.order_by("id")
    return list(qs.filter(operation=operation) if operation else qs)


@pytest.fixture
def broker_down():
    """Publishing fails as it does when Redis is unreachable; `.restore()` brings it back."""

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    outage = pytest.MonkeyPatch()
    outage.setattr(outbox_deliver_task, "delay", refuse)
    outage.restore = outage.undo
    yield outage
    outage.undo()


def test_created_shop_reaches_the_provider_and_is_marked_synced(
    django_capture_on_commit_callbacks, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-MI-01", city="Milano")

    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED
    remote = sandbox_records("volantinopiu", "shop")
    assert [r["codice"] for r in remote] == ["PV-MI-01"]
    assert shop.remote_id == str(remote[0]["id"])
    assert remote[0]["citta"] == "Milano"
    assert OutboxEntry.objects.get().state == OutboxState.DONE


def test_a_rolled_back_transaction_sends_nothing(
    django_capture_on_commit_callbacks, sandbox_records
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_shop()
        raise RuntimeError("the view failed after saving")

    assert callbacks == []
    assert not Shop.objects.exists()
    assert not OutboxEntry.objects.exists()
    assert calls() == []
    assert sandbox_records("volantinopiu", "shop") == []


def test_a_creations_entry_names_its_record_and_is_written_after_it(broker_down):
    """The entry is made before the transaction opens (core.outbox._ReadyEntry) and given the
    record's id once it is saved: the same row as an entry made afterwards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        shop = make_shop(code="PV-RM-01", city="Roma")
    entry = OutboxEntry.objects.get()
    assert (entry.model_label, entry.object_id, entry.object_key, entry.object_repr) == (
        "campaigns.shop",
        str(shop.pk),
        shop.outbox_key,
        str(shop),
    )
    assert (entry.operation, entry.state, entry.provider, entry.payload) == (
        "create",
        OutboxState.PENDING,
        "volantinopiu",
        {},
    )
    assert entry.next_attempt_at <= timezone.now() and entry.enqueued_at is not None
    # On PostgreSQL a prepared statement is logged as QUERY = '…' - PARAMS = …
    tables = [m[1] for q in queries if (m := re.search(r'INSERT INTO "?(\w+)', q["sql"]))]
    assert tables.index("campaigns_shop") < tables.index("core_outboxentry")


def test_a_creation_whose_insert_fails_queues_nothing(broker_down, monkeypatch):
    """The entry made ready before the transaction is dropped with it."""
    from django.db import IntegrityError

    make_shop(code="PV-RM-02")
    monkeypatch.setattr(Shop, "full_clean", lambda self, *args, **kwargs: None)
    with pytest.raises(IntegrityError):
        make_shop(code="PV-RM-02")  # the database's unique constraint, at the INSERT
    assert OutboxEntry.objects.count() == 1
    assert Shop.objects.count() == 1


def test_a_save_while_the_broker_is_down_is_delivered_later_by_the_sweeper(
    django_capture_on_commit_callbacks, broker_down, sandbox_records, sweep_later
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    assert OutboxEntry.objects.get().state == OutboxState.PENDING
    assert sandbox_records("volantinopiu", "shop") == []

    broker_down.restore()  # the broker is back
    published = sweep_later(settings.OUTBOX["REENQUEUE_AFTER_SECONDS"] + 1)

    assert published == 1
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_the_sweeper_leaves_alone_an_entry_that_was_just_enqueued(
    django_capture_on_commit_callbacks, broker_down
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    assert outbox_sweep() == 0


def test_a_500_is_retried_with_backoff_and_ends_synced(
    django_capture_on_commit_callbacks, knobs, sandbox_records, sweep_later
):
    knobs("volantinopiu", forced_status=500, forced_remaining=2)
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()

    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.PENDING
    assert entry.attempts == 1
    assert entry.error_code == "HTTP_500"
    assert entry.next_attempt_at > timezone.now()
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.PENDING
    assert shop.sync_error.startswith("Tentativo 1 di")

    for _ in range(2):
        sweep_later()

    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED
    assert shop.sync_error == ""
    assert shop.sync_attempts == 3
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_retries_stop_after_the_limit_and_the_record_is_failed(
    django_capture_on_commit_callbacks, knobs, settings, sweep_later
):
    settings.OUTBOX = {**settings.OUTBOX, "MAX_ATTEMPTS": 3}
    knobs("volantinopiu", forced_status=503)
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    for _ in range(5):
        sweep_later()

    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.FAILED
    assert entry.attempts == 3
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.FAILED
    # the first attempt adds; later ones first look the shop up (its answer may have been lost)
    assert [c.operation for c in calls()] == ["addShop", "listShops", "listShops"]


def test_a_400_ends_failed_with_the_providers_message_and_no_retry(
    django_capture_on_commit_callbacks, sandbox_records, sweep_later
):
    # VolantinoPiù already has a shop with this code (made in its own console).
    from sandbox.models import SandboxObject

    SandboxObject.objects.create(
        provider="volantinopiu", kind="shop", data={"codice": "PV-DUP"}, natural_key="PV-DUP"
    )
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-DUP")

    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.FAILED
    assert "The codice has already been taken." in shop.sync_error
    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.FAILED
    assert entry.error_code == "VALIDATION"
    assert sweep_later() == 0
    assert len(calls("addShop")) == 1


def test_a_failed_entry_retried_by_hand_goes_out_again(
    django_capture_on_commit_callbacks, knobs, sandbox_records
):
    knobs("volantinopiu", forced_status=401)
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    assert OutboxEntry.objects.get().state == OutboxState.FAILED

    knobs("volantinopiu", forced_status=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_retry(entries=OutboxEntry.objects.all()) == 1

    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED


def test_a_delete_queued_before_its_create_was_delivered_makes_no_remote_call(
    django_capture_on_commit_callbacks, broker_down, sandbox_records, sweep_later
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    with django_capture_on_commit_callbacks(execute=True):
        shop_delete(shop=shop)

    broker_down.restore()
    sweep_later()
    assert calls() == []
    assert sandbox_records("volantinopiu", "shop") == []
    assert list(OutboxEntry.objects.values_list("operation", "state")) == [
        ("create", OutboxState.CANCELLED)
    ]


def test_a_delete_waits_for_the_create_in_flight_and_then_removes_it(
    django_capture_on_commit_callbacks, broker_down, sandbox_records, sweep_later
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    create = OutboxEntry.objects.get()
    assert outbox_claim(entry_id=create.pk) is not None  # a worker is sending it now
    with django_capture_on_commit_callbacks(execute=True):
        shop_delete(shop=shop)
    delete = OutboxEntry.objects.get(operation="delete")
    assert outbox_deliver(entry_id=delete.pk) == "skipped"  # may not overtake the create

    # The worker holding the create died; its lease runs out and the create is taken over.
    broker_down.restore()
    OutboxEntry.objects.filter(pk=create.pk).update(lease_until=timezone.now())
    sweep_later()

    assert OutboxEntry.objects.get(pk=delete.pk).state == OutboxState.DONE
    assert sandbox_records("volantinopiu", "shop") == []


def test_two_quick_edits_reach_the_provider_as_one_update_with_the_latest_data(
    django_capture_on_commit_callbacks, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(city="Milano")
    with django_capture_on_commit_callbacks(execute=True):
        shop_update(shop=shop, data={"city": "Monza"})
        shop_update(shop=shop, data={"city": "Bergamo", "province": "BG"})

    assert len(calls("updateShop")) == 1
    assert OutboxEntry.objects.filter(operation="update").count() == 1
    remote = sandbox_records("volantinopiu", "shop")[0]
    assert (remote["citta"], remote["provincia"]) == ("Bergamo", "BG")
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED


def test_an_edit_that_changes_nothing_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(city="Milano")
    shop_update(shop=shop, data={"city": "Milano"})
    assert OutboxEntry.objects.count() == 1


def test_a_delivery_task_run_twice_has_one_remote_effect(
    django_capture_on_commit_callbacks, broker_down, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    entry = OutboxEntry.objects.get()
    broker_down.restore()

    assert outbox_deliver_task(entry.pk) == "done"
    assert outbox_deliver_task(entry.pk) == "skipped"
    assert len(sandbox_records("volantinopiu", "shop")) == 1
    assert len(calls("addShop")) == 1


def test_an_entry_claimed_by_one_worker_cannot_be_claimed_by_another(broker_down):
    make_shop()
    entry = OutboxEntry.objects.get()
    assert outbox_claim(entry_id=entry.pk) is not None
    assert outbox_claim(entry_id=entry.pk) is None


def test_a_redelivered_create_whose_answer_was_lost_does_not_create_twice(
    django_capture_on_commit_callbacks, knobs, sandbox_records, sweep_later
):
    # The provider acts, then the answer is garbled: we cannot know the shop exists.
    knobs("volantinopiu", malformed_json=True)
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-LOST")
    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.PENDING and entry.outcome_unknown
    assert len(sandbox_records("volantinopiu", "shop")) == 1

    knobs("volantinopiu", malformed_json=False)
    sweep_later()

    remote = sandbox_records("volantinopiu", "shop")
    assert len(remote) == 1
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED
    assert shop.remote_id == str(remote[0]["id"])


def test_the_concurrency_limit_holds_back_an_entry_when_every_slot_is_taken(
    django_capture_on_commit_callbacks, broker_down, settings
):
    from core.limits import slot_acquire

    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "volantinopiu": 1}
    held = slot_acquire(provider="volantinopiu", lease_seconds=60)
    assert held is not None
    assert slot_acquire(provider="volantinopiu", lease_seconds=60) is None
    make_shop()
    entry = OutboxEntry.objects.get()
    broker_down.restore()

    assert outbox_deliver(entry_id=entry.pk) == "busy"
    entry.refresh_from_db()
    assert (entry.state, entry.attempts) == (OutboxState.PENDING, 0)
    assert calls() == []


def test_secrets_never_appear_in_the_call_log_or_the_outbox(
    django_capture_on_commit_callbacks, knobs, caplog, settings
):
    token = settings.VOLANTINOPIU_TOKEN
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    with django_capture_on_commit_callbacks(execute=True):
        shop_update(shop=shop, data={"city": "Como"})
    knobs("volantinopiu", forced_status=401)
    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    with django_capture_on_commit_callbacks(execute=True):
        shop_delete(shop=shop)

    logged = [
        " ".join(str(v) for v in row)
        for row in RemoteCall.objects.values_list(
            "provider", "operation", "method", "path", "error_code", "error"
        )
    ]
    logged += [str(row) for row in OutboxEntry.objects.values_list("payload", "last_error")]
    assert len(RemoteCall.objects.all()) == 4
    assert not [line for line in logged if token in line]
    assert token not in caplog.text
    assert "Bearer" not in caplog.text


def test_the_call_log_links_each_call_to_its_outbox_entry(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    call = RemoteCall.objects.get()
    assert call.outbox_entry == OutboxEntry.objects.get()
    assert (call.method, call.path, call.status_code, call.ok) == ("POST", "/addShop", 201, True)


def test_shop_fields_factory_is_valid():
    assert Shop(**shop_fields()).full_clean() is None


def test_an_edit_never_puts_back_an_entry_a_worker_claimed_meanwhile(
    broker_down, monkeypatch, django_capture_on_commit_callbacks, sandbox_records
):
    """An edit read the create as queued, but a worker claimed it before the edit wrote: the
    create stays with that worker (nobody sends it twice) and the edit queues behind it."""
    from core import outbox

    shop = make_shop(code="PV-RACE")  # queued: the broker is down
    create = OutboxEntry.objects.get()
    real_revive = outbox._revive

    def revive_after_a_worker_claimed(entry):
        assert outbox_claim(entry_id=entry.pk) is not None  # the worker wins the race
        return real_revive(entry)

    monkeypatch.setattr(outbox, "_revive", revive_after_a_worker_claimed)
    shop_update(shop=shop, data={"city": "Monza"})

    create.refresh_from_db()
    assert create.state == OutboxState.IN_FLIGHT and create.attempts == 1
    update = OutboxEntry.objects.exclude(pk=create.pk).get()
    assert update.operation == "update" and update.state == OutboxState.PENDING
    monkeypatch.setattr(outbox, "_revive", real_revive)
    assert outbox_deliver(entry_id=update.pk) == "skipped"  # behind the create in flight


def test_a_delivery_holds_its_slot_only_until_its_outcome_is_recorded(
    django_capture_on_commit_callbacks,
):
    from core.models import ProviderSlot

    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    assert not ProviderSlot.objects.exclude(holder="").exists()
    assert len(calls("addShop")) == 1


def test_calls_are_logged_and_the_slot_freed_even_if_the_outcome_cannot_be_recorded(
    broker_down, monkeypatch
):
    from core import outbox
    from core.models import ProviderSlot

    make_shop()
    entry = OutboxEntry.objects.get()

    def database_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(outbox, "_record_success", database_gone)
    with pytest.raises(RuntimeError):
        outbox_deliver(entry_id=entry.pk)
    # The entry stays in flight (its lease will expire and the sweeper takes it over), but
    # the call it made is on record and the provider's slot is free for others.
    assert [c.outbox_entry_id for c in calls("addShop")] == [entry.pk]
    assert not ProviderSlot.objects.exclude(holder="").exists()


def test_calls_are_logged_even_if_the_outcomes_transaction_fails_midway(broker_down, monkeypatch):
    """The call log is the outcome transaction's first write: rolled back with it, it is
    written again on its own (the calls were made)."""
    from core import outbox

    make_shop()
    entry = OutboxEntry.objects.get()

    def database_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(outbox._Followers, "of_all", database_gone)  # after the log and the entry
    with pytest.raises(RuntimeError):
        outbox_deliver(entry_id=entry.pk)
    assert [c.outbox_entry_id for c in calls("addShop")] == [entry.pk]
    assert OutboxEntry.objects.get().state == OutboxState.IN_FLIGHT  # the outcome rolled back


def test_a_claim_reads_then_claims_only_the_entry_as_it_was_read(broker_down, monkeypatch):
    """A claim is conditional on what it read: if a retry by hand resets the entry in
    between, the claim misses instead of claiming with stale attempt counts."""
    make_shop()
    entry = OutboxEntry.objects.get()
    real_load = outbox.row_load

    def read_then_someone_changes_it(model, pk):
        found = real_load(model, pk)
        OutboxEntry.objects.filter(pk=entry.pk).update(attempts=3)
        return found

    monkeypatch.setattr(outbox, "row_load", read_then_someone_changes_it)
    assert outbox_claim(entry_id=entry.pk) is None
    monkeypatch.undo()
    claimed = outbox_claim(entry_id=entry.pk)
    assert (claimed.state, claimed.attempts) == (OutboxState.IN_FLIGHT, 4)
