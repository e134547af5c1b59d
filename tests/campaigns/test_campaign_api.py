"""/api/v1/media/ and /api/v1/campaigns/ through real requests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Media
from tests.campaigns.factories import make_campaign, make_shop
from tests.campaigns.images import fake_image_upload, image_bomb_upload, image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(deliver):
    with deliver():
        created = make_shop()
    created.refresh_from_db()
    return created


def iso(days: int = 3) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_media_upload_as_multipart_file(api, deliver, sandbox_records):
    with deliver():
        response = api.post("/api/v1/media/", {"file": image_upload(), "name": "Promo"})
    assert response.status_code == 201, response.content
    body = api.get(f"/api/v1/media/{response.json()['id']}/").json()
    assert {"id", "file", "remote_id", "remote_url", "sync_status", "sync_error"} <= set(body)
    assert body["sync_status"] == "synced"
    assert body["remote_url"] == sandbox_records("volantinopiu", "media")[0]["url"]


def test_a_bad_upload_gets_a_clear_message(api):
    response = api.post("/api/v1/media/", {"file": fake_image_upload()})
    assert response.status_code == 400
    assert "immagine" in response.json()["error"]["fields"]["file"][0]
    assert not Media.objects.exists()


def test_an_image_bomb_is_refused_from_its_header(api):
    bomb = image_bomb_upload()
    assert bomb.size < 200_000
    response = api.post("/api/v1/media/", {"file": bomb})
    assert response.status_code == 400
    assert "immagine" in response.json()["error"]["fields"]["file"][0]
    assert not Media.objects.exists()


def test_a_campaign_created_with_an_image_url(api, deliver, shop, sandbox_records):
    payload = {
        "kind": "template",
        "shop": shop.pk,
        "image": "https://cdn.example.com/promo.jpg",
        "link": "https://example.com/promo",
        "template_name": "promo_settimanale",
        "promo_name": "API promo",
        "date_send": iso(),
    }
    with deliver():
        response = api.post("/api/v1/campaigns/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = api.get(f"/api/v1/campaigns/{response.json()['id']}/").json()
    assert body["sync_status"] == "synced"
    assert body["image"] == "https://cdn.example.com/promo.jpg"
    assert sandbox_records("volantinopiu", "campaign")[0]["image"] == payload["image"]


def test_a_campaign_created_with_an_uploaded_media(api, deliver, shop, sandbox_records):
    with deliver():
        media_id = api.post("/api/v1/media/", {"file": image_upload()}).json()["id"]
    payload = {
        "kind": "flyer",
        "shop": shop.pk,
        "media": media_id,
        "flyer_link": "https://example.com/v.pdf",
        "promo_name": "API flyer",
        "date_send": iso(),
    }
    with deliver():
        response = api.post("/api/v1/campaigns/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["image"] == Media.objects.get().remote_url


def test_bad_campaign_input_is_a_400_in_italian_and_creates_nothing(api, shop):
    payload = {
        "kind": "template",
        "shop": shop.pk,
        "image": "https://cdn.example.com/promo.jpg",
        "link": "https://example.com/promo",
        "promo_name": "Senza template",
        "date_send": iso(days=-1),
    }
    response = api.post("/api/v1/campaigns/", payload, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]
    assert errors["date_send"] == ["La data di invio deve essere nel futuro."]
    assert errors["template_name"] == ["Una campagna template richiede il nome del template."]
    assert not Campaign.objects.exists()


def test_a_registered_campaign_cannot_be_changed_and_delete_withdraws_it(
    api, deliver, shop, sandbox_records
):
    with deliver():
        campaign = make_campaign(shop)
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"promo_name": "x"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "ritirala" in response.json()["error"]["message"]

    with deliver():
        assert api.delete(f"/api/v1/campaigns/{campaign.pk}/").status_code == 204
    assert sandbox_records("volantinopiu", "campaign") == []


def test_campaigns_filter_by_shop_kind_status_and_date(api, deliver, shop):
    other = make_shop()
    with deliver():
        make_campaign(shop, kind="flyer", date_send=timezone.now() + timedelta(days=2))
        make_campaign(shop, kind="template", date_send=timezone.now() + timedelta(days=9))
    make_campaign(other, kind="flyer")  # its shop is not synced: it waits

    def ids(query: str) -> int:
        return api.get(f"/api/v1/campaigns/?{query}").json()["count"]

    assert ids(f"shop={shop.pk}") == 2
    assert ids("kind=flyer") == 2
    assert ids("sync_status=pending") == 1
    before = (timezone.now() + timedelta(days=5)).isoformat().replace("+", "%2B")
    assert ids(f"date_send_before={before}") == 1
