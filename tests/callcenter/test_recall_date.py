"""An upload's recall date (Wolkvox's `recall_date`, yyyymmddhhmmss) and the send window for
call uploads: postponed to the next opening through the outbox, marketing's override."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import responses
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from responses import matchers

from callcenter.models import CallCampaign, CallRecord, CallUpload, UploadStatus
from callcenter.services import call_records_save
from callcenter.wolkvox import WolkvoxClient, encode_stored_leads, lead_records
from config.settings import base
from core.models import OutboxEntry
from core.outbox import outbox_sweep
from sandbox.models import WolkvoxRecord
from tests.campaigns.factories import make_shop
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")
WEDNESDAY_10 = datetime(2026, 12, 9, 10, 0, tzinfo=ROME)
SUNDAY_NOON = datetime(2026, 12, 13, 12, 0, tzinfo=ROME)
MONDAY_9 = datetime(2026, 12, 14, 9, 0, tzinfo=ROME)


@pytest.fixture(autouse=True)
def chain_window(settings):
    for name in ("DAYS", "START", "END", "HOLIDAYS"):
        setattr(settings, f"SEND_WINDOW_{name}", getattr(base, f"SEND_WINDOW_{name}"))


@pytest.fixture
def campaign():
    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Richiami")
    rows = [(i + 2, {"customer_name": f"Cliente {i}", "tel1": f"347000000{i}"}) for i in range(3)]
    assert not call_records_save(campaign=campaign, rows=rows, source="import").errors
    return campaign


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def upload_url(campaign) -> str:
    return f"/api/v1/call-campaigns/{campaign.pk}/upload/"


# --- the wire ------------------------------------------------------------------------------------
def test_the_uploads_recall_date_is_every_records_recall_date_in_wolkvox_format(campaign):
    leads = CallRecord.objects.order_by("id")
    leads.filter(tel1="3470000000").update(recall_date=datetime(2026, 12, 1, 9, 0, tzinfo=ROME))
    recall = datetime(2026, 12, 10, 10, 30, tzinfo=ROME)
    by_database = json.loads(encode_stored_leads(leads, recall_date=recall).body)
    built_here = lead_records(leads, recall_date=recall)
    assert [r["recall_date"] for r in by_database] == ["20261210103000"] * 3
    assert [r["recall_date"] for r in built_here] == ["20261210103000"] * 3
    client = WolkvoxClient(base_url="https://wv0001.wolkvox.com/api/v2", token="T")
    with responses.RequestsMock() as api:
        api.post(
            "https://wv0001.wolkvox.com/api/v2/campaign.php",
            match=[matchers.json_params_matcher(built_here)],
            json={"code": "201", "error": None, "msg": "ok", "data": [{"total_registers": 3}]},
        )
        assert client.add_records(campaign_id="42", campaign_status="start", records=built_here)
        sent = json.loads(api.calls[0].request.body)
    assert {record["recall_date"] for record in sent} == {"20261210103000"}


def test_an_upload_with_a_recall_date_reaches_wolkvox_with_it(api, deliver, campaign):
    with at(WEDNESDAY_10), deliver():
        response = api.post(
            upload_url(campaign),
            {"recall_date": "2026-12-10T10:30:00+01:00"},
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    assert response.json()["recall_date"] == "2026-12-10T10:30:00+01:00"
    upload = CallUpload.objects.get()
    assert upload.status == UploadStatus.DONE and upload.window_reason == ""
    assert [r.data["recall_date"] for r in WolkvoxRecord.objects.all()] == ["20261210103000"] * 3


@pytest.mark.parametrize(
    ("recall", "words"),
    [
        ("2026-12-01T10:00:00+01:00", "futuro"),
        ("2026-12-13T10:00:00+01:00", "finestra di invio"),  # a Sunday
        ("2026-12-10T21:00:00+01:00", "finestra di invio"),  # after 20:00
    ],
)
def test_a_bad_recall_date_is_a_400_on_the_field_and_nothing_starts(api, campaign, recall, words):
    with at(WEDNESDAY_10):
        response = api.post(
            upload_url(campaign), {"recall_date": recall}, content_type="application/json"
        )
    assert response.status_code == 400
    assert words in str(response.json()["error"]["fields"]["recall_date"])
    assert not CallUpload.objects.exists() and not WolkvoxRecord.objects.exists()


# --- the send window -----------------------------------------------------------------------------
def test_an_upload_outside_the_window_waits_in_the_outbox_for_the_next_opening(
    api, deliver, campaign
):
    with at(SUNDAY_NOON), deliver():
        response = api.post(upload_url(campaign))
    assert response.status_code == 202
    body = response.json()
    assert body["send_after"] == "2026-12-14T09:00:00+01:00"
    assert "Fuori dalla finestra di invio" in body["window_reason"]
    assert not WolkvoxRecord.objects.exists()
    [entry] = OutboxEntry.objects.filter(model_label="callcenter.calluploadchunk")
    assert entry.next_attempt_at == MONDAY_9 and entry.attempts == 0
    assert entry.error_code == "SEND_WINDOW"

    with at(datetime(2026, 12, 14, 9, 1, tzinfo=ROME)), deliver():
        outbox_sweep()
    upload = CallUpload.objects.get()
    assert upload.status == UploadStatus.DONE and WolkvoxRecord.objects.count() == 3


def test_marketing_uploads_outside_the_window_with_a_reason(deliver, campaign):
    anna = get_user_model().objects.create_user("anna", password="pw-123456!x", is_staff=True)
    anna.groups.add(Group.objects.get(name="Marketing"))
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(anna)}"
    with at(SUNDAY_NOON), deliver():
        response = client.post(
            upload_url(campaign),
            {"window_override": True, "window_override_reason": "Richiami urgenti del reso"},
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["send_after"] is None and body["window_override_by"] == "anna"
    assert body["window_override_reason"] == "Richiami urgenti del reso"
    assert WolkvoxRecord.objects.count() == 3


def test_an_override_without_a_reason_is_a_400(api, campaign):
    with at(SUNDAY_NOON):
        response = api.post(
            upload_url(campaign), {"window_override": True}, content_type="application/json"
        )
    assert response.status_code == 400
    assert "window_override_reason" in response.json()["error"]["fields"]
    assert not CallUpload.objects.exists()


def test_the_counter_cannot_override_the_window(store_manager_client, campaign):
    make_shop(code="PV-MINE")
    store_manager_client("mario", "PV-MINE")
    client = Client()
    mario = get_user_model().objects.get(username="mario")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(mario)}"
    with at(SUNDAY_NOON):
        response = client.post(
            upload_url(campaign),
            {"window_override": True, "window_override_reason": "Subito"},
            content_type="application/json",
        )
    assert response.status_code == 403
    assert not CallUpload.objects.exists()


# --- the admin -----------------------------------------------------------------------------------
def test_the_admin_upload_page_takes_a_recall_date_and_offers_the_override(
    admin_client, deliver, campaign
):
    url = reverse("admin:callcenter_upload", args=[campaign.pk])
    with at(SUNDAY_NOON):
        page = admin_client.get(url).content.decode()
        assert 'id="upload-window"' in page and 'name="window_override"' in page
        with deliver():
            response = admin_client.post(url, {"recall_date": "2026-12-14 10:30"})
    upload = CallUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:callcenter_callupload_change", args=[upload.pk])
    assert upload.recall_date == datetime(2026, 12, 14, 10, 30, tzinfo=ROME)
    assert upload.send_after == MONDAY_9  # Sunday: it waits for Monday
    with at(SUNDAY_NOON):
        page = admin_client.get(response["Location"]).content.decode()
    assert 'id="upload-window"' in page and 'id="upload-recall"' in page
