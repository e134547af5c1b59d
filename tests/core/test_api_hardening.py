"""The API's contract for scripts: idempotent POSTs, throttling, one error shape, reads that need
the view permission, roles as groups."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, override_settings

from campaigns.models import Media, Shop
from core.models import IdempotencyKey
from tests.campaigns.factories import shop_fields
from tests.campaigns.images import image_upload
from tests.tokens import token_for

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
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(other)}")
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
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(nobody)}")
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
    assert ("Token API:" in out.getvalue()) is (role == "api")


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


# --- Idempotency-Key: only final answers are kept, with their headers -------------------------
def _post_json(client, path: str, body: dict, key: str):
    return client.post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _keyed_post(user, key: str = "k-final"):
    from django.test import RequestFactory

    request = RequestFactory().post(
        "/api/v1/shops/", {"code": "PV-K"}, content_type="application/json"
    )
    request.META["HTTP_IDEMPOTENCY_KEY"] = key
    request.user = user  # as the session would give it: no token in this request
    return request


def _middleware_answering(status: int, **headers):
    """The middleware around a view that answers `status` and counts its runs."""
    from django.http import HttpResponse

    from core.idempotency import IdempotencyMiddleware

    runs = []

    def view(request):
        runs.append(request)
        response = HttpResponse(
            f'{{"run": {len(runs)}}}', status=status, content_type="application/json"
        )
        for name, value in headers.items():
            response[name.replace("_", "-")] = value
        return response

    return IdempotencyMiddleware(view), runs


@pytest.mark.parametrize("status", [401, 403, 404, 405, 409, 413, 415, 429, 500, 502, 503])
def test_given_an_answer_that_is_not_final_when_the_key_is_sent_again_then_the_view_runs_again(
    status,
):
    user = get_user_model().objects.create_superuser("k", "k@example.com", "pw-123456!")
    middleware, runs = _middleware_answering(status, Retry_After="30")

    first = middleware(_keyed_post(user))
    again = middleware(_keyed_post(user))

    assert first.status_code == again.status_code == status
    assert len(runs) == 2 and "Idempotent-Replayed" not in again
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("status", [200, 201, 202, 204, 400, 422])
def test_given_a_final_answer_when_the_key_is_sent_again_then_it_is_replayed_with_its_headers(
    status,
):
    user = get_user_model().objects.create_superuser("k", "k@example.com", "pw-123456!")
    middleware, runs = _middleware_answering(
        status, Location="/api/v1/shops/7/", Retry_After="120", X_Custom="kept"
    )

    first = middleware(_keyed_post(user))
    again = middleware(_keyed_post(user))

    assert len(runs) == 1 and again["Idempotent-Replayed"] == "true"
    assert again.status_code == first.status_code == status
    assert again.content == first.content
    assert again["Content-Type"] == "application/json"
    assert again["Location"] == "/api/v1/shops/7/"
    assert again["Retry-After"] == "120"
    assert again["X-Custom"] == "kept"


def test_given_a_throttled_keyed_post_when_retried_after_the_wait_then_it_is_done(api):
    from django.core.cache import cache

    body = shop_fields(code="PV-THROTTLED")
    cache.clear()
    with override_settings(API_THROTTLE_RATE="1/minute"):
        assert api.get("/api/v1/shops/").status_code == 200
        throttled = _post_json(api, "/api/v1/shops/", body, "k-throttled")
        cache.clear()  # the minute has passed
        again = _post_json(api, "/api/v1/shops/", body, "k-throttled")
    cache.clear()
    assert throttled.status_code == 429 and "Retry-After" in throttled
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Shop.objects.filter(code="PV-THROTTLED").count() == 1


def test_given_a_keyed_post_refused_for_permission_when_the_role_is_given_then_the_retry_is_done(
    db,
):
    user = get_user_model().objects.create_user("later", password="pw-123456!")
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")

    body = shop_fields(code="PV-ROLE")
    refused = _post_json(client, "/api/v1/shops/", body, "k-role")
    user.groups.add(Group.objects.get(name="API scripts"))
    again = _post_json(client, "/api/v1/shops/", body, "k-role")

    assert refused.status_code == 403
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Shop.objects.filter(code="PV-ROLE").count() == 1


def test_given_a_replayed_error_when_asked_in_another_language_then_it_keeps_its_own(api):
    from django.conf import settings

    body = shop_fields(code="")
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    first = _post_json(api, "/api/v1/shops/", body, "k-lang")
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    again = _post_json(api, "/api/v1/shops/", body, "k-lang")

    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert first["Content-Language"] == again["Content-Language"] == "en"


# --- optional fields may be omitted --------------------------------------------------------------
def test_given_a_care_request_without_its_optional_type_when_posted_then_it_is_an_information_request(
    api,
):
    from messaging.models import CareRequest
    from tests.loyalty.factories import make_card

    customer = make_card().customer
    response = api.post(
        "/api/v1/care-requests/",
        {"customer": customer.pk, "subject": "Orari", "message": "Quando aprite?"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["type"] == "information"
    assert CareRequest.objects.get().type == "information"


def test_given_a_campaign_without_its_optional_kind_when_posted_then_it_is_a_template_campaign(
    api,
):
    from campaigns.models import Campaign
    from tests.campaigns.factories import campaign_fields, make_shop

    fields = campaign_fields(make_shop())
    body = {
        "shop": fields["shop"].pk,
        "date_send": fields["date_send"].isoformat(),
        "promo_name": fields["promo_name"],
        "image": fields["image_url"],
        "link": fields["link"],
        "template_name": fields["template_name"],
    }
    response = api.post("/api/v1/campaigns/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "template" and Campaign.objects.get().kind == "template"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/call-campaigns/{huge}/records/", "/api/v1/fidelity-cards/{huge}/movements/"],
)
def test_a_parent_id_larger_than_any_database_holds_is_404_not_500(api, path):
    response = api.get(path.format(huge="1824964527103327862784"))
    assert response.status_code == 404
