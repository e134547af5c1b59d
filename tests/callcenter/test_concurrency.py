"""Several workers at once never make more than 2 Wolkvox calls at a time (the document's
limit per token), over real sockets to the sandbox."""

import threading

import pytest

from callcenter.models import CallCampaign, CallRecord, UploadStatus
from callcenter.services import call_upload_create
from core.models import OutboxEntry
from core.outbox import outbox_deliver
from sandbox.models import WolkvoxRecord, WolkvoxTokenUse

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_workers_stay_within_two_calls_at_a_time(live_server, settings, knobs, broker_idle):
    settings.WOLKVOX_BASE_URL = f"{live_server.url}/sandbox/wolkvox/api/v2"
    settings.WOLKVOX_CHUNK_SIZE = 10
    settings.OUTBOX = {**settings.OUTBOX, "SLOT_WAIT_SECONDS": 10.0}
    knobs("wolkvox", latency_ms=300)
    campaign = CallCampaign.objects.create(remote_campaign_id="7", name="Prova")
    CallRecord.objects.bulk_create(
        CallRecord(campaign=campaign, source="import", tel1=f"3934700{n:05d}") for n in range(60)
    )
    upload = call_upload_create(campaign=campaign)
    entries = list(OutboxEntry.objects.values_list("id", flat=True))
    assert len(entries) == 6

    def worker(ids):
        for entry_id in ids:
            outbox_deliver(entry_id=entry_id)

    threads = [threading.Thread(target=worker, args=(entries[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    upload.refresh_from_db()
    assert (upload.status, upload.records_confirmed) == (UploadStatus.DONE, 60)
    assert WolkvoxRecord.objects.count() == 60
    # Never above 2 (reaching 2 depends on timing on a busy machine, so it is not asserted).
    assert 1 <= WolkvoxTokenUse.objects.get().max_in_flight <= 2
