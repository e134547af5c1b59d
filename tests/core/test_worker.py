"""The outbox with a real Celery worker consuming from the configured broker (the filesystem
transport by default, Redis in CI), instead of inline tasks."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from campaigns.models import Shop
from config.celery import app
from core.models import OutboxEntry, OutboxState, SyncStatus
from core.outbox import outbox_sweep
from tests.campaigns.factories import make_shop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.1)


@pytest.fixture
def worker(settings):
    # Through Django's setting, the one Celery reads: a value set on app.conf under its own
    # name can be shadowed by it (Celery 5.6 did), and the tasks would run inline.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert not app.conf.task_always_eager
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")  # leftovers of an earlier run
    with start_worker(app, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
        yield


def test_a_shop_saved_is_delivered_by_the_worker(worker, sandbox_records):
    shop = make_shop(code="PV-WORKER")

    wait_for(lambda: Shop.objects.get(pk=shop.pk).sync_status == SyncStatus.SYNCED)
    assert [r["codice"] for r in sandbox_records("volantinopiu", "shop")] == ["PV-WORKER"]


def test_a_retry_scheduled_by_the_outbox_is_picked_up_by_the_sweeper(
    worker, knobs, sandbox_records, settings
):
    # A back-off (0.25–0.5 s) that outlasts the relay: its last look comes right after the
    # failure (no lingering after one), so the retry is left to the sweeper.
    settings.OUTBOX = {**settings.OUTBOX, "BACKOFF_BASE_SECONDS": 0.5}
    knobs("volantinopiu", forced_status=502, forced_remaining=1)
    shop = make_shop()
    wait_for(lambda: OutboxEntry.objects.get().attempts == 1)
    wait_for(lambda: OutboxEntry.objects.get().state == OutboxState.PENDING)
    entry = OutboxEntry.objects.get()
    assert entry.attempts == 1  # not taken again before its time

    time.sleep(max(0.0, (entry.next_attempt_at - timezone.now()).total_seconds()) + 0.05)
    assert outbox_sweep() == 1
    wait_for(lambda: Shop.objects.get(pk=shop.pk).sync_status == SyncStatus.SYNCED)
    assert len(sandbox_records("volantinopiu", "shop")) == 1


def test_a_burst_of_changes_is_delivered_once_each_by_a_few_relays(
    worker, sandbox_records, monkeypatch
):
    """30 shops committed together: the first commit publishes a relay, the others find it
    queued and publish nothing; the relay delivers every shop, each once."""
    from django.db import transaction

    from core.tasks import outbox_deliver_task

    published = []
    delay = outbox_deliver_task.delay

    def counted(*args):
        published.append(args)
        return delay(*args)

    monkeypatch.setattr(outbox_deliver_task, "delay", counted)
    with transaction.atomic():
        codes = [make_shop(code=f"PV-BURST-{n:02d}").code for n in range(30)]

    wait_for(lambda: Shop.objects.filter(sync_status=SyncStatus.SYNCED).count() == 30)
    assert sorted(r["codice"] for r in sandbox_records("volantinopiu", "shop")) == codes
    assert set(OutboxEntry.objects.values_list("state", flat=True)) == {OutboxState.DONE}
    # One message, a few at most if the worker started a relay between two commits' hooks.
    assert 1 <= len(published) <= 5
