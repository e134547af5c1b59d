"""Flyer requests: a store manager asks at the counter, marketing approves (the flyer reaches
VolantinoPiù) or rejects with a reason, in the admin or through the API."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, CampaignKind
from core.models import SyncStatus
from store.models import FlyerRequest, FlyerRequestStatus
from tests.campaigns.factories import make_shop
from tests.campaigns.images import fake_image_upload, image_upload

pytestmark = pytest.mark.django_db
PASSWORD = "Banco-Milano-2026!"


@pytest.fixture
def shop(deliver):
    with deliver():
        return make_shop(code="PV-FLY")


@pytest.fixture
def counter(shop, store_manager_client):
    return store_manager_client("mario", "PV-FLY")


@pytest.fixture
def marketing(db):
    call_command(
        "createuser", "anna", "--role", "marketing", "--password", PASSWORD, stdout=StringIO()
    )
    client = Client()
    client.force_login(get_user_model().objects.get(username="anna"))
    return client


def _ask(counter, **overrides):
    when = timezone.localtime() + timedelta(days=5)
    data = {
        "promo_name": "Sottocosto di Natale",
        "date_send": when.strftime("%Y-%m-%dT%H:%M"),
        "image": image_upload(),
        "flyer_link": "https://example.com/natale.pdf",
        "note": "Per il weekend",
        **overrides,
    }
    return counter.post("/store/flyers/", data)


def test_a_store_manager_asks_for_a_flyer_and_sees_it_waiting(counter, shop):
    response = _ask(counter)
    assert response.status_code == 302
    request = FlyerRequest.objects.get()
    assert request.shop == shop and request.status == FlyerRequestStatus.PENDING
    page = counter.get("/store/flyers/").content.decode()
    assert "Sottocosto di Natale" in page and "in attesa del marketing" in page


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"image": fake_image_upload()}, "immagine leggibile"),
        ({"date_send": "2020-01-01T10:00"}, "futuro"),
        ({"flyer_link": "non un link"}, "URL"),
        ({"promo_name": ""}, "obbligatorio"),
    ],
)
def test_bad_requests_say_why_in_italian_and_save_nothing(counter, overrides, field_message):
    response = _ask(counter, **overrides)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not FlyerRequest.objects.exists()


def test_marketing_approves_and_the_flyer_reaches_volantinopiu(
    counter, marketing, deliver, sandbox_records
):
    _ask(counter)
    request = FlyerRequest.objects.get()
    with deliver():
        response = marketing.post(
            f"/admin/store/flyerrequest/{request.pk}/change/",
            {"decision_note": "Ottimo", "_approve": "1"},
        )
    assert response.status_code == 302
    request.refresh_from_db()
    campaign = request.campaign
    assert request.status == FlyerRequestStatus.APPROVED and request.decided_by.username == "anna"
    assert campaign.kind == CampaignKind.FLYER and campaign.sync_status == SyncStatus.SYNCED
    assert campaign.flyer_link == "https://example.com/natale.pdf"
    remote = sandbox_records("volantinopiu", "campaign")
    assert [c["promo_name"] for c in remote] == ["Sottocosto di Natale"]
    assert "Sottocosto di Natale" in counter.get("/store/flyers/").content.decode()


def test_rejecting_needs_a_reason_which_the_store_manager_reads(counter, marketing):
    _ask(counter)
    request = FlyerRequest.objects.get()
    url = f"/admin/store/flyerrequest/{request.pk}/change/"
    marketing.post(url, {"decision_note": "", "_reject": "1"})
    request.refresh_from_db()
    assert request.status == FlyerRequestStatus.PENDING
    marketing.post(url, {"decision_note": "Immagine sfocata, rimandala", "_reject": "1"})
    request.refresh_from_db()
    assert request.status == FlyerRequestStatus.REJECTED and not Campaign.objects.exists()
    assert "Immagine sfocata" in counter.get("/store/flyers/").content.decode()


def test_a_request_is_decided_once(counter, marketing, deliver):
    _ask(counter)
    request = FlyerRequest.objects.get()
    with deliver():
        marketing.post(
            "/admin/store/flyerrequest/",
            {"action": "approve_selected", "_selected_action": [request.pk]},
        )
        marketing.post(
            "/admin/store/flyerrequest/",
            {"action": "approve_selected", "_selected_action": [request.pk]},
        )
    assert Campaign.objects.count() == 1


def test_scripts_approve_through_the_api_and_auditors_cannot(counter, deliver):
    _ask(counter)
    request = FlyerRequest.objects.get()
    call_command("createuser", "revisore", "--role", "auditor", stdout=StringIO())
    auditor = Client()
    auditor.force_login(get_user_model().objects.get(username="revisore"))
    assert (
        auditor.post(
            f"/admin/store/flyerrequest/{request.pk}/change/", {"_approve": "1"}
        ).status_code
        == 403
    )
    assert auditor.post(f"/api/v1/flyer-requests/{request.pk}/approve/").status_code == 403

    out = StringIO()
    call_command("createuser", "gestionale", "--role", "api", stdout=out)
    token = out.getvalue().split("Token API: ")[1].split()[0]
    script = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with deliver():
        response = script.post(
            f"/api/v1/flyer-requests/{request.pk}/approve/", {}, content_type="application/json"
        )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert (
        script.post(
            f"/api/v1/flyer-requests/{request.pk}/reject/",
            {"note": "no"},
            content_type="application/json",
        ).status_code
        == 400
    )


def test_an_image_bomb_is_refused_at_the_counter(counter):
    from tests.campaigns.images import image_bomb_upload

    response = _ask(counter, image=image_bomb_upload())
    assert response.status_code == 400
    assert "troppi pixel" in response.content.decode()
    assert not FlyerRequest.objects.exists()
