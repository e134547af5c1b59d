"""Nothing stays stuck: an upload whose preparer died is resumed after its last committed chunk,
and an upload whose final status was never written gets it. Each test checks the sandbox's
Wolkvox: every lead there exactly once, none missing."""

import importlib
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from callcenter import services
from callcenter.models import CallCampaign, CallRecord, CallUpload, CallUploadChunk, UploadStatus
from callcenter.services import (
    UPLOAD_PREPARE_MAX_ATTEMPTS,
    call_records_save,
    call_upload_create,
    call_upload_prepare_retry,
    call_upload_resume,
    call_uploads_sweep,
)
from core.models import OutboxEntry, OutboxState, SyncStatus
from loyalty.models import DoNotCall
from sandbox.models import WolkvoxRecord

pytestmark = pytest.mark.django_db
real_gate = services.consent_gate
DO_NOT_CALL = ("393470000007", "393470000250", "393470000433")


@pytest.fixture
def campaign(settings):
    settings.WOLKVOX_CHUNK_SIZE = 100
    settings.CALL_UPLOAD_LEASE_SECONDS = 60
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione clienti")


def leads(campaign, count: int) -> None:
    rows = [(i + 2, {"tel1": f"3470{i:06d}"}) for i in range(count)]
    assert not call_records_save(campaign=campaign, rows=rows, source="import").errors


def later(seconds: float = 61):
    """After the preparation's lease (60 s here) ran out."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def sent_once(expected: set[str]) -> None:
    """The sandbox holds each expected lead exactly once, and nothing else."""
    sent = Counter(WolkvoxRecord.objects.filter(campaign_id="42").values_list("tel1", flat=True))
    assert set(sent) == expected, "missing or unexpected leads at Wolkvox"
    assert {tel: n for tel, n in sent.items() if n > 1} == {}, "leads sent twice"


def gate_dying_after(chunks: int, *, death: type[BaseException] = SystemExit, times: int = 1):
    """The consent gate, which kills the preparation (SystemExit: the process is gone) while it
    checks the page after `chunks` chunks were committed, `times` times. (A chunk's delivery
    asks the gate about its leads' other numbers: none here.)"""
    left = {"deaths": times}

    def gate(**kwargs):
        preparing = bool(kwargs["numbers"])
        if preparing and left["deaths"] and CallUploadChunk.objects.count() >= chunks:
            left["deaths"] -= 1
            raise death("the preparer died")
        return real_gate(**kwargs)

    return gate


@pytest.mark.parametrize("chosen", [False, True], ids=["whole campaign", "chosen leads"])
def test_an_upload_whose_preparer_died_mid_page_is_resumed_and_every_lead_goes_once(
    deliver, campaign, monkeypatch, chosen
):
    leads(campaign, 450)
    for number in DO_NOT_CALL:
        DoNotCall.objects.create(msisdn=number)
    every = set(CallRecord.objects.values_list("tel1", flat=True))
    records = None
    if chosen:  # every lead but those ending in 5, as the soak uploads its own leads
        records = CallRecord.objects.exclude(tel1__endswith="5")
        every = {tel for tel in every if not tel.endswith("5")}
    monkeypatch.setattr(services, "consent_gate", gate_dying_after(2))
    with pytest.raises(SystemExit), deliver():
        call_upload_create(campaign=campaign, records=records)

    upload = CallUpload.objects.get()
    assert (upload.preparing, upload.status, upload.chunks_total) == (True, "sending", 2)
    assert WolkvoxRecord.objects.count() == 200  # the committed chunks went out
    monkeypatch.setattr(services, "consent_gate", real_gate)
    # While its lease runs the preparer may be alive (a slow page): it is left alone.
    with deliver():
        assert call_uploads_sweep()["resumed"] == 0
    assert CallUpload.objects.get().chunks_total == 2

    with later(), deliver():
        assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    allowed = every - set(DO_NOT_CALL)
    assert (upload.preparing, upload.status, upload.prepare_attempts) == (False, "done", 2)
    assert upload.records_total == upload.records_confirmed == len(allowed)
    assert upload.excluded == {"do_not_call": 3}  # each counted once, before and after
    assert list(upload.chunks.values_list("index", flat=True)) == list(range(5))
    placed = [i for chunk in upload.chunks.all() for i in chunk.record_ids]
    assert len(placed) == len(set(placed)) == len(allowed)
    sent_once(allowed)
    # Each chunk was delivered once: no entry needed a second attempt.
    assert set(OutboxEntry.objects.values_list("state", "attempts")) == {(OutboxState.DONE, 1)}


def test_a_preparer_that_died_inside_a_chunks_transaction_left_nothing_of_it(
    deliver, campaign, monkeypatch
):
    leads(campaign, 350)
    real_enqueue = services.outbox_enqueue
    calls = {"n": 0}

    def enqueue(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk and its upload counts were written, not committed
            raise KeyboardInterrupt
        return real_enqueue(**kwargs)

    monkeypatch.setattr(services, "outbox_enqueue", enqueue)
    with pytest.raises(KeyboardInterrupt), deliver():
        call_upload_create(campaign=campaign)
    upload = CallUpload.objects.get()
    assert (upload.chunks_total, upload.records_total, upload.chunks.count()) == (2, 200, 2)

    with later(), deliver():
        call_uploads_sweep()
    upload.refresh_from_db()
    assert (upload.status, upload.chunks_total, upload.records_confirmed) == ("done", 4, 350)
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))


def test_a_preparer_whose_lease_ran_out_is_taken_over_and_then_adds_nothing(
    deliver, campaign, monkeypatch
):
    """A preparer that was only slow (a page outlasted its lease) and the one that took over
    never both place a lead: each chunk is committed only under the claim it was made with."""
    leads(campaign, 450)
    taken_over = {"done": False}

    def slow_gate(**kwargs):
        if not taken_over["done"] and CallUploadChunk.objects.count() == 2:
            taken_over["done"] = True  # this page takes too long: the sweeper's worker resumes
            upload = CallUpload.objects.get()
            CallUpload.objects.filter(pk=upload.pk).update(prepare_lease_until=timezone.now())
            assert call_upload_resume(upload_id=upload.pk)
        return real_gate(**kwargs)

    monkeypatch.setattr(services, "consent_gate", slow_gate)
    with deliver():
        upload = call_upload_create(campaign=campaign)  # it notices, and stops quietly
    upload.refresh_from_db()
    assert taken_over["done"]
    assert (upload.status, upload.chunks_total, upload.records_confirmed) == ("done", 5, 450)
    assert not call_upload_resume(upload_id=upload.pk)  # nothing left to take over
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))


def test_a_preparation_that_fails_is_no_error_for_the_user_and_the_sweeper_finishes_it(
    api, deliver, campaign, monkeypatch
):
    leads(campaign, 250)
    monkeypatch.setattr(services, "consent_gate", gate_dying_after(1, death=RuntimeError))
    with deliver():
        response = api.post(f"/api/v1/call-campaigns/{campaign.pk}/upload/")
    assert response.status_code == 202
    assert response.json()["status"] == "sending"
    upload = CallUpload.objects.get()
    assert upload.preparing and upload.chunks_total == 1
    # The failure gave the lease back at once: the next sweep resumes it.
    with later(1), deliver():
        assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    assert (upload.status, upload.records_confirmed) == ("done", 250)
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))


def test_a_preparation_interrupted_too_often_fails_with_the_reason_then_can_be_resumed(
    deliver, campaign, monkeypatch
):
    leads(campaign, 250)
    monkeypatch.setattr(
        services,
        "consent_gate",
        gate_dying_after(1, death=RuntimeError, times=UPLOAD_PREPARE_MAX_ATTEMPTS),
    )
    with deliver():
        upload = call_upload_create(campaign=campaign)
    for _ in range(UPLOAD_PREPARE_MAX_ATTEMPTS - 1):
        with later(1), deliver():
            assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    assert (upload.preparing, upload.prepare_attempts) == (True, UPLOAD_PREPARE_MAX_ATTEMPTS)
    with later(1), deliver():
        assert call_uploads_sweep() == {"resumed": 0, "given_up": 1, "settled": 0}
    upload.refresh_from_db()
    assert (upload.preparing, upload.status, upload.records_confirmed) == (False, "failed", 100)
    assert " 5 " in upload.prepare_error and " 100 " in upload.prepare_error  # times; leads queued
    assert services.call_upload_progress(upload=upload)["prepare_error"] == upload.prepare_error
    with later(1), deliver():
        assert call_uploads_sweep() == {"resumed": 0, "given_up": 0, "settled": 0}  # stays so

    # The cause fixed, a person resumes it: the rest goes, the first chunk does not go again.
    assert call_upload_prepare_retry(upload=upload)
    assert not call_upload_prepare_retry(upload=upload)
    with later(2), deliver():
        assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    assert (upload.status, upload.prepare_error, upload.records_confirmed) == ("done", "", 250)
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))


def test_an_upload_left_sending_with_every_chunk_finished_gets_its_final_status(
    deliver, campaign, knobs
):
    """Its process died after the last chunk's outcome but before the status was written (the
    look again after commit, on PostgreSQL): the sweeper finishes it."""
    leads(campaign, 250)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    CallUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.SENDING)
    with deliver():
        assert call_uploads_sweep()["settled"] == 1
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert WolkvoxRecord.objects.count() == 250  # nothing was sent again

    # One chunk failed for good: failed. One still waiting: left sending, the outbox sends it.
    first, second, _third = upload.chunks.order_by("index")
    CallUploadChunk.objects.filter(pk=first.pk).update(sync_status=SyncStatus.FAILED)
    CallUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.SENDING)
    with deliver():
        call_uploads_sweep()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    CallUploadChunk.objects.filter(pk=second.pk).update(sync_status=SyncStatus.PENDING)
    CallUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.SENDING)
    with deliver():
        assert call_uploads_sweep()["settled"] == 0
    assert CallUpload.objects.get().status == UploadStatus.SENDING


def test_an_upload_left_preparing_by_the_old_code_resumes_after_its_last_chunk(deliver, campaign):
    """The migration makes uploads already stuck resumable: the old code committed no progress
    of its own, but every lead before its last chunk's last one had been placed."""
    leads(campaign, 250)
    ids = sorted(CallRecord.objects.values_list("id", flat=True))
    upload = CallUpload.objects.create(campaign=campaign, preparing=True)
    chunk = CallUploadChunk.objects.create(
        upload=upload, index=0, record_ids=ids[:100], records_count=100
    )
    CallUpload.objects.filter(pk=upload.pk).update(chunks_total=1, records_total=100)
    with deliver():
        services.outbox_enqueue(obj=chunk, operation="create")
    migration = importlib.import_module("callcenter.migrations.0004_upload_resume")
    migration.stuck_uploads_resumable(apps, None)
    upload.refresh_from_db()
    assert upload.prepared_through == ids[99]

    with later(15 * 60 + 1), deliver():
        assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    assert (upload.status, upload.chunks_total, upload.records_confirmed) == ("done", 3, 250)
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))


def test_the_sweep_runs_on_beat(settings):
    from callcenter.tasks import call_uploads_sweep_task

    entry = settings.CELERY_BEAT_SCHEDULE["call-uploads-sweep"]
    assert entry["task"] == call_uploads_sweep_task.name
    assert entry["schedule"] <= 60


def test_an_upload_given_up_shows_the_reason_and_marketing_resumes_it_from_its_page(
    deliver, campaign, monkeypatch, admin_client
):
    from django.urls import reverse

    leads(campaign, 250)
    monkeypatch.setattr(
        services,
        "consent_gate",
        gate_dying_after(1, death=RuntimeError, times=UPLOAD_PREPARE_MAX_ATTEMPTS),
    )
    with deliver():
        upload = call_upload_create(campaign=campaign)
    for _ in range(UPLOAD_PREPARE_MAX_ATTEMPTS):
        with later(1), deliver():
            call_uploads_sweep()
    upload.refresh_from_db()
    page = admin_client.get(reverse("admin:callcenter_callupload_change", args=[upload.pk]))
    from django.utils.html import escape

    assert upload.prepare_error and escape(upload.prepare_error) in page.content.decode()
    resume = reverse("admin:callcenter_callupload_resume", args=[upload.pk])
    assert resume in page.content.decode()

    assert admin_client.get(resume).status_code == 403  # a change is a POST
    assert admin_client.post(resume).status_code == 302
    with later(2), deliver():
        assert call_uploads_sweep()["resumed"] == 1
    upload.refresh_from_db()
    assert (upload.status, upload.records_confirmed) == ("done", 250)
    sent_once(set(CallRecord.objects.values_list("tel1", flat=True)))
