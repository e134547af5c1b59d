"""VolantinoPiù media and campaign calls, field by field against the provider's document:
GET listMedia, POST uploadMedia (multipart `file`), GET listCampaigns[?id=],
POST registerCampaign, POST registerCampaignFlyer, DELETE deleteCampaign (JSON `id`)."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import responses
from responses import matchers

from campaigns.volantinopiu import CampaignData, VolantinoPiuClient
from core.errors import ProviderNotFound, ProviderRejected

BASE = "https://restapi.volantinopiu.it/api/v2"
TOKEN = "test-token-123"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
ROME = ZoneInfo("Europe/Rome")
pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return VolantinoPiuClient(base_url=BASE, token=TOKEN)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def template_campaign(**overrides) -> CampaignData:
    fields = {
        "kind": "template",
        "pv_id": "17",
        "image": "https://cdn.volantinopiu.it/media/promo.jpg",
        "link": "https://example.com/promo",
        "template_name": "promo_settimanale",
        "date_send": datetime(2026, 12, 1, 9, 30, tzinfo=ROME),
        "promo_name": "Sottocosto",
    }
    return CampaignData(**{**fields, **overrides})


def test_upload_media_posts_the_file_as_multipart_field_file(client, api):
    api.post(
        f"{BASE}/uploadMedia",
        json={"success": True, "data": {"id": 5, "url": "https://cdn/x.png", "name": "x.png"}},
        match=[matchers.header_matcher(HEADERS)],
    )
    media = client.upload_media(filename="x.png", content=b"\x89PNG...", content_type="image/png")

    request = api.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'Content-Disposition: form-data; name="file"; filename="x.png"' in request.body
    assert b"Content-Type: image/png" in request.body
    assert (media.id, media.url, media.name) == ("5", "https://cdn/x.png", "x.png")


def test_list_media_reads_a_wrapped_or_bare_list(client, api):
    api.get(f"{BASE}/listMedia", json=[{"id": 1, "url": "https://cdn/a.jpg", "name": "a.jpg"}])
    assert [m.id for m in client.list_media()] == ["1"]


def test_register_campaign_sends_the_template_fields_with_the_date_in_italian_time(client, api):
    api.post(
        f"{BASE}/registerCampaign",
        json={"success": True, "data": {"id": 99}},
        match=[
            matchers.header_matcher({**HEADERS, "Content-Type": "application/json"}),
            matchers.json_params_matcher(
                {
                    "pv_id": 17,
                    "image": "https://cdn.volantinopiu.it/media/promo.jpg",
                    "link": "https://example.com/promo",
                    "date_send": "2026-12-01 09:30:00",
                    "template_name": "promo_settimanale",
                    "promo_name": "Sottocosto",
                },
                strict_match=True,
            ),
        ],
    )
    remote = client.register_campaign(template_campaign())
    assert remote.id == "99" and remote.data.kind == "template"


def test_register_campaign_flyer_sends_only_the_flyer_fields(client, api):
    api.post(
        f"{BASE}/registerCampaignFlyer",
        json={"success": True, "data": {"id": 100}},
        match=[
            matchers.json_params_matcher(
                {
                    "pv_id": 17,
                    "image": "https://cdn.volantinopiu.it/media/promo.jpg",
                    "flyer_link": "https://example.com/volantino.pdf",
                    "date_send": "2026-12-01 09:30:00",
                    "promo_name": "Sottocosto",
                },
                strict_match=True,
            )
        ],
    )
    flyer = template_campaign(
        kind="flyer", link="", template_name="", flyer_link="https://example.com/volantino.pdf"
    )
    assert client.register_campaign(flyer).id == "100"


def test_a_date_in_utc_is_sent_in_italian_time(client, api):
    api.post(f"{BASE}/registerCampaign", json={"success": True, "data": {"id": 1}})
    utc_evening = datetime(2026, 7, 1, 22, 15, tzinfo=ZoneInfo("UTC"))
    client.register_campaign(template_campaign(date_send=utc_evening))
    assert json.loads(api.calls[0].request.body)["date_send"] == "2026-07-02 00:15:00"


def test_a_422_on_register_is_a_rejection_with_the_field_message(client, api):
    api.post(
        f"{BASE}/registerCampaign",
        status=422,
        json={
            "message": "The date send field must be a date after now.",
            "errors": {"date_send": ["The date send field must be a date after now."]},
        },
    )
    with pytest.raises(ProviderRejected) as rejected:
        client.register_campaign(template_campaign())
    assert rejected.value.code == "VALIDATION"
    assert "date_send: The date send field must be a date after now." in str(rejected.value)


def test_get_campaign_passes_the_id_in_the_query_string(client, api):
    api.get(
        f"{BASE}/listCampaigns",
        json={"success": True, "data": {"id": 7, "pv_id": 3, "date_send": "2026-12-01 09:30:00"}},
        match=[matchers.query_param_matcher({"id": "7"})],
    )
    remote = client.get_campaign("7")
    assert remote.data.date_send == datetime(2026, 12, 1, 9, 30, tzinfo=ROME)


def test_get_campaign_that_is_gone_is_not_found(client, api):
    api.get(f"{BASE}/listCampaigns", status=404, json={"message": "Campaign not found."})
    with pytest.raises(ProviderNotFound):
        client.get_campaign("404")


def test_list_campaigns_tells_flyers_from_templates(client, api):
    api.get(
        f"{BASE}/listCampaigns",
        json={
            "success": True,
            "data": [
                {"id": 1, "flyer_link": "https://e.com/v.pdf", "date_send": "2026-12-01 09:30:00"},
                {"id": 2, "link": "https://e.com", "template_name": "t", "date_send": None},
            ],
        },
    )
    assert [c.data.kind for c in client.list_campaigns()] == ["flyer", "template"]


def test_delete_campaign_sends_the_id_as_a_json_body_with_delete(client, api):
    api.delete(
        f"{BASE}/deleteCampaign",
        json={"success": True},
        match=[matchers.json_params_matcher({"id": 7}, strict_match=True)],
    )
    client.delete_campaign("7")
    assert api.calls[0].request.method == "DELETE"


def test_gets_send_the_documented_json_content_type_too(client, api):
    api.get(
        f"{BASE}/listMedia",
        json=[],
        match=[matchers.header_matcher({"Content-Type": "application/json", **HEADERS})],
    )
    assert client.list_media() == []
