"""The relay: one delivery task drains its provider's due entries, and a commit publishes a task
only when no relay of its provider is queued and not yet started (core/relay.py)."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError

from campaigns.models import Shop
from campaigns.services import shop_update
from core import outbox, relay
from core.limits import provider_concurrency, slot_acquire, slot_release
from core.models import (
    OutboxEntry,
    OutboxState,
    ProviderBreaker,
    ProviderSlot,
    RemoteCall,
    SyncStatus,
)
from core.outbox import outbox_claim_next, outbox_relay
from core.tasks import outbox_deliver_task
from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db

PROVIDER = "volantinopiu"


@pytest.fixture
def published(monkeypatch):
    """The messages publishing sends, none of them run: a broker no worker reads."""
    sent = []
    monkeypatch.setattr(outbox_deliver_task, "delay", lambda *args: sent.append(args))
    return sent


@pytest.fixture
def tasks_not_inline(settings):
    """Tasks published, not run inside the caller (a relay asks for help only then)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the setting Celery reads (see test_worker.py)
    assert not outbox_deliver_task.app.conf.task_always_eager


def test_a_request_is_granted_once_until_its_relay_starts():
    assert relay.relay_request(PROVIDER) is not None
    assert relay.relay_request(PROVIDER) is None  # queued, not started: it will claim it
    assert relay.relay_request("amm") is not None  # another provider has its own
    relay.relay_started(PROVIDER)
    assert relay.relay_request(PROVIDER) is not None


def test_a_request_older_than_its_freshness_counts_as_lost():
    assert relay.relay_request(PROVIDER) is not None
    later = timezone.now() + timedelta(seconds=relay.REQUEST_FRESH_SECONDS + 0.5)
    with time_machine.travel(later, tick=False):
        assert relay.relay_request(PROVIDER) is not None


def test_a_withdrawn_request_lets_the_next_commit_publish():
    requested_at = relay.relay_request(PROVIDER)
    relay.relay_request_withdraw(PROVIDER, requested_at)
    assert relay.relay_request(PROVIDER) is not None


def test_a_burst_of_commits_publishes_one_message_and_one_relay_delivers_it_all_in_order(
    django_capture_on_commit_callbacks, published, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        shops = [make_shop(code=f"PV-R-{n}") for n in range(5)]
    entries = list(OutboxEntry.objects.order_by("id"))

    assert published == [(entries[0].pk, PROVIDER)]
    assert outbox_relay(entry_id=entries[0].pk, provider=PROVIDER) == "done"

    assert [r["codice"] for r in sandbox_records(PROVIDER, "shop")] == [s.code for s in shops]
    assert {e.state for e in OutboxEntry.objects.all()} == {OutboxState.DONE}
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    # Once the relay started, the next commit publishes again.
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-LATE")
    assert len(published) == 2


def test_a_publish_the_broker_refused_is_taken_back(
    django_capture_on_commit_callbacks, monkeypatch
):
    tried = []

    def refuse(*args):
        tried.append(args)
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(outbox_deliver_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-2")
    assert len(tried) == 2  # the second commit tried again: no relay was queued


def test_a_relay_claims_an_edit_only_after_the_create_before_it_is_done(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-R-1")
    create = OutboxEntry.objects.get()
    assert outbox_claim_next(provider=PROVIDER).pk == create.pk  # now in flight
    with django_capture_on_commit_callbacks(execute=True):
        shop_update(shop=shop, data={"city": "Torino"})
    edit = OutboxEntry.objects.exclude(pk=create.pk).get()

    assert edit.state == OutboxState.PENDING
    assert outbox_claim_next(provider=PROVIDER) is None  # its create is still in flight


def test_a_relay_claims_only_its_providers_due_entries(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    entry = OutboxEntry.objects.get()
    OutboxEntry.objects.filter(pk=entry.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert outbox_claim_next(provider="amm") is None
    assert outbox_claim_next(provider=PROVIDER) is None  # not due yet

    OutboxEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
    claimed = outbox_claim_next(provider=PROVIDER)
    assert (claimed.pk, claimed.state, claimed.attempts) == (entry.pk, OutboxState.IN_FLIGHT, 1)
    assert claimed.slot_token  # the provider's slot comes with it, as with outbox_claim
    assert OutboxEntry.objects.get().claim_token == claimed.claim_token


def test_a_relay_stops_while_its_providers_breaker_is_open(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            make_shop(code=f"PV-R-{n}")
    open_breaker()

    assert outbox_relay(provider=PROVIDER) == "skipped"

    states = list(OutboxEntry.objects.order_by("id").values_list("state", "attempts"))
    # The first was deferred for the breaker without spending its attempt; the relay stopped
    # there instead of claiming and deferring the others one by one.
    assert states == [(OutboxState.PENDING, 0)] * 3
    assert OutboxEntry.objects.filter(error_code="CIRCUIT_OPEN").count() == 1


def test_a_relay_stops_when_every_slot_of_its_provider_is_taken(
    django_capture_on_commit_callbacks, published, settings
):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, PROVIDER: 1}
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            make_shop(code=f"PV-R-{n}")
    assert slot_acquire(provider=PROVIDER, lease_seconds=60)  # another relay holds the only one

    assert outbox_relay(provider=PROVIDER) == "skipped"
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING, attempts=0).count() == 3


def test_a_relay_hands_over_to_a_fresh_one_after_its_share(
    django_capture_on_commit_callbacks, published, monkeypatch
):
    monkeypatch.setattr(outbox, "RELAY_MAX_ENTRIES", 2)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            make_shop(code=f"PV-R-{n}")
    relay.relay_started(PROVIDER)  # the relay the burst published starts
    published.clear()

    outbox_relay(provider=PROVIDER)

    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 2
    assert published == [(None, PROVIDER)]  # the third goes to the next relay
    outbox_relay(provider=PROVIDER)
    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 3


def test_a_relay_for_an_entry_that_no_longer_exists_does_nothing():
    assert outbox_relay(entry_id=123456) == "skipped"


def test_a_relay_asks_for_one_more_relay_when_it_finds_work(
    django_capture_on_commit_callbacks, published, tasks_not_inline
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            make_shop(code=f"PV-R-{n}")
    first = OutboxEntry.objects.order_by("id").first()
    published.clear()
    outbox_relay(entry_id=first.pk, provider=PROVIDER)
    # One help request (the queue had more), not one per entry.
    assert published == [(None, PROVIDER)]
    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 3


def test_a_relay_asks_for_no_help_when_every_slot_is_taken(
    django_capture_on_commit_callbacks, published, tasks_not_inline
):
    """A helper could only wait for a slot: the relays holding them go on with the queue."""
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            make_shop(code=f"PV-R-{n}")
    first = OutboxEntry.objects.order_by("id").first()
    others = [
        slot_acquire(provider=PROVIDER, lease_seconds=60)
        for _ in range(provider_concurrency(PROVIDER) - 1)
    ]
    assert all(others)  # every slot but the one the relay takes is held by other relays
    published.clear()
    outbox_relay(entry_id=first.pk, provider=PROVIDER)
    assert published == []
    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 3


def test_the_sweeper_leaves_due_entries_to_a_queued_relay_but_takes_over_a_dead_workers(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
        make_shop(code="PV-R-2")
    first, second = OutboxEntry.objects.order_by("id")
    OutboxEntry.objects.filter(pk=first.pk).update(
        state=OutboxState.IN_FLIGHT, lease_until=timezone.now() - timedelta(seconds=1)
    )
    OutboxEntry.objects.update(enqueued_at=None)
    published.clear()

    with time_machine.travel(timezone.now() + timedelta(seconds=0.1), tick=False):
        assert outbox.outbox_sweep() == 2

    # The burst's relay is still queued: the due entry is left to it; the dead worker's entry
    # gets a task of its own.
    assert published == [(first.pk, "")]
    # The queued relay, when it starts, takes the due entry; the dead worker's it leaves to
    # that entry's own task.
    outbox_relay(provider=PROVIDER)
    states = dict(OutboxEntry.objects.values_list("pk", "state"))
    assert states == {first.pk: OutboxState.IN_FLIGHT, second.pk: OutboxState.DONE}


def test_a_relay_keeps_its_slot_from_one_delivery_to_the_next_and_frees_it_at_the_end(
    django_capture_on_commit_callbacks, published, monkeypatch
):
    from core.models import ProviderSlot

    taken = []
    real_acquire = outbox.slot_acquire

    def counted(**kwargs):
        taken.append(kwargs["provider"])
        return real_acquire(**kwargs)

    monkeypatch.setattr(outbox, "slot_acquire", counted)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            make_shop(code=f"PV-R-{n}")

    outbox_relay(provider=PROVIDER)

    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 4
    # Taken once and passed on with each next entry; the look for more after the last one
    # claims with the slot the relay kept, finds nothing and gives it back.
    assert taken == [PROVIDER]
    assert not ProviderSlot.objects.exclude(holder="").exists()


@pytest.fixture
def looks(monkeypatch):
    """The lingering relay's looks for a due entry, by provider; `looks.before_first` runs
    before the first look (a commit arriving while the relay waits)."""

    class Looks(list):
        before_first = None

    seen = Looks()
    real_looks_due = outbox._looks_due

    def counted(provider):
        if not seen and seen.before_first:
            seen.before_first()
        seen.append(provider)
        return real_looks_due(provider)

    monkeypatch.setattr(outbox, "_looks_due", counted)
    return seen


def test_a_relay_that_emptied_its_queue_delivers_an_entry_committed_while_it_lingers(
    django_capture_on_commit_callbacks, published, tasks_not_inline, looks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    looks.before_first = lambda: make_shop(code="PV-R-2")

    outbox_relay(provider=PROVIDER)

    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 2
    assert set(looks) == {PROVIDER}


def test_a_lingering_relay_holds_its_slot_and_claims_with_it(
    django_capture_on_commit_callbacks, published, tasks_not_inline, looks, monkeypatch
):
    """The entry committed while the relay lingers is claimed without taking a slot again, and
    the slot is given back once the relay stops."""
    from core.models import ProviderSlot

    taken = []
    real_acquire = outbox.slot_acquire
    monkeypatch.setattr(outbox, "slot_acquire", lambda **kw: taken.append(1) or real_acquire(**kw))
    held_while_lingering = []

    def commit_while_lingering():
        held_while_lingering.append(ProviderSlot.objects.exclude(holder="").count())
        make_shop(code="PV-R-2")

    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    looks.before_first = commit_while_lingering

    outbox_relay(provider=PROVIDER)

    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 2
    assert held_while_lingering == [1]
    assert len(taken) == 1
    assert not ProviderSlot.objects.exclude(holder="").exists()


def test_a_lingering_relay_stops_when_nothing_falls_due(
    django_capture_on_commit_callbacks, published, tasks_not_inline, looks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    started = time.monotonic()

    outbox_relay(provider=PROVIDER)

    assert time.monotonic() - started >= outbox.RELAY_LINGER_SECONDS
    # Pauses of 1, 2, 4, 8 and then 16 ms: at most seven looks in 50 ms, each a read.
    assert 1 <= len(looks) <= 7
    assert OutboxEntry.objects.get().state == OutboxState.DONE
    from core.models import ProviderSlot

    assert not ProviderSlot.objects.exclude(holder="").exists()  # the kept slot given back


def test_a_relay_that_found_nothing_does_not_linger(published, tasks_not_inline, looks):
    assert outbox_relay(provider=PROVIDER) == "skipped"
    assert looks == []


@pytest.mark.parametrize("why", ["inline", "its last delivery failed"])
def test_a_relay_does_not_linger(
    why, request, django_capture_on_commit_callbacks, published, looks, knobs
):
    """Inline, the caller would wait; after a failure, the retry waits for its back-off and the
    relay does not wait beside it."""
    expected = OutboxState.DONE
    if why != "inline":
        request.getfixturevalue("tasks_not_inline")
        knobs(PROVIDER, forced_status=502, forced_remaining=1)
        expected = OutboxState.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")
    outbox_relay(provider=PROVIDER)
    assert OutboxEntry.objects.get().state == expected
    assert looks == []


@pytest.fixture
def every_slot_held():
    """Every slot of the provider held by other relays: their tokens."""
    return [
        slot_acquire(provider=PROVIDER, lease_seconds=60)
        for _ in range(provider_concurrency(PROVIDER))
    ]


def test_a_relay_claims_nothing_while_every_slot_is_taken_and_the_holder_goes_on(
    django_capture_on_commit_callbacks, published, tasks_not_inline, every_slot_held
):
    """A relay started while the slots are held leaves the entries to the holders; the holder,
    once it gives its slot back, claims them."""
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            make_shop(code=f"PV-R-{n}")

    first = OutboxEntry.objects.order_by("id").first()
    assert outbox_relay(provider=PROVIDER) == "skipped"
    assert outbox_relay(entry_id=first.pk, provider=PROVIDER) == "skipped"  # its own entry too
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING, attempts=0).count() == 2

    for token in every_slot_held:
        slot_release(token=token)  # the holders give their slots back and claim on
    outbox_relay(provider=PROVIDER)
    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 2


def test_a_relay_that_finds_every_slot_taken_leaves_its_request_set_for_the_holders(
    django_capture_on_commit_callbacks, published, monkeypatch, every_slot_held
):
    """Its commits would only publish more relays finding the slots taken: the request stays
    set, and a relay that delivered clears it before it stops, then looks once more."""
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-R-1")  # its commit set the request
    assert outbox_relay(provider=PROVIDER) == "skipped"
    assert relay.relay_request(PROVIDER) is None  # still set: a commit publishes nothing

    for token in every_slot_held:
        slot_release(token=token)
    cleared = []
    monkeypatch.setattr(outbox, "relay_started", lambda provider: cleared.append(provider))
    outbox_relay(provider=PROVIDER)
    # As it starts, and before its last look for more.
    assert cleared == [PROVIDER, PROVIDER]
    assert OutboxEntry.objects.get().state == OutboxState.DONE


def open_breaker() -> None:
    """The provider's breaker open, its trial a minute away."""
    ProviderBreaker.objects.create(
        provider=PROVIDER,
        state="open",
        failures=5,
        since=timezone.now(),
        retry_at=timezone.now() + timedelta(minutes=1),
    )


# --- batches --------------------------------------------------------------------------------
@pytest.fixture
def claims(monkeypatch):
    """The relay's claim statements, by how many entries each took."""
    taken = []
    real = outbox._claim_next_raw

    def counted(provider, now, limit=1):
        rows = real(provider, now, limit)
        taken.append(len(rows))
        return rows

    monkeypatch.setattr(outbox, "_claim_next_raw", counted)
    return taken


@pytest.fixture
def queued_shops(django_capture_on_commit_callbacks, published):
    """`queued_shops(n)`: n shops created, their entries waiting for a relay, none started."""

    def make(count: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(count):
                make_shop(code=f"PV-B-{n}")
        relay.relay_started(PROVIDER)

    return make


@pytest.fixture
def fails_for(monkeypatch):
    """`fails_for(code, then=…)`: the shop's create answers 503 (after `then()`, if given)."""
    from core.errors import ProviderUnavailable
    from core.sync import sync_handler_for

    handler = sync_handler_for("campaigns.shop")
    real_create = handler.create

    def failing(code: str, then=None) -> None:
        def create(obj):
            if obj.code == code:
                if then is not None:
                    then()
                raise ProviderUnavailable("down", provider=PROVIDER, code="HTTP_503")
            return real_create(obj)

        monkeypatch.setattr(handler, "create", create)

    return failing


def test_a_relay_claims_a_queue_in_batches_and_records_each_batch_in_one_transaction(
    django_capture_on_commit_callbacks, published, monkeypatch, claims, outcome_transactions,
    sandbox_records,
):  # fmt: skip
    monkeypatch.setattr(outbox, "RELAY_BATCH_ENTRIES", 4)
    with django_capture_on_commit_callbacks(execute=True):
        shops = [make_shop(code=f"PV-B-{n}") for n in range(6)]
    relay.relay_started(PROVIDER)

    outbox_relay(provider=PROVIDER)

    # Four claimed by one statement, then the last two with the first batch's outcomes; the
    # second batch's outcomes claim nothing, and neither does the relay's last look.
    assert claims == [4, 2, 0, 0]
    assert outcome_transactions == [4, 2]
    assert [r["codice"] for r in sandbox_records(PROVIDER, "shop")] == [s.code for s in shops]
    assert set(OutboxEntry.objects.values_list("state", "attempts")) == {(OutboxState.DONE, 1)}
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}


def test_a_batchs_outcome_is_one_statement_of_each_kind_not_one_a_delivery(
    queued_shops, monkeypatch
):
    """The calls' log, the entries' outcome, the followers' read and the records: one call
    into the database driver each for the whole batch (one round trip each on PostgreSQL)."""
    from django.db import connection

    monkeypatch.setattr(outbox, "RELAY_BATCH_ENTRIES", 4)
    queued_shops(4)
    statements = []

    def recording(execute, sql, params, many, context):
        statements.append((" ".join(sql.split()[:3]), many))
        return execute(sql, params, many, context)

    real = outbox._write_successes

    def outcome(successes):
        with connection.execute_wrapper(recording):
            return real(successes)

    monkeypatch.setattr(outbox, "_write_successes", outcome)
    outbox_relay(provider=PROVIDER)

    assert sorted(statements) == sorted(
        [
            ('INSERT INTO "core_remotecall"', True),
            ('UPDATE "core_outboxentry" SET', True),
            ("SELECT id, object_key,", False),
            ('UPDATE "campaigns_shop" SET', True),
        ]
    )
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert RemoteCall.objects.filter(operation="addShop").count() == 4


def test_an_entry_of_a_batch_taken_over_meanwhile_is_not_recorded_the_others_are(
    queued_shops, monkeypatch
):
    """A worker whose lease ran out on one entry of its batch (another took it over) records
    the rest of the batch, and nothing of that one."""
    from core.sync import sync_handler_for

    queued_shops(3)
    handler = sync_handler_for("campaigns.shop")
    real_create = handler.create

    def create(obj):
        if obj.code == "PV-B-2":  # while the last is delivered, another worker takes the first
            first = OutboxEntry.objects.get(object_id=str(Shop.objects.get(code="PV-B-0").pk))
            OutboxEntry.objects.filter(pk=first.pk).update(claim_token="another-worker")
        return real_create(obj)

    monkeypatch.setattr(handler, "create", create)
    outbox_relay(provider=PROVIDER)

    by_code = {
        shop.code: (shop.sync_status, OutboxEntry.objects.get(object_id=str(shop.pk)).state)
        for shop in Shop.objects.all()
    }
    assert by_code == {
        "PV-B-0": (SyncStatus.PENDING, OutboxState.IN_FLIGHT),  # the other worker's to record
        "PV-B-1": (SyncStatus.SYNCED, OutboxState.DONE),
        "PV-B-2": (SyncStatus.SYNCED, OutboxState.DONE),
    }
    assert RemoteCall.objects.filter(operation="addShop").count() == 3  # every call logged


def test_a_batch_sends_each_records_next_entry_after_it(
    django_capture_on_commit_callbacks, published, outcome_transactions, sandbox_records
):
    """The followers of a whole batch, read at once: a record's edit queued behind its create
    goes after it, and the record stays pending until then."""
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-B-1")
        make_shop(code="PV-B-2")
    create = OutboxEntry.objects.order_by("id").first()
    assert outbox.outbox_claim(entry_id=create.pk) is not None  # in flight: an edit queues behind
    with django_capture_on_commit_callbacks(execute=True):
        shop_update(shop=shop, data={"city": "Torino"})
    OutboxEntry.objects.filter(pk=create.pk).update(state=OutboxState.PENDING, attempts=0)
    relay.relay_started(PROVIDER)

    outbox_relay(provider=PROVIDER)

    assert outcome_transactions == [2, 1]  # both creates, then the edit they let through
    assert {r["codice"]: r["citta"] for r in sandbox_records(PROVIDER, "shop")} == {
        "PV-B-1": "Torino",
        "PV-B-2": "Milano",
    }
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert set(OutboxEntry.objects.values_list("state", flat=True)) == {OutboxState.DONE}


def test_a_lone_change_is_a_batch_of_one_and_goes_out_at_once(
    django_capture_on_commit_callbacks, published, claims, outcome_transactions
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-B-1")
    entry = OutboxEntry.objects.get()

    assert outbox_relay(entry_id=entry.pk, provider=PROVIDER) == "done"
    assert outcome_transactions == [1]
    assert Shop.objects.get().sync_status == SyncStatus.SYNCED


def test_a_batch_never_holds_two_entries_of_one_record(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(code="PV-B-1")
        make_shop(code="PV-B-2")
    create, other = OutboxEntry.objects.order_by("id")
    assert outbox.outbox_claim(entry_id=create.pk) is not None  # in flight: an edit queues behind
    with django_capture_on_commit_callbacks(execute=True):
        shop_update(shop=shop, data={"city": "Torino"})
    edit = OutboxEntry.objects.exclude(pk__in=[create.pk, other.pk]).get()
    OutboxEntry.objects.filter(pk=create.pk).update(state=OutboxState.PENDING)  # a retry

    batch = outbox._claim_next_rows(PROVIDER, timezone.now(), 8)

    assert [e.pk for e in batch] == [create.pk, other.pk]  # the edit waits for its create
    assert OutboxEntry.objects.get(pk=edit.pk).state == OutboxState.PENDING


def test_a_failure_in_a_batch_leaves_the_others_going_and_their_outcomes_recorded(
    queued_shops, fails_for
):
    fails_for("PV-B-1")
    queued_shops(4)

    outbox_relay(provider=PROVIDER)

    states = dict(Shop.objects.values_list("code", "sync_status"))
    assert states == {
        "PV-B-0": SyncStatus.SYNCED,
        "PV-B-1": SyncStatus.PENDING,  # its retry is scheduled
        "PV-B-2": SyncStatus.SYNCED,
        "PV-B-3": SyncStatus.SYNCED,
    }
    assert not ProviderSlot.objects.exclude(holder="").exists()


def test_a_relay_stopped_mid_batch_records_what_it_delivered_and_gives_the_rest_back(
    queued_shops, fails_for
):
    """The provider's breaker opens during the batch: the delivery after it reads the breaker
    again (the state seen with the claim is stale), waits for the trial, and the relay stops;
    the entries it had not reached go back to the queue with their attempt not counted."""
    fails_for("PV-B-1", then=open_breaker)
    queued_shops(5)

    outbox_relay(provider=PROVIDER)

    entries = {
        code: (state, attempts, lease)
        for code, state, attempts, lease in OutboxEntry.objects.values_list(
            "object_repr", "state", "attempts", "lease_until"
        )
    }
    by_code = {code.split(" ")[0]: value for code, value in entries.items()}
    assert by_code["PV-B-0"] == (OutboxState.DONE, 1, None)  # recorded as the relay stopped
    assert by_code["PV-B-1"][:2] == (OutboxState.PENDING, 1)  # its retry
    assert by_code["PV-B-2"][:2] == (OutboxState.PENDING, 0)  # deferred for the breaker
    assert by_code["PV-B-3"] == (OutboxState.PENDING, 0, None)  # given back
    assert by_code["PV-B-4"] == (OutboxState.PENDING, 0, None)
    assert Shop.objects.get(code="PV-B-0").sync_status == SyncStatus.SYNCED
    assert not ProviderSlot.objects.exclude(holder="").exists()


def test_a_batch_whose_outcomes_cannot_be_recorded_still_logs_every_call_and_frees_the_slot(
    queued_shops, monkeypatch
):
    queued_shops(3)

    def database_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(outbox._Followers, "of_all", database_gone)  # after the log and the entry
    with pytest.raises(RuntimeError):
        outbox_relay(provider=PROVIDER)

    assert RemoteCall.objects.filter(operation="addShop").count() == 3
    # In flight until their lease ends: the sweeper takes them over, as after a worker's death.
    assert set(OutboxEntry.objects.values_list("state", flat=True)) == {OutboxState.IN_FLIGHT}
    assert not ProviderSlot.objects.exclude(holder="").exists()


def test_a_batch_past_its_time_records_what_went_through_and_claims_the_rest_again(
    queued_shops, monkeypatch, outcome_transactions
):
    """A slow provider: each batch's deliveries must start within RELAY_BATCH_SECONDS of its
    claim (here none may: every batch delivers its first entry alone), so no outcome waits
    long and no delivery of a batch outlives the lease its claim took."""
    monkeypatch.setattr(outbox, "RELAY_BATCH_SECONDS", 0)
    queued_shops(3)

    outbox_relay(provider=PROVIDER)

    # Each entry claimed more than once, its attempt counted once: given back uncounted.
    assert set(OutboxEntry.objects.values_list("state", "attempts")) == {(OutboxState.DONE, 1)}
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert outcome_transactions == [1, 1, 1]
    assert not ProviderSlot.objects.exclude(holder="").exists()


def relay_reading_shops() -> list[str]:
    """Run a relay; the statements it read shops with."""
    from django.db import connection

    reads = []

    def recording(execute, sql, params, many, context):
        if sql.startswith("SELECT") and 'FROM "campaigns_shop"' in sql:
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(recording):
        outbox_relay(provider=PROVIDER)
    return reads


def test_a_batch_reads_its_records_with_its_claim_not_one_a_delivery(queued_shops, monkeypatch):
    monkeypatch.setattr(outbox, "RELAY_BATCH_ENTRIES", 4)
    queued_shops(4)
    reads = relay_reading_shops()

    assert len(reads) == 1 and " IN (%s, %s, %s, %s)" in reads[0]
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}


def test_an_edit_saved_after_its_batchs_claim_goes_out_with_its_own_entry_next(
    queued_shops, monkeypatch, sandbox_records, django_capture_on_commit_callbacks
):
    from core.sync import sync_handler_for

    monkeypatch.setattr(outbox, "RELAY_BATCH_ENTRIES", 2)
    queued_shops(2)
    second = Shop.objects.get(code="PV-B-1")
    handler = sync_handler_for("campaigns.shop")
    real_create = handler.create

    def create(obj):
        if obj.code == "PV-B-0":  # the batch is claimed and read: the second shop is edited
            with django_capture_on_commit_callbacks(execute=True):
                shop_update(shop=Shop.objects.get(pk=second.pk), data={"city": "Torino"})
        return real_create(obj)

    monkeypatch.setattr(handler, "create", create)
    outbox_relay(provider=PROVIDER)

    # Its create sent the shop as read with the claim, its update (claimed after) the edit.
    entries = OutboxEntry.objects.filter(object_id=str(second.pk)).order_by("pk")
    assert [(e.operation, e.state) for e in entries] == [
        ("create", OutboxState.DONE),
        ("update", OutboxState.DONE),
    ]
    assert [r["citta"] for r in sandbox_records(PROVIDER, "shop")] == ["Milano", "Torino"]
    second.refresh_from_db()
    assert (second.city, second.sync_status) == ("Torino", SyncStatus.SYNCED)


def test_only_handlers_that_say_it_is_harmless_read_their_records_with_the_claim():
    from core.sync import _handlers

    reading = [h for h in _handlers.values() if h.read_with_claim]
    assert [h.model._meta.label_lower for h in reading] == ["campaigns.shop"]
    for handler in reading:  # what makes sending a record deleted meanwhile harmless
        assert handler.remote_delete and not handler.prepares
        assert not outbox._has_hook(handler, "after_success")


def test_a_batch_whose_records_cannot_be_read_with_its_claim_reads_each_before_its_call(
    queued_shops, monkeypatch, caplog
):
    from django.db import DatabaseError

    def broken(model, pks):
        raise DatabaseError("the connection went away")

    monkeypatch.setattr(outbox, "RELAY_BATCH_ENTRIES", 4)
    monkeypatch.setattr(outbox, "rows_load", broken)
    queued_shops(4)
    reads = relay_reading_shops()

    assert len(reads) == 4  # one before each call, as a lone entry's
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert "could not be read with its claim" in caplog.text
