"""The API's contract for scripts: idempotent POSTs, throttling, one error shape, reads that need
the view permission, roles as groups."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from campaigns.models import Media, Shop
from core.models import IdempotencyKey
from tests.campaigns.factories import shop_fields
from tests.campaigns.images import image_upload

pytestmark = pytest.mark.django_db


def _post_shop(api, key, **overrides):
    return api.post(
        "/api/v1/shops/",
        shop_fields(**overrides),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_same_key_and_body_answer_the_first_response_and_create_nothing(
    api, sandbox_records, deliver
):
    body = shop_fields(code="PV-IDEM")
    with deliver():
        first = api.post(
            "/api/v1/shops/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
    with deliver():
        again = api.post(
            "/api/v1/shops/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert Shop.objects.filter(code="PV-IDEM").count() == 1
    assert (
        len([s for s in sandbox_records("volantinopiu", "shop") if s["codice"] == "PV-IDEM"]) == 1
    )


def test_the_same_key_with_another_body_is_422_and_changes_nothing(api):
    assert _post_shop(api, "k-2", code="PV-ONE").status_code == 201
    response = _post_shop(api, "k-2", code="PV-TWO")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Shop.objects.filter(code="PV-TWO").exists()


def test_json_spacing_and_key_order_do_not_make_another_request(api):
    import json

    body = shop_fields(code="PV-JSON")
    compact = json.dumps(body, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2)
    for payload in (compact, spaced):
        response = api.post(
            "/api/v1/shops/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-3"
        )
        assert response.status_code == 201
    assert Shop.objects.filter(code="PV-JSON").count() == 1


def test_a_multipart_retry_with_a_new_boundary_is_the_same_request(api):
    from django.test.client import encode_multipart

    for boundary in ("BoUnDaRy-one", "another-BOUNDARY-2"):
        payload = encode_multipart(boundary, {"file": image_upload(), "name": "Volantino"})
        response = api.generic(
            "POST",
            "/api/v1/media/",
            payload,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="k-media",
        )
        assert response.status_code == 201
    assert Media.objects.count() == 1


def test_keys_belong_to_their_user(api):
    assert _post_shop(api, "shared-key", code="PV-U1").status_code == 201
    other = get_user_model().objects.create_superuser("other", "o@example.com", "pw-123456!")
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    assert _post_shop(client, "shared-key", code="PV-U2").status_code == 201
    assert Shop.objects.filter(code__in=["PV-U1", "PV-U2"]).count() == 2


def test_an_invalid_answer_is_kept_too_and_a_bad_key_is_refused(api):
    body = shop_fields(code="")
    first = api.post(
        "/api/v1/shops/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-bad"
    )
    again = api.post(
        "/api/v1/shops/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-bad"
    )
    assert first.status_code == again.status_code == 400 and again.content == first.content
    too_long = _post_shop(api, "x" * 256, code="PV-LONG")
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Shop.objects.filter(code="PV-LONG").exists()


def test_old_keys_are_forgotten(api):
    from datetime import timedelta

    from django.utils import timezone

    from core.idempotency import idempotency_keys_purge

    assert _post_shop(api, "k-old", code="PV-OLD").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_keys_purge() == 1


def test_requests_past_the_rate_are_throttled_with_a_clear_error(api):
    with override_settings(API_THROTTLE_RATE="3/minute"):
        from django.core.cache import cache

        cache.clear()
        statuses = [api.get("/api/v1/shops/").status_code for _ in range(4)]
        response = api.get("/api/v1/shops/")
        cache.clear()
    assert statuses == [200, 200, 200, 429]
    body = response.json()["error"]
    assert body["code"] == "throttled" and body["retry_after"] > 0 and "Retry-After" in response


def test_every_error_has_one_shape(api):
    for response in (
        api.get("/api/v1/shops/999999/"),
        api.post("/api/v1/shops/", {}, content_type="application/json"),
        Client().get("/api/v1/shops/"),
    ):
        error = response.json()["error"]
        assert set(error) >= {"code", "message"} and error["message"]
    assert api.post("/api/v1/shops/", {}, content_type="application/json").json()["error"][
        "fields"
    ]["code"]


def test_reading_needs_the_view_permission(db):
    nobody = get_user_model().objects.create_user("nobody", password="pw-123456!")
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=nobody).key}")
    assert client.get("/api/v1/customers/").status_code == 403
    assert client.get("/api/v1/fidelity-cards/").status_code == 403


def test_list_pages_are_bounded(api):
    response = api.get("/api/v1/shops/?page_size=100000")
    assert response.status_code == 200  # served, at most 200 a page


def test_the_roles_exist_as_groups_with_their_permissions():
    marketing = Group.objects.get(name="Marketing").permissions
    auditors = Group.objects.get(name="Auditors").permissions
    store = Group.objects.get(name="Store managers").permissions
    api_scripts = Group.objects.get(name="API scripts").permissions
    assert marketing.filter(codename="approve_flyerrequest").exists()
    assert marketing.filter(codename="delete_shop").exists()
    assert not auditors.exclude(codename__startswith="view_").exists()
    assert set(store.values_list("codename", flat=True)) == {
        "view_shop",
        "view_campaign",
        "view_customer",
        "view_fidelitycard",
        "view_pointmovement",
        "view_flyerrequest",
    }
    assert api_scripts.filter(codename="add_pushsend").exists()


@pytest.mark.parametrize(
    ("role", "staff", "group"),
    [
        ("marketing", True, "Marketing"),
        ("auditor", True, "Auditors"),
        ("api", False, "API scripts"),
    ],
)
def test_createuser_gives_a_role(role, staff, group):
    out = StringIO()
    call_command("createuser", f"u-{role}", "--role", role, stdout=out)
    user = get_user_model().objects.get(username=f"u-{role}")
    assert user.is_staff is staff and list(user.groups.values_list("name", flat=True)) == [group]
    assert ("API token:" in out.getvalue()) is (role == "api")


def test_an_auditor_reads_the_admin_but_cannot_change_providers(deliver):
    from tests.campaigns.factories import make_shop

    with deliver():
        shop = make_shop(code="PV-AUD")
    call_command("createuser", "revisore", "--role", "auditor", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username="revisore"))
    assert client.get("/admin/campaigns/shop/").status_code == 200
    assert client.get(f"/admin/campaigns/shop/{shop.pk}/change/").status_code == 200
    sync = client.post(
        "/admin/campaigns/shop/",
        {"action": "sync_now", "_selected_action": [shop.pk]},
    )
    assert sync.status_code == 200  # the action is not offered: the list comes back as it was
    assert b"sync_now" not in client.get("/admin/campaigns/shop/").content
    assert client.post("/admin/campaigns/shop/add/", {"code": "PV-X"}).status_code == 403
    assert client.post("/admin/messaging/pushsend/1/confirm/").status_code == 403
    assert not Shop.objects.filter(code="PV-X").exists()


def test_the_security_headers_are_sent(client):
    response = client.get("/admin/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
