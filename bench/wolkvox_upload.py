"""wolkvox_upload_efficiency: an upload of N leads with the Wolkvox sandbox answering after
500 ms a call. Wolkvox takes at most 10,000 leads a call and 2 calls at a time per token, so
the ideal is ⌈N/10,000⌉ ÷ 2 × 0.5 s; the measured time runs from call_upload_create (consent
gate, chunking, outbox) until every chunk is answered, with the worker's 4 threads competing
for Wolkvox's 2 slots as four workers would."""

from __future__ import annotations

import math
import time

import requests
from django.conf import settings
from django.utils import timezone

from bench import data
from bench.measure import wait_for_deliveries
from callcenter.models import CallCampaign, CallUpload, UploadStatus
from callcenter.services import call_upload_create
from callcenter.wolkvox import MAX_RECORDS_PER_CALL
from sandbox.knobs import knob_reset, knob_set
from sandbox.models import WolkvoxTokenUse

LATENCY_MS = 500
CALLS_IN_FLIGHT = 2


def seed(*, leads: int) -> CallCampaign:
    campaign = CallCampaign.objects.create(remote_campaign_id="9001", name="Benchmark")
    stamp = timezone.now()
    columns = ("campaign_id", "source", "email", "recall_date", "created_at", "updated_at")
    text = ("customer_name", "customer_last_name", "city")
    phones = (*(f"tel{n}" for n in range(1, 11)), "tel_extra", "recall_telephone")
    others = (*(f"opt{n}" for n in range(1, 13)), "id_type", "customer_id", "age", "gender")
    others = (*others, "country", "state", "zone", "address")
    data.insert_rows(
        "callcenter_callrecord",
        (*columns, *text, *phones, *others),
        lambda i: (
            campaign.pk,
            "import",
            "",
            None,
            stamp,
            stamp,
            f"Nome{i}",
            f"Cognome{i}",
            "Milano",
            data.msisdn(i),
            *[""] * (len(phones) - 1),
            *[""] * len(others),
        ),
        leads,
    )
    return campaign


def _warm_up() -> None:
    """A one-lead call to each of the sandbox server's processes first (new connections), as
    the sync benchmark does: the first add_record a process serves loads its code, and that is
    the simulator starting, not Vetrina's upload."""
    url = f"{settings.WOLKVOX_BASE_URL}/campaign.php"
    query = {"api": "add_record", "type_campaign": "predictive", "campaign_id": "9000"}
    for _ in range(4):
        requests.post(
            url,
            params={**query, "campaign_status": "stop"},
            json=[{"tel1": data.msisdn(0)}],
            headers={"wolkvox-token": settings.WOLKVOX_TOKEN},
            timeout=30,
        ).raise_for_status()


def run(*, campaign: CallCampaign, leads: int) -> dict[str, float]:
    knob_reset(provider="wolkvox")
    _warm_up()
    knob_set(provider="wolkvox", answer_time_ms=LATENCY_MS)
    WolkvoxTokenUse.objects.update(max_in_flight=0)  # the sandbox's count of calls at once
    try:
        started = time.monotonic()
        upload = call_upload_create(campaign=campaign)
        finished = CallUpload.objects.filter(pk=upload.pk).exclude(status=UploadStatus.SENDING)
        wait_for_deliveries(finished.exists, timeout=600, interval=0.02)
        elapsed = time.monotonic() - started
    finally:
        knob_reset(provider="wolkvox")
    upload.refresh_from_db()
    if upload.status != UploadStatus.DONE or upload.records_confirmed != leads:
        raise RuntimeError(f"upload ended {upload.status}, {upload.records_confirmed} confirmed")
    most_at_once = max(WolkvoxTokenUse.objects.values_list("max_in_flight", flat=True), default=0)
    if most_at_once > CALLS_IN_FLIGHT:  # the sandbox refuses them, but it must never happen
        raise RuntimeError(f"{most_at_once} Wolkvox calls were in flight at once")
    calls = math.ceil(leads / MAX_RECORDS_PER_CALL)
    ideal = calls / CALLS_IN_FLIGHT * LATENCY_MS / 1000
    return {
        "wolkvox_upload_efficiency": ideal / elapsed,
        "_wolkvox_upload_s": elapsed,
        "_wolkvox_ideal_s": ideal,
        "_wolkvox_most_calls_at_once": float(most_at_once),
    }
