"""/api/v1/shops/ through real requests, with token auth, down to the sandbox."""

import pytest
from django.contrib.auth import get_user_model

from campaigns.models import Shop
from core.models import OutboxEntry
from tests.campaigns.factories import make_shop, shop_fields
from tests.tokens import token_for

pytestmark = pytest.mark.django_db

API_FIELDS = {
    "id",
    "code",
    "address",
    "postal_code",
    "city",
    "province",
    "latitude",
    "longitude",
    "email",
    "url",
    "description",
    "active",
    "remote_id",
    "sync_status",
    "sync_error",
}


@pytest.fixture
def token_client(client):
    user = get_user_model().objects.create_superuser("script", "script@example.com", "pw-123456!")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    return client


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/v1/shops/").status_code == 401


def test_a_shop_created_through_the_api_is_synced_with_volantinopiu(
    token_client, django_capture_on_commit_callbacks, sandbox_records
):
    body = shop_fields(code="PV-API-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client.post("/api/v1/shops/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == API_FIELDS
    assert data["sync_status"] == "pending"  # answered before delivery
    detail = token_client.get(f"/api/v1/shops/{data['id']}/").json()
    assert detail["sync_status"] == "synced"
    assert detail["remote_id"] == str(sandbox_records("volantinopiu", "shop")[0]["id"])


def test_the_list_is_paginated_filterable_and_searchable(token_client):
    make_shop(code="PV-A", city="Milano", province="MI")
    make_shop(code="PV-B", city="Roma", province="RM")

    page = token_client.get("/api/v1/shops/").json()
    assert page["count"] == 2 and [s["code"] for s in page["results"]] == ["PV-A", "PV-B"]
    assert [
        s["code"] for s in token_client.get("/api/v1/shops/?province=RM").json()["results"]
    ] == ["PV-B"]
    assert [
        s["code"] for s in token_client.get("/api/v1/shops/?search=milano").json()["results"]
    ] == ["PV-A"]


def test_bad_input_gets_a_clear_italian_message_and_changes_nothing(token_client):
    body = shop_fields(postal_code="2012", email="not-an-email", latitude="95")
    response = token_client.post("/api/v1/shops/", body, content_type="application/json")

    assert response.status_code == 400
    errors = response.json()["error"]["fields"]
    assert errors["postal_code"] == ["Inserisci un CAP di cinque cifre."]
    assert errors["email"] == ["Inserisci un indirizzo email valido."]
    assert "latitude" in errors
    assert not Shop.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_duplicate_code_is_refused_locally(token_client):
    make_shop(code="PV-DUP")
    response = token_client.post(
        "/api/v1/shops/", shop_fields(code="PV-DUP"), content_type="application/json"
    )
    assert response.status_code == 400
    assert "code" in response.json()["error"]["fields"]


def test_sync_fields_are_read_only(token_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    response = token_client.patch(
        f"/api/v1/shops/{shop.pk}/",
        {"sync_status": "failed", "remote_id": "999", "city": "Lodi"},
        content_type="application/json",
    )
    assert response.status_code == 200
    shop.refresh_from_db()
    assert (shop.city, shop.sync_status, shop.remote_id) != ("Lodi", "failed", "999")
    assert shop.remote_id != "999" and shop.city == "Lodi"


def test_a_patch_and_a_delete_reach_the_provider(
    token_client, django_capture_on_commit_callbacks, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop(city="Milano")
    with django_capture_on_commit_callbacks(execute=True):
        token_client.patch(
            f"/api/v1/shops/{shop.pk}/", {"city": "Pavia"}, content_type="application/json"
        )
    assert sandbox_records("volantinopiu", "shop")[0]["citta"] == "Pavia"

    with django_capture_on_commit_callbacks(execute=True):
        assert token_client.delete(f"/api/v1/shops/{shop.pk}/").status_code == 204
    assert sandbox_records("volantinopiu", "shop") == []


def test_the_openapi_schema_and_its_ui_are_served_without_external_assets(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/shops/" in schema.json()["paths"]
    ui = client.get("/api/schema/ui/")
    assert ui.status_code == 200
    assert b"cdn." not in ui.content and b"drf_spectacular_sidecar" in ui.content


def test_createuser_api_prints_a_working_token_once(client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("createuser", "bot", "--role", "api", stdout=out)
    key = out.getvalue().split("Token API: ")[1].split()[0]
    assert client.get("/api/v1/shops/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
