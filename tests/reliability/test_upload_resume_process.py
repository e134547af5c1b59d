"""A lead upload whose preparing process is SIGKILLed mid-way, with a real worker and beat: the
sweeper has the rest prepared by the worker, and Wolkvox holds every lead exactly once."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from callcenter.models import CallCampaign, CallRecord, CallUpload, UploadStatus
from callcenter.services import call_records_save
from sandbox.models import WolkvoxRecord
from tests.reliability.processes import Stack, wait_for

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

# The user's process checks each page slowly, so that it can be killed between chunks.
SLOW_UPLOAD = (
    "import time; from callcenter import services; "
    "services.consent_gate = lambda _gate=services.consent_gate, **kw: "
    "(time.sleep(0.4), _gate(**kw))[1]; "
    "from callcenter.models import CallCampaign; "
    "services.call_upload_create(campaign=CallCampaign.objects.get(remote_campaign_id='77'))"
)


@pytest.fixture
def stack(live_server, tmp_path, settings):
    stack = Stack(
        sandbox_origin=live_server.url, broker_url=settings.CELERY_BROKER_URL, logs=tmp_path
    )
    yield stack
    stack.stop()


def test_an_upload_whose_preparing_process_was_killed_is_finished_by_the_workers(stack):
    campaign = CallCampaign.objects.create(remote_campaign_id="77", name="Ripresa")
    rows = [(i + 2, {"tel1": f"3471{i:06d}"}) for i in range(400)]
    assert not call_records_save(campaign=campaign, rows=rows, source="import").errors
    stack.env["WOLKVOX_CHUNK_SIZE"] = "50"  # 8 chunks; the preparation's lease is 3 s here
    stack.worker(concurrency=2)
    stack.beat()
    user = stack.actor("user", SLOW_UPLOAD)

    wait_for(
        lambda: CallUpload.objects.filter(chunks_total__gte=3).exists(),
        seconds=60,
        what="the first chunks to be committed",
    )
    os.killpg(user.pid, signal.SIGKILL)
    user.wait(timeout=30)
    killed = CallUpload.objects.get()
    assert killed.preparing and killed.chunks_total < 8, "killed too late to prove anything"

    wait_for(
        lambda: CallUpload.objects.filter(status=UploadStatus.DONE).exists(),
        seconds=120,
        what="the upload to be finished by the workers",
    )
    upload = CallUpload.objects.get()
    assert upload.prepare_attempts >= 2 and not upload.preparing
    assert (upload.chunks_total, upload.records_confirmed) == (8, 400)
    sent = Counter(WolkvoxRecord.objects.filter(campaign_id="77").values_list("tel1", flat=True))
    assert set(sent) == set(CallRecord.objects.values_list("tel1", flat=True))
    assert max(sent.values()) == 1, "a lead was sent twice"
