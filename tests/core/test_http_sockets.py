"""Failures only real sockets show: a provider that answers too late, one that is not there."""

import time

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Shop
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_sweep
from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def over_http(live_server, settings):
    settings.VOLANTINOPIU_BASE_URL = f"{live_server.url}/sandbox/volantinopiu/api/v2"
    settings.PROVIDER_READ_TIMEOUT = 0.5
    return live_server


def test_a_timeout_after_the_provider_acted_is_resolved_without_a_duplicate(
    over_http, knobs, sandbox_records
):
    knobs("volantinopiu", latency_after_ms=1500)
    shop = make_shop(code="PV-SLOW")

    entry = OutboxEntry.objects.get()
    assert (entry.state, entry.error_code, entry.outcome_unknown) == (
        OutboxState.PENDING,
        "TIMEOUT",
        True,
    )
    time.sleep(1.2)  # the sandbox finishes its late answer
    assert len(sandbox_records("volantinopiu", "shop")) == 1

    knobs("volantinopiu", latency_after_ms=0)
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2), tick=True):
        outbox_sweep()

    shop = Shop.objects.get(pk=shop.pk)
    assert shop.sync_status == SyncStatus.SYNCED
    remote = sandbox_records("volantinopiu", "shop")
    assert len(remote) == 1 and shop.remote_id == str(remote[0]["id"])


def test_a_refused_connection_is_retried_and_known_not_to_have_reached_the_provider(settings):
    settings.VOLANTINOPIU_BASE_URL = "http://127.0.0.1:9/api/v2"  # nothing listens there
    make_shop()

    entry = OutboxEntry.objects.get()
    assert (entry.state, entry.error_code, entry.outcome_unknown) == (
        OutboxState.PENDING,
        "CONNECTION",
        False,
    )
    call = RemoteCall.objects.get()
    assert call.status_code is None and not call.ok
