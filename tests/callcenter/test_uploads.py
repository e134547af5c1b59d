"""Leads and their upload to the Wolkvox sandbox: chunks, limits, decisions, budget, consent."""

import json
from datetime import timedelta

import pytest
import responses
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import timezone
from responses import matchers

from callcenter.models import CallCampaign, CallRecord, UploadStatus, WolkvoxDailyUsage
from callcenter.previews import call_file_rows
from callcenter.services import (
    call_chunks_mark_delivered,
    call_chunks_resend,
    call_records_save,
    call_upload_create,
)
from callcenter.wolkvox import WolkvoxClient
from core.errors import ProviderRateLimited
from core.outbox import outbox_sweep
from loyalty.consent import consent_set
from loyalty.models import DoNotCall
from loyalty.services import customer_get_or_create
from sandbox.models import WolkvoxRecord, WolkvoxTokenUse

pytestmark = pytest.mark.django_db
BASE = "https://wv0001.wolkvox.com/api/v2"


@pytest.fixture
def campaign():
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione clienti")


def leads(campaign, count: int, start: int = 0):
    rows = [
        (i + 2, {"customer_name": f"Cliente {i}", "tel1": f"3470{start + i:06d}"})
        for i in range(count)
    ]
    report = call_records_save(campaign=campaign, rows=rows, source="import")
    assert not report.errors
    return report


# --- the client, against the document ---------------------------------------------------------
def test_add_record_is_the_documented_post_with_query_header_and_json_array():
    client = WolkvoxClient(base_url=BASE, token="TOKEN")
    with responses.RequestsMock() as api:
        api.post(
            f"{BASE}/campaign.php",
            match=[
                matchers.query_param_matcher(
                    {
                        "api": "add_record",
                        "type_campaign": "predictive",
                        "campaign_id": "42",
                        "campaign_status": "start",
                    }
                ),
                matchers.header_matcher(
                    {"wolkvox-token": "TOKEN", "Content-Type": "application/json"}
                ),
                matchers.json_params_matcher(
                    [
                        {
                            "customer_name": "Anna",
                            "tel1": "393471234567",
                            "recall_date": "20261201103000",
                        }
                    ]
                ),
            ],
            status=201,
            json={
                "code": "201",
                "error": None,
                "msg": "All records has been added successfully",
                "data": [{"total_registers": "1"}],
            },
        )
        total = client.add_records(
            campaign_id="42",
            campaign_status="start",
            records=[
                {"customer_name": "Anna", "tel1": "393471234567", "recall_date": "20261201103000"}
            ],
        )
    assert total == 1


def test_the_client_refuses_more_than_10000_records_before_calling():
    with pytest.raises(ValueError, match="10000"):
        WolkvoxClient(base_url=BASE, token="T").add_records(
            campaign_id="1", campaign_status="start", records=[{"tel1": "1"}] * 10_001
        )


def test_a_third_call_at_once_is_refused_by_the_sandbox(client):
    WolkvoxTokenUse.objects.create(
        token_hash=__import__("hashlib").sha256(b"sandbox-wolkvox-token").hexdigest(), in_flight=2
    )
    wolkvox = WolkvoxClient(
        base_url="http://sandbox.test/sandbox/wolkvox/api/v2", token="sandbox-wolkvox-token"
    )
    with pytest.raises(ProviderRateLimited):
        wolkvox.add_records(
            campaign_id="42", campaign_status="start", records=[{"tel1": "393471234567"}]
        )


# --- uploads -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "chunks"), [(10_000, 1), (10_001, 2)])
def test_an_upload_is_split_at_10000_and_fully_accounted_for(deliver, campaign, count, chunks):
    leads(campaign, count)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    upload.refresh_from_db()
    assert (upload.chunks_total, upload.chunks_done, upload.status) == (
        chunks,
        chunks,
        UploadStatus.DONE,
    )
    assert upload.records_total == upload.records_sent == upload.records_confirmed == count
    assert WolkvoxRecord.objects.filter(campaign_id="42").count() == count
    assert sorted(c.records_count for c in upload.chunks.all()) == sorted(
        [10_000, count - 10_000][:chunks]
    )
    # Every lead is stamped with its upload (after the outcome, 1,000 at a time).
    assert not CallRecord.objects.filter(uploaded_at=None).exists()


def test_a_failed_chunk_is_retried_without_resending_the_others(deliver, campaign, knobs, settings):
    settings.WOLKVOX_CHUNK_SIZE = 100
    leads(campaign, 300)
    knobs("wolkvox", forced_status=503, forced_remaining=1)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    assert WolkvoxRecord.objects.count() == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    upload.refresh_from_db()
    assert (upload.status, upload.records_confirmed) == (UploadStatus.DONE, 300)
    assert WolkvoxRecord.objects.count() == 300
    assert WolkvoxRecord.objects.values("tel1").distinct().count() == 300


def test_a_chunk_whose_answer_was_lost_waits_for_a_decision(deliver, campaign, knobs, settings):
    settings.WOLKVOX_CHUNK_SIZE = 100
    leads(campaign, 200)
    knobs("wolkvox", malformed_json=True)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    knobs("wolkvox", malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.ATTENTION
    assert WolkvoxRecord.objects.count() == 200  # nothing was sent twice
    chunks = list(upload.chunks.all())
    assert all("[OUTCOME_UNKNOWN]" in c.sync_error for c in chunks)
    # The budget counts the two calls made; the attempts that stopped for a decision made none
    # (summed over the days: an hour later may be tomorrow in Rome, with a row of its own).
    assert WolkvoxDailyUsage.objects.aggregate(calls=Sum("calls"))["calls"] == 2

    # Checked in Wolkvox: the first arrived; the second is sent again on purpose.
    call_chunks_mark_delivered(chunks=chunks[:1])
    with deliver():
        call_chunks_resend(chunks=chunks[1:])
    upload.refresh_from_db()
    assert (upload.status, upload.chunks_done, upload.records_confirmed) == (
        UploadStatus.DONE,
        2,
        200,
    )
    assert WolkvoxRecord.objects.count() == 300


def test_a_chunk_that_gets_no_slot_gives_its_budget_back(deliver, campaign, settings):
    """The budget is counted before a Wolkvox slot is taken; a chunk that waited in vain for
    one made no call, and the budget says so."""
    from core.limits import slot_acquire

    leads(campaign, 5)
    while slot_acquire(provider="wolkvox", lease_seconds=60):
        pass  # two long calls elsewhere hold both slots
    with deliver():
        upload = call_upload_create(campaign=campaign)
    chunk = upload.chunks.get()
    assert chunk.sync_status == "pending" and not WolkvoxRecord.objects.exists()
    assert WolkvoxDailyUsage.objects.get().calls == 0


def test_the_daily_budget_is_respected(deliver, campaign, settings):
    settings.WOLKVOX_LICENCES = 0  # a budget of 0 calls
    leads(campaign, 5)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    chunk = upload.chunks.get()
    assert chunk.sync_status == "pending" and "budget" in chunk.sync_error
    assert not WolkvoxRecord.objects.exists()


def test_do_not_call_and_withdrawn_numbers_never_reach_wolkvox(deliver, campaign):
    rows = [
        (2, {"tel1": "3471111111", "tel2": "3479999999"}),
        (3, {"tel1": "3472222222"}),
        (4, {"tel1": "3473333333"}),
    ]
    call_records_save(campaign=campaign, rows=rows, source="import")
    DoNotCall.objects.create(msisdn="393472222222")
    DoNotCall.objects.create(msisdn="393479999999")
    withdrawn = customer_get_or_create(msisdn="+393473333333")
    consent_set(customer=withdrawn, channel="calls", given=False, source="admin")
    with deliver():
        upload = call_upload_create(campaign=campaign)
    assert upload.excluded == {"do_not_call": 1, "withdrawn": 1}
    [sent] = WolkvoxRecord.objects.all()
    assert sent.tel1 == "393471111111" and sent.data["tel2"] == ""


# --- leads -------------------------------------------------------------------------------------
def test_a_csv_with_bad_rows_imports_the_good_ones_and_reports_each_bad_line(campaign):
    csv_text = (
        "customer_name;tel1;email;recall_date\n"
        "Anna;3471234567;anna@example.com;\n"
        "Bruno;12;;\n"
        "Carla;3477654321;not-an-email;\n"
        "Dario;3471234567;;\n"  # same phone as Anna: merged
        "Elena;3470000001;;20000101120000\n"
    )
    rows = call_file_rows(file=SimpleUploadedFile("leads.csv", csv_text.encode()))
    report = call_records_save(campaign=campaign, rows=rows, source="import")
    assert [line for line, _ in report.errors] == [3, 4, 6]
    assert (
        "tel1" in report.errors[0][1]
        and "email" in report.errors[1][1]
        and "recall" in report.errors[2][1]
    )
    assert CallRecord.objects.count() == 1
    assert CallRecord.objects.get().customer_name == "Dario"  # the same phone twice: one lead


def test_an_xlsx_file_is_read_too(campaign):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["customer_name", "tel1", "city"])
    book.active.append(["Anna", "3471234567", "Milano"])
    import io

    buffer = io.BytesIO()
    book.save(buffer)
    rows = call_file_rows(file=SimpleUploadedFile("leads.xlsx", buffer.getvalue()))
    assert rows == [(2, {"customer_name": "Anna", "tel1": "3471234567", "city": "Milano"})]


def test_leads_from_card_holders_who_have_not_earned_points(deliver, campaign):
    from loyalty.services import movement_add
    from tests.campaigns.factories import make_shop
    from tests.loyalty.factories import make_card

    with deliver():
        shop = make_shop()
        active = make_card(shop=shop, msisdn="+393471000001")
        movement_add(card=active, points=5)
        make_card(shop=shop, msisdn="+393471000002")  # never earned points
    from callcenter.services import call_records_from_inactive_cards

    report = call_records_from_inactive_cards(campaign=campaign, shop=shop, days=30)
    assert report.created == 1
    assert CallRecord.objects.get().tel1 == "393471000002"


def test_the_upload_api(api, deliver, campaign):
    response = api.post(
        f"/api/v1/call-campaigns/{campaign.pk}/records/",
        [{"customer_name": "Anna", "tel1": "3471234567"}, {"customer_name": "Bad", "tel1": "1"}],
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]["rows"][0]["line"] == 2
    response = api.post(
        f"/api/v1/call-campaigns/{campaign.pk}/records/",
        {"customer_name": "Anna", "tel1": "3471234567"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert (
        api.get(f"/api/v1/call-campaigns/{campaign.pk}/records/").json()["results"].__len__() == 1
    )
    with deliver():
        batch = api.post(f"/api/v1/call-campaigns/{campaign.pk}/upload/").json()
    assert {
        "id",
        "status",
        "records_total",
        "records_sent",
        "records_confirmed",
        "chunks_total",
        "chunks_done",
    } <= set(batch)
    detail = api.get(f"/api/v1/call-uploads/{batch['id']}/").json()
    assert (detail["status"], detail["records_confirmed"]) == ("done", 1)
    assert json.loads(json.dumps(detail))


@pytest.mark.django_db(transaction=True)
def test_the_first_chunks_go_out_while_the_rest_is_still_being_checked(
    campaign, settings, monkeypatch
):
    from callcenter.models import CallUpload

    settings.WOLKVOX_CHUNK_SIZE = 100
    leads(campaign, 250)
    seen_when_published = []

    def publish(entry_id, provider=""):
        upload = CallUpload.objects.get()
        seen_when_published.append((upload.preparing, upload.status, upload.chunks_total))

    monkeypatch.setattr("core.outbox.outbox_publish", publish)
    upload = call_upload_create(campaign=campaign)

    # Each chunk went out as soon as it was committed, the upload still preparing.
    assert seen_when_published == [
        (True, UploadStatus.SENDING, 1),
        (True, UploadStatus.SENDING, 2),
        (True, UploadStatus.SENDING, 3),
    ]
    assert (upload.preparing, upload.status, upload.chunks_total, upload.records_total) == (
        False,
        UploadStatus.SENDING,
        3,
        250,
    )
    assert sorted(c.records_count for c in upload.chunks.all()) == [50, 100, 100]


def test_an_upload_is_not_done_while_it_is_still_preparing(deliver, campaign):
    from callcenter.models import CallUpload
    from callcenter.services import call_upload_settle

    upload = CallUpload.objects.create(campaign=campaign, preparing=True)
    call_upload_settle(upload_id=upload.pk)  # no chunk pending, but more are coming
    upload.refresh_from_db()
    assert upload.status == UploadStatus.SENDING


def test_an_upload_whose_last_two_chunks_were_recorded_at_once_still_finishes(
    campaign, django_capture_on_commit_callbacks
):
    """On PostgreSQL the outcomes of the last two chunks may be recorded at once, each seeing
    the other still waiting: the look again after commit finishes the upload."""
    from callcenter.models import CallUpload, CallUploadChunk
    from callcenter.services import call_upload_settle
    from core.models import SyncStatus

    upload = CallUpload.objects.create(campaign=campaign, status=UploadStatus.SENDING)
    for index in range(2):
        CallUploadChunk.objects.create(upload=upload, index=index, record_ids=[], records_count=0)
    with django_capture_on_commit_callbacks() as after_commit:
        call_upload_settle(upload_id=upload.pk)  # each outcome saw the other chunk waiting
    upload.refresh_from_db()
    assert upload.status == UploadStatus.SENDING
    CallUploadChunk.objects.update(sync_status=SyncStatus.SYNCED)  # both have committed
    for callback in after_commit:
        callback()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE


def test_a_chunk_built_by_the_database_is_the_chunk_built_here(campaign):
    """The usual chunk's JSON is written by the database; it must say what the records built
    here say, awkward characters included."""
    from callcenter.models import CallUpload, CallUploadChunk
    from callcenter.services import _chunk_records, chunk_body

    rows = [
        (2, {"customer_name": 'Zoë "la" \\ Brontë', "tel1": "3471111111", "city": "Forlì"}),
        (3, {"customer_name": "Riga\ndue\ttab", "tel1": "3472222222", "opt1": "€ 10 ✓"}),
        (4, {"customer_last_name": "D'Annunzio", "tel1": "3473333333", "tel2": "3474444444"}),
    ]
    call_records_save(campaign=campaign, rows=rows, source="import")
    ids = sorted(CallRecord.objects.values_list("id", flat=True))
    upload = CallUpload.objects.create(campaign=campaign)
    chunk = CallUploadChunk.objects.create(
        upload=upload, index=0, record_ids=ids, records_count=len(ids)
    )
    leads = CallRecord.objects.filter(id__in=ids).order_by("id")
    encoded = chunk_body(chunk)
    assert encoded.count == 3
    assert json.loads(encoded.body) == _chunk_records(leads, set())  # keys in any order


def test_a_recall_date_reaches_wolkvox_in_its_format_and_time(deliver, campaign):
    recall = timezone.make_aware(timezone.datetime(2026, 12, 1, 9, 30), timezone.UTC)
    rows = [(2, {"tel1": "3471111111"}), (3, {"tel1": "3472222222"})]
    call_records_save(campaign=campaign, rows=rows, source="import")
    CallRecord.objects.filter(tel1="393472222222").update(recall_date=recall)
    with deliver():
        call_upload_create(campaign=campaign)
    sent = {r.tel1: r.data["recall_date"] for r in WolkvoxRecord.objects.all()}
    assert sent == {"393471111111": "", "393472222222": "20261201103000"}  # Rome, UTC+1


def test_a_relay_gives_a_chunks_slot_back_before_its_outcome_is_recorded(
    campaign, settings, monkeypatch
):
    """A relay keeps its slot from one shop to the next, not from one Wolkvox chunk to the
    next: a chunk's slot goes back before its outcome is written, so the other chunk's call
    (two in flight at most) starts at once."""
    from core import outbox
    from core.models import ProviderSlot
    from core.tasks import outbox_deliver_task

    settings.WOLKVOX_CHUNK_SIZE = 2
    leads(campaign, 6)
    monkeypatch.setattr(outbox_deliver_task, "delay", lambda *args: None)  # nothing runs yet
    upload = call_upload_create(campaign=campaign)
    held_while_recording = []
    real_record = outbox._record_success

    def record(entry, state, calls, **options):
        held_while_recording.append(ProviderSlot.objects.exclude(holder="").count())
        return real_record(entry, state, calls, **options)

    monkeypatch.setattr(outbox, "_record_success", record)
    outbox.outbox_relay(provider="wolkvox")

    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert held_while_recording == [0, 0, 0]
