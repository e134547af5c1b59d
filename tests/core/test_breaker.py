"""The circuit breaker per provider: it opens after N transient failures in a row, holds every
delivery back without spending an attempt, lets one trial call out after the cool-down, and
closes on its success, sending the backlog at once. Proved through the VolantinoPiù shop flow."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Shop
from core.breaker import CIRCUIT_OPEN, breaker_admit, breaker_close, breaker_status
from core.errors import ProviderRateLimited, ProviderRejected, ProviderUnavailable
from core.models import BreakerState, OutboxEntry, OutboxState, ProviderBreaker, SyncStatus
from core.outbox import outbox_deliver
from core.sync import Deferred
from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db

THRESHOLD = 3
COOLDOWN = 60


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.PROVIDER_BREAKER = {"FAILURE_THRESHOLD": THRESHOLD, "COOLDOWN_SECONDS": COOLDOWN}


def entries() -> list[OutboxEntry]:
    return list(OutboxEntry.objects.order_by("id"))


def breaker() -> ProviderBreaker:
    return ProviderBreaker.objects.get(provider="volantinopiu")


def shops_queued(count: int) -> list[Shop]:
    return [make_shop(code=f"PV-BRK-{i:02d}") for i in range(count)]


def test_a_dead_provider_opens_its_breaker_after_n_failures_and_later_entries_keep_their_attempts(
    broker_idle, knobs, sandbox_records, caplog
):
    knobs("volantinopiu", forced_status=503)
    shops_queued(6)

    with caplog.at_level(logging.WARNING, logger="vetrina.outbox"):
        outcomes = [outbox_deliver(entry_id=e.pk) for e in entries()]

    assert outcomes == ["retry"] * THRESHOLD + ["deferred"] * 3
    # The operator's log says so, once.
    assert [r.getMessage() for r in caplog.records if "breaker" in r.getMessage()] == [
        f"Circuit breaker of volantinopiu opened after {THRESHOLD} failures in a row"
    ]
    assert breaker().state == BreakerState.OPEN
    assert breaker().failures == THRESHOLD
    held_back = entries()[THRESHOLD:]
    assert [e.attempts for e in held_back] == [0, 0, 0]
    assert {e.error_code for e in held_back} == {CIRCUIT_OPEN}
    assert all(e.state == OutboxState.PENDING for e in held_back)
    assert all(e.next_attempt_at >= breaker().retry_at for e in held_back)
    # Nothing was sent for them: only the failing calls are in the call log.
    from core.models import RemoteCall

    assert RemoteCall.objects.filter(provider="volantinopiu").count() == THRESHOLD
    shop = Shop.objects.get(code="PV-BRK-05")
    assert shop.sync_status == SyncStatus.PENDING
    assert "VolantinoPiù" in shop.sync_error


def test_while_open_even_a_due_retry_waits_without_spending_an_attempt(broker_idle, knobs):
    knobs("volantinopiu", forced_status=503)
    shops_queued(THRESHOLD)
    for e in entries():
        outbox_deliver(entry_id=e.pk)
    first = entries()[0]
    OutboxEntry.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())

    assert outbox_deliver(entry_id=first.pk) == "deferred"
    first.refresh_from_db()
    assert first.attempts == 1


def test_after_the_cooldown_one_trial_call_closes_the_breaker_and_the_backlog_drains(
    broker_idle, knobs, deliver, sandbox_records, caplog
):
    knobs("volantinopiu", forced_status=503)
    shops_queued(8)
    for e in entries():
        outbox_deliver(entry_id=e.pk)
    assert breaker().state == BreakerState.OPEN
    knobs("volantinopiu", forced_status=None)

    with time_machine.travel(timezone.now() + timedelta(seconds=COOLDOWN + 1)):
        trial = entries()[THRESHOLD]  # a held-back entry comes due first
        with deliver(), caplog.at_level(logging.INFO, logger="vetrina.outbox"):
            assert outbox_deliver(entry_id=trial.pk) == "done"
        assert breaker().state == BreakerState.CLOSED
        assert "Circuit breaker of volantinopiu closed" in caplog.messages
        assert breaker().failures == 0
        # The backlog no longer waits for its deferral to end.
        waiting = [e for e in entries() if e.state == OutboxState.PENDING]
        assert waiting and all(e.next_attempt_at <= timezone.now() for e in waiting)
        assert not [e for e in waiting if e.error_code == CIRCUIT_OPEN]
        later = timezone.now() + timedelta(hours=2)  # past the failed ones' backoff too
    with time_machine.travel(later):
        for e in entries():
            outbox_deliver(entry_id=e.pk)

    assert {e.state for e in entries()} == {OutboxState.DONE}
    assert len(sandbox_records("volantinopiu", "shop")) == 8
    assert set(Shop.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}


def test_a_failed_trial_opens_the_breaker_for_another_cooldown(broker_idle, knobs, caplog):
    knobs("volantinopiu", forced_status=503)
    shops_queued(THRESHOLD + 1)
    for e in entries():
        outbox_deliver(entry_id=e.pk)
    trial_at = timezone.now() + timedelta(seconds=COOLDOWN + 1)

    with time_machine.travel(trial_at), caplog.at_level(logging.WARNING, logger="vetrina.outbox"):
        assert outbox_deliver(entry_id=entries()[-1].pk) == "retry"

    assert "Circuit breaker of volantinopiu stays open: the trial call failed" in caplog.messages

    assert breaker().state == BreakerState.OPEN
    assert breaker().retry_at >= trial_at + timedelta(seconds=COOLDOWN - 1)


def test_only_one_trial_call_goes_out_and_a_dead_trial_is_taken_over():
    ProviderBreaker.objects.create(
        provider="amm",
        state=BreakerState.OPEN,
        failures=THRESHOLD,
        retry_at=timezone.now() - timedelta(seconds=1),
    )

    trial = breaker_admit("amm")
    with pytest.raises(Deferred) as waiting:
        breaker_admit("amm")

    assert trial.trial_token
    assert waiting.value.code == CIRCUIT_OPEN
    ProviderBreaker.objects.filter(provider="amm").update(
        probe_until=timezone.now() - timedelta(seconds=1)
    )
    assert breaker_admit("amm").trial_token not in ("", trial.trial_token)


@pytest.mark.parametrize(
    "error",
    [ProviderRateLimited(provider="amm"), ProviderRejected(provider="amm"), None],
    ids=["429 is an answer", "a refusal is an answer", "a success"],
)
def test_only_transient_failures_count_and_any_answer_resets_the_count(error):
    from core.breaker import breaker_record

    for _ in range(THRESHOLD - 1):
        breaker_record(breaker_admit("amm"), ProviderUnavailable(provider="amm"), called=True)
    breaker_record(breaker_admit("amm"), error, called=True)
    breaker_record(breaker_admit("amm"), ProviderUnavailable(provider="amm"), called=True)

    row = ProviderBreaker.objects.get(provider="amm")
    assert (row.state, row.failures) == (BreakerState.CLOSED, 1)


def test_an_error_of_ours_does_not_count_against_the_provider():
    from core.breaker import breaker_record

    for _ in range(THRESHOLD + 2):
        breaker_record(breaker_admit("amm"), ProviderUnavailable(), called=True)  # no provider
    assert not ProviderBreaker.objects.filter(provider="amm").exists()


def test_marketing_closes_a_breaker_by_hand_and_the_held_back_entries_go(broker_idle, knobs):
    knobs("volantinopiu", forced_status=503)
    shops_queued(THRESHOLD + 2)
    for e in entries():
        outbox_deliver(entry_id=e.pk)
    knobs("volantinopiu", forced_status=None)

    assert breaker_close("volantinopiu")

    assert breaker_status("volantinopiu")["state"] == BreakerState.CLOSED
    held_back = entries()[THRESHOLD:]
    assert all(e.error_code == "" and e.next_attempt_at <= timezone.now() for e in held_back)
    assert [outbox_deliver(entry_id=e.pk) for e in held_back] == ["done", "done"]


def test_the_dashboard_shows_an_open_breaker_with_its_last_error(admin_client, knobs, broker_idle):
    from django.core.cache import cache

    knobs("volantinopiu", forced_status=503)
    shops_queued(THRESHOLD)
    for e in entries():
        outbox_deliver(entry_id=e.pk)
    cache.clear()

    page = admin_client.get("/admin/").content.decode()

    assert "breaker-open" in page
    assert str(BreakerState.OPEN.label) in page


def test_the_push_status_refresh_leaves_a_provider_alone_while_its_breaker_is_open(monkeypatch):
    from messaging import tasks

    refreshed = []
    monkeypatch.setattr(tasks, "push_status_refresh", lambda: refreshed.append(1) or 1)
    ProviderBreaker.objects.create(provider="smshosting", state=BreakerState.OPEN)

    assert tasks.push_status_refresh_task() == 0
    breaker_close("smshosting")
    assert tasks.push_status_refresh_task() == 1
    assert refreshed == [1]


def test_a_claim_reads_the_breaker_with_the_entry_and_the_delivery_trusts_only_a_closed_one(
    django_capture_on_commit_callbacks, broker_idle
):
    """The relay's claim returns the breaker's state and count; a delivery reads the breaker
    itself only when that says anything but closed (a trial to win, a wait to compute)."""
    from core.outbox import outbox_claim_next

    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-B-1")
    entry = outbox_claim_next(provider="volantinopiu")
    assert entry.breaker_seen == (None, None)  # no breaker row: never failed
    assert breaker_admit("volantinopiu", seen=entry.breaker_seen).failures == 0
    assert breaker_admit("volantinopiu", seen=(BreakerState.CLOSED, 2)).failures == 2

    ProviderBreaker.objects.create(
        provider="volantinopiu",
        state=BreakerState.OPEN,
        failures=THRESHOLD,
        retry_at=timezone.now() + timedelta(seconds=COOLDOWN),
    )
    with pytest.raises(Deferred):  # seen open: read again, and the breaker holds it back
        breaker_admit("volantinopiu", seen=(BreakerState.OPEN, THRESHOLD))
