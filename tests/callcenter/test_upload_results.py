"""A lead upload's results page (callcenter/results.py): sent, confirmed, refused, per day and
per shop where known, the chart, the links to it, who may see it, and the API."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callcenter.models import CallCampaign, CallRecord, CallUpload, CallUploadChunk, UploadStatus
from callcenter.results import call_upload_results
from campaigns.models import Shop
from core.models import SyncStatus
from loyalty.models import Customer, FidelityCard, FidelityProgram

pytestmark = pytest.mark.django_db
PASSWORD = "Risultati-Lead-2026!"
DAY = datetime(2026, 11, 10).date()


def _at(day, hour: int):
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=hour)


@pytest.fixture
def upload():
    """Five leads: one holds a card of PV-A, one of PV-B. Chunk 1 (three leads) went on DAY
    and Wolkvox added two; chunk 2 (one lead) two days later, count not reported; chunk 3
    failed. One more lead was left out by the consent gate."""
    program = FidelityProgram.objects.create(remote_id="77", name="Carta", point_value=5)
    for code, number in (("PV-A", "393510000001"), ("PV-B", "393510000002")):
        shop = Shop.objects.create(code=code, address="Via Roma 1", city="Milano")
        customer = Customer.objects.create(msisdn="+" + number)
        FidelityCard.objects.create(program=program, customer=customer, shop=shop)
    campaign = CallCampaign.objects.create(remote_campaign_id="12", name="Riattivazione")
    leads = [
        CallRecord.objects.create(campaign=campaign, source="import", tel1=f"39351000000{n}").pk
        for n in range(1, 6)
    ]
    upload = CallUpload.objects.create(
        campaign=campaign,
        status=UploadStatus.FAILED,
        records_total=6,
        records_sent=4,
        records_confirmed=2,
        chunks_total=3,
        chunks_done=2,
        excluded={"no_consent": 1},
    )
    for index, ids, status, registers, at in (
        (0, leads[:3], SyncStatus.SYNCED, 2, _at(DAY, 15)),
        (1, leads[3:4], SyncStatus.SYNCED, None, _at(DAY + timedelta(days=2), 9)),
        (2, leads[4:], SyncStatus.FAILED, None, None),
    ):
        CallUploadChunk.objects.create(
            upload=upload,
            index=index,
            record_ids=ids,
            records_count=len(ids),
            total_registers=registers,
            sync_status=status,
            synced_at=at,
            last_sync_attempt_at=at or _at(DAY + timedelta(days=2), 10),
        )
    return upload


def _client(username: str, role: str) -> Client:
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_the_figures_are_right_per_day_with_the_days_between_and_per_shop(upload):
    results = call_upload_results(upload=upload).as_json()

    assert results["totals"] == {
        "leads": 6,
        "sent": 4,
        "confirmed": 2,
        "refused": 1,
        "failed": 1,
        "excluded": 1,
    }
    assert results["per_day"] == [
        {"day": "2026-11-10", "sent": 3, "confirmed": 2, "refused": 1},
        {"day": "2026-11-11", "sent": 0, "confirmed": 0, "refused": 0},
        {"day": "2026-11-12", "sent": 1, "confirmed": 0, "refused": 0},
    ]
    assert [(row["shop"], row["sent"]) for row in results["per_shop"][:2]] == [
        ("PV-A", 1),
        ("PV-B", 1),
    ]
    unknown = results["per_shop"][2]
    assert unknown["shop_id"] is None and unknown["sent"] == 2  # the failed chunk's lead is not


def test_an_upload_still_preparing_has_empty_results():
    campaign = CallCampaign.objects.create(remote_campaign_id="13", name="Nuova")
    upload = CallUpload.objects.create(campaign=campaign, records_total=10)
    results = call_upload_results(upload=upload)
    assert results.as_json()["per_day"] == [] and results.as_json()["per_shop"] == []
    assert results.as_json()["totals"]["sent"] == 0 and results.day_chart() is None


def test_the_queries_do_not_grow_with_the_leads(upload, django_assert_max_num_queries):
    campaign = upload.campaign
    more = CallRecord.objects.bulk_create(
        CallRecord(campaign=campaign, source="import", tel1=f"3935300{n:05d}") for n in range(400)
    )
    ids = sorted(r.pk for r in more)
    for index, start in enumerate(range(0, 400, 100), start=3):
        CallUploadChunk.objects.create(
            upload=upload,
            index=index,
            record_ids=ids[start : start + 100],
            records_count=100,
            total_registers=100,
            sync_status=SyncStatus.SYNCED,
            synced_at=_at(DAY, 16),
        )
    with django_assert_max_num_queries(4):
        results = call_upload_results(upload=upload)
    assert results.as_json()["totals"]["sent"] == 404


def test_marketing_reaches_the_page_from_the_upload_and_the_list_and_sees_the_charts(upload):
    marketing = _client("anna", "marketing")
    url = reverse("admin:callcenter_callupload_results", args=[upload.pk])
    upload_page = marketing.get(reverse("admin:callcenter_callupload_change", args=[upload.pk]))
    assert url in upload_page.content.decode()
    assert url in marketing.get(reverse("admin:callcenter_callupload_changelist")).content.decode()

    page = marketing.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="vc-chart vc-line"' in html and 'class="vc-chart vc-bar"' in html
    assert 'id="total-refused"' in html and "PV-A" in html


def test_an_auditor_reads_it_and_a_store_manager_does_not(upload):
    url = reverse("admin:callcenter_callupload_results", args=[upload.pk])
    assert _client("revisore", "auditor").get(url).status_code == 200
    call_command("createstoremanager", "mario", "--shop", "PV-A", stdout=StringIO())
    mario = Client()
    mario.force_login(get_user_model().objects.get(username="mario"))
    assert mario.get(url).status_code == 302  # to the login: the admin is not for the counter
    assert Client().get(url).status_code == 302


def test_the_api_answers_the_same_figures(upload, api):
    answer = api.get(f"/api/v1/call-uploads/{upload.pk}/results/")
    assert answer.status_code == 200, answer.content
    assert answer.json() == call_upload_results(upload=upload).as_json()
