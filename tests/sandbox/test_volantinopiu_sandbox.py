"""The simulated VolantinoPiù shop API, called as the real one would be (`/api/v2/...`, Bearer
token, JSON in and out), with the Laravel answers the client expects: 401 `Unauthenticated.`,
405, 415, 422 `{"message", "errors": {field: [...]}}`, 404. Then the fault knobs that make it
misbehave on purpose, and the `_knobs` and `_state` control endpoints (an admin session with
the sandbox permissions, and CSRF). Last, the `answers` knob: the document's literal answers
(writes say `{"success": true}` only, lists are bare) and the variants (ids as text, bare
objects, `data` with a `message`)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.utils import timezone

from campaigns.volantinopiu import format_date_send
from core.roles import AUDITOR, MARKETING
from sandbox.knobs import knob_set
from sandbox.models import SandboxKnob, SandboxObject
from sandbox.routers import sandbox_connection
from tests.campaigns.factories import make_shop
from tests.campaigns.images import image_bytes

API = "/sandbox/volantinopiu/api/v2"
KNOBS = "/sandbox/_knobs/volantinopiu"
STATE = "/sandbox/_state/volantinopiu"
pytestmark = pytest.mark.django_db

SHOP = {
    "indirizzo": "Via Roma 1",
    "cap": "20121",
    "citta": "Milano",
    "provincia": "MI",
    "latitude": 45.464211,
    "longitude": 9.191383,
    "codice": "PV-MI-01",
    "mail": "milano@example.com",
    "url": "https://example.com/negozi/milano",
    "descrizione": "Punto vendita del centro",
}


def role_user(django_user_model, username: str, role):
    user = django_user_model.objects.create_user(username, password="pw-123456!")
    user.is_staff = role.staff
    user.save()
    user.groups.add(Group.objects.get(name=role.group))
    return user


@pytest.fixture
def client(client, django_user_model):
    """The test client with a marketing user's admin session, which the control endpoints
    (`_knobs`, `_state`) require. The provider endpoints ignore the session: they check their
    own credentials, as the tests below show."""
    client.force_login(role_user(django_user_model, "marketing", MARKETING))
    return client


def bearer(token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or settings.SANDBOX_AUTH['volantinopiu']['token']}"}


def add(client, body: dict, **headers):
    return client.post(
        f"{API}/addShop", body, content_type="application/json", headers=headers or bearer()
    )


def update(client, body: dict):
    return client.post(f"{API}/updateShop", body, content_type="application/json", headers=bearer())


def delete(client, body: dict):
    return client.delete(
        f"{API}/deleteShop", body, content_type="application/json", headers=bearer()
    )


def list_shops(client):
    return client.get(f"{API}/listShops", headers=bearer())


def stored_shops(client) -> list[dict]:
    return client.get(STATE).json().get("shop", [])


# --- authentication ------------------------------------------------------------------------
def test_given_no_token_when_listing_shops_then_401_unauthenticated(client):
    response = client.get(f"{API}/listShops")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        "Bearer ",
        "Token sandbox-volantinopiu-token",
        "Basic c2FuZGJveDpzYW5kYm94",
        "sandbox-volantinopiu-token",
    ],
)
def test_given_a_wrong_bearer_token_when_calling_then_401_unauthenticated(client, authorization):
    response = client.get(f"{API}/listShops", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_given_no_token_when_adding_a_shop_then_401_and_nothing_is_stored(client):
    response = client.post(f"{API}/addShop", SHOP, content_type="application/json")
    assert response.status_code == 401
    assert stored_shops(client) == []


def test_given_the_right_token_when_listing_an_empty_provider_then_an_empty_wrapped_list(client):
    response = list_shops(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"success": True, "data": []}


# --- method and content type ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "operation"),
    [
        ("post", "listShops"),
        ("get", "addShop"),
        ("put", "addShop"),
        ("get", "updateShop"),
        ("patch", "updateShop"),
        ("post", "deleteShop"),
        ("get", "deleteShop"),
    ],
)
def test_given_the_wrong_method_when_calling_then_405(client, method, operation):
    response = getattr(client, method)(
        f"{API}/{operation}", {}, content_type="application/json", headers=bearer()
    )
    assert response.status_code == 405
    assert response.json() == {"message": f"The {method.upper()} method is not supported."}


@pytest.mark.parametrize("operation", ["addShop", "updateShop"])
def test_given_a_form_body_when_posting_then_415(client, operation):
    response = client.post(f"{API}/{operation}", {"codice": "PV-1"}, headers=bearer())
    assert response.status_code == 415
    assert response.json() == {"message": "Content-Type must be application/json."}
    assert stored_shops(client) == []


def test_given_a_delete_without_a_json_content_type_when_deleting_then_415(client):
    response = client.delete(
        f"{API}/deleteShop", "id=1", content_type="text/plain", headers=bearer()
    )
    assert response.status_code == 415


@pytest.mark.parametrize("raw", ['{"codice": ', "[1, 2]"], ids=["truncated", "not-an-object"])
def test_given_a_json_body_that_is_not_an_object_when_posting_then_400(client, raw):
    response = client.post(f"{API}/addShop", raw, content_type="application/json", headers=bearer())
    assert response.status_code == 400
    assert "message" in response.json()


# --- validation (422, Laravel's shape) -----------------------------------------------------
def test_given_no_codice_indirizzo_citta_when_adding_then_422_with_each_field_required(client):
    response = add(client, {**SHOP, "codice": None, "indirizzo": "", "citta": None})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The codice field is required. (and 2 more errors)",
        "errors": {
            "codice": ["The codice field is required."],
            "indirizzo": ["The indirizzo field is required."],
            "citta": ["The citta field is required."],
        },
    }
    assert stored_shops(client) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("codice", "C" * 51, "The codice field must not be greater than 50 characters."),
        ("codice", 123, "The codice field must be a string."),
        ("cap", "2012", "The cap field format is invalid."),
        ("cap", "2O121", "The cap field format is invalid."),
        ("provincia", "M1", "The provincia field format is invalid."),
        ("provincia", "MIL", "The provincia field must not be greater than 2 characters."),
        ("latitude", 90.5, "The latitude field must be between -90 and 90."),
        ("latitude", -91, "The latitude field must be between -90 and 90."),
        ("longitude", 180.01, "The longitude field must be between -180 and 180."),
        ("latitude", "nord", "The latitude field must be a number."),
        ("mail", "milano-at-example.com", "The mail field must be a valid mail."),
        ("url", "not a url", "The url field must be a valid url."),
    ],
)
def test_given_a_bad_field_when_adding_then_422_naming_that_field(client, field, value, message):
    response = add(client, {**SHOP, field: value})
    assert response.status_code == 422
    body = response.json()
    assert message in body["errors"][field]
    assert body["message"].startswith(body["errors"][field][0])
    assert stored_shops(client) == []


def test_given_an_existing_codice_when_adding_then_422_already_taken(client):
    assert add(client, SHOP).status_code == 201
    response = add(client, {**SHOP, "indirizzo": "Via Torino 5"})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The codice has already been taken.",
        "errors": {"codice": ["The codice has already been taken."]},
    }
    assert len(stored_shops(client)) == 1


def test_given_only_the_required_fields_and_nulls_when_adding_then_201(client):
    body = dict.fromkeys(SHOP) | {"codice": "PV-2", "indirizzo": "Via X 1", "citta": "Roma"}
    response = add(client, body)
    assert response.status_code == 201
    assert response.json()["data"] == {"id": response.json()["data"]["id"], **body}


def test_given_boundary_values_when_adding_then_they_are_accepted(client):
    response = add(
        client,
        {**SHOP, "cap": "00100", "provincia": "rm", "latitude": -90, "longitude": 180},
    )
    assert response.status_code == 201


# --- round trip ----------------------------------------------------------------------------
def test_given_a_new_shop_when_added_listed_updated_and_deleted_then_each_step_is_visible(client):
    added = add(client, SHOP)
    assert added.status_code == 201
    assert added.json()["success"] is True
    shop = added.json()["data"]
    assert shop == {"id": shop["id"], **SHOP}

    listed = list_shops(client).json()
    assert listed == {"success": True, "data": [shop]}

    updated = update(client, {"id": shop["id"], **SHOP, "citta": "Milano 2", "cap": None})
    assert updated.status_code == 200
    assert updated.json() == {
        "success": True,
        "data": {**shop, "citta": "Milano 2", "cap": None},
    }
    assert list_shops(client).json()["data"] == [{**shop, "citta": "Milano 2", "cap": None}]

    deleted = delete(client, {"id": shop["id"]})
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "message": "Shop deleted."}
    assert list_shops(client).json() == {"success": True, "data": []}


def test_given_two_shops_when_listing_then_they_come_in_creation_order(client):
    first = add(client, SHOP).json()["data"]["id"]
    second = add(client, {**SHOP, "codice": "PV-MI-02"}).json()["data"]["id"]
    assert [s["id"] for s in list_shops(client).json()["data"]] == [first, second]


def test_given_a_shop_when_updated_with_its_own_codice_then_it_is_not_a_duplicate(client):
    shop_id = add(client, SHOP).json()["data"]["id"]
    response = update(client, {"id": shop_id, **SHOP, "descrizione": "Nuova"})
    assert response.status_code == 200
    assert response.json()["data"]["descrizione"] == "Nuova"


def test_given_two_shops_when_one_takes_the_others_codice_then_422(client):
    add(client, SHOP)
    other = add(client, {**SHOP, "codice": "PV-MI-02"}).json()["data"]["id"]
    response = update(client, {"id": other, **SHOP})
    assert response.status_code == 422
    assert response.json()["errors"] == {"codice": ["The codice has already been taken."]}
    assert [s["codice"] for s in stored_shops(client)] == ["PV-MI-01", "PV-MI-02"]


def test_given_a_shop_whose_codice_changed_then_the_old_one_is_free_and_the_new_one_taken(client):
    shop_id = add(client, SHOP).json()["data"]["id"]
    assert update(client, {"id": shop_id, **SHOP, "codice": "PV-MI-09"}).status_code == 200
    assert add(client, {**SHOP, "codice": "PV-MI-09"}).status_code == 422
    assert add(client, SHOP).status_code == 201
    assert [s["codice"] for s in stored_shops(client)] == ["PV-MI-09", "PV-MI-01"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_the_codice_check_reads_an_index_not_every_shop():
    # With the code looked up in the JSON data, each addShop read every shop held: the sandbox
    # slowed down as a benchmark filled it, and so did whatever was measured after.
    clash = SandboxObject.objects.filter(
        provider="volantinopiu", kind="shop", natural_key="PV-MI-01"
    )
    sql, params = clash.query.sql_with_params()
    with sandbox_connection().cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(row[-1] for row in cursor.fetchall())
    assert "sandbox_natural_key_idx" in plan, plan


def test_given_a_shop_when_updated_with_a_bad_field_then_422_and_it_is_unchanged(client):
    shop_id = add(client, SHOP).json()["data"]["id"]
    response = update(client, {"id": shop_id, **SHOP, "cap": "123"})
    assert response.status_code == 422
    assert "cap" in response.json()["errors"]
    assert stored_shops(client) == [{"id": shop_id, **SHOP}]


@pytest.mark.parametrize("unknown", [999999, "999999", "abc"])
def test_given_an_unknown_id_when_updating_then_404_shop_not_found(client, unknown):
    response = update(client, {"id": unknown, **SHOP})
    assert response.status_code == 404
    assert response.json() == {"message": "Shop not found."}
    assert stored_shops(client) == []


@pytest.mark.parametrize("unknown", [999999, "abc"])
def test_given_an_unknown_id_when_deleting_then_404_shop_not_found(client, unknown):
    add(client, SHOP)
    response = delete(client, {"id": unknown})
    assert response.status_code == 404
    assert response.json() == {"message": "Shop not found."}
    assert len(stored_shops(client)) == 1


def test_given_a_deleted_shop_when_deleted_again_then_404(client):
    shop_id = add(client, SHOP).json()["data"]["id"]
    assert delete(client, {"id": shop_id}).status_code == 200
    assert delete(client, {"id": shop_id}).status_code == 404


@pytest.mark.parametrize("call", [update, delete], ids=["updateShop", "deleteShop"])
def test_given_no_id_when_updating_or_deleting_then_422_id_required(client, call):
    response = call(client, {**SHOP} if call is update else {})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The id field is required.",
        "errors": {"id": ["The id field is required."]},
    }


# --- fault knobs ---------------------------------------------------------------------------
def test_given_a_forced_status_with_a_count_when_calling_then_it_counts_down_to_normal(client):
    knob_set(provider="volantinopiu", forced_status=503, forced_remaining=2)

    statuses = [list_shops(client).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert SandboxKnob.objects.get(provider="volantinopiu").forced_remaining == 0


def test_given_a_forced_status_without_a_count_when_adding_then_every_call_fails_unacted(client):
    knob_set(provider="volantinopiu", forced_status=500)
    responses = [add(client, {**SHOP, "codice": f"PV-{n}"}) for n in range(3)]
    assert [r.status_code for r in responses] == [500, 500, 500]
    assert responses[0].json() == {"message": "Sandbox forced status 500."}
    assert stored_shops(client) == []


def test_given_a_forced_status_when_calling_without_a_token_then_the_forced_status_wins(client):
    knob_set(provider="volantinopiu", forced_status=429, forced_remaining=1)
    assert client.get(f"{API}/listShops").status_code == 429
    assert client.get(f"{API}/listShops").status_code == 401


def test_given_error_rate_one_when_adding_then_500_server_error_without_acting(client):
    knob_set(provider="volantinopiu", error_rate=1.0)
    response = add(client, SHOP)
    assert response.status_code == 500
    assert response.json() == {"message": "Server Error"}
    assert stored_shops(client) == []


def test_given_error_rate_zero_when_adding_then_nothing_fails(client):
    knob_set(provider="volantinopiu", error_rate=0.0)
    assert [add(client, {**SHOP, "codice": f"PV-{n}"}).status_code for n in range(5)] == [201] * 5


def test_given_malformed_json_when_adding_then_it_acts_but_the_body_is_not_json(client):
    knob_set(provider="volantinopiu", malformed_json=True)

    response = add(client, SHOP)

    assert 200 <= response.status_code < 300
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert [s["codice"] for s in stored_shops(client)] == ["PV-MI-01"]


def test_given_malformed_json_when_deleting_then_the_shop_is_gone_anyway(client):
    shop_id = add(client, SHOP).json()["data"]["id"]
    knob_set(provider="volantinopiu", malformed_json=True)
    response = delete(client, {"id": shop_id})
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert stored_shops(client) == []


def test_given_malformed_json_when_the_call_fails_then_the_error_body_stays_json(client):
    knob_set(provider="volantinopiu", malformed_json=True)
    response = add(client, {**SHOP, "cap": "x"})
    assert response.status_code == 422
    assert "cap" in response.json()["errors"]


def test_given_a_concurrency_cap_of_zero_when_calling_then_429_without_acting(client):
    knob_set(provider="volantinopiu", concurrency_cap=0)
    response = add(client, SHOP)
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Requests."}
    assert stored_shops(client) == []


def test_given_a_concurrency_cap_of_one_when_calling_in_turn_then_each_is_served_and_released(
    client,
):
    knob_set(provider="volantinopiu", concurrency_cap=1)
    assert [list_shops(client).status_code for _ in range(3)] == [200, 200, 200]
    knob = SandboxKnob.objects.get(provider="volantinopiu")
    assert (knob.in_flight, knob.max_in_flight) == (0, 1)


def test_given_an_unknown_knob_when_setting_it_then_value_error(client):
    with pytest.raises(ValueError, match="Unknown knobs: speed"):
        knob_set(provider="volantinopiu", speed=11)


def test_given_the_sandbox_is_off_when_calling_then_404(client, settings):
    settings.SANDBOX_ENABLED = False
    assert list_shops(client).status_code == 404
    assert client.get(KNOBS).status_code == 404
    assert client.get(STATE).status_code == 404


# --- the control endpoints -----------------------------------------------------------------
def test_given_no_knobs_set_when_reading_them_then_the_defaults(client):
    response = client.get(KNOBS)
    assert response.status_code == 200
    assert response.json() == {
        "latency_ms": 0,
        "latency_after_ms": 0,
        "answer_time_ms": 0,
        "error_rate": 0.0,
        "forced_status": None,
        "forced_remaining": None,
        "malformed_json": False,
        "concurrency_cap": None,
        "in_flight": 0,
        "max_in_flight": 0,
        "answers": "",
    }


def test_given_knobs_posted_in_two_steps_then_the_first_ones_are_kept_and_take_effect(client):
    first = client.post(KNOBS, {"forced_status": 503}, content_type="application/json")
    second = client.post(KNOBS, {"forced_remaining": 1}, content_type="application/json")

    assert first.status_code == second.status_code == 200
    assert (second.json()["forced_status"], second.json()["forced_remaining"]) == (503, 1)
    assert [list_shops(client).status_code for _ in range(2)] == [503, 200]
    assert client.get(KNOBS).json()["forced_remaining"] == 0


def test_given_an_unknown_knob_when_posting_it_then_400_and_nothing_changes(client):
    response = client.post(KNOBS, {"speed": 11}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"message": "Unknown knobs: speed"}
    assert not SandboxKnob.objects.exists()


def test_given_a_body_that_is_not_json_when_posting_knobs_then_400(client):
    response = client.post(KNOBS, "forced_status=500", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "values",
    [{"forced_status": -1}, {"error_rate": "often"}],
    ids=["negative-status", "rate-not-a-number"],
)
def test_given_an_invalid_knob_value_when_posting_it_then_400(client, values):
    response = client.post(KNOBS, values, content_type="application/json")
    assert response.status_code == 400


def test_given_knobs_set_when_deleting_them_then_they_are_back_to_defaults(client):
    knob_set(provider="volantinopiu", forced_status=500, concurrency_cap=0)
    assert client.delete(KNOBS).json() == {}
    assert client.get(KNOBS).json()["forced_status"] is None
    assert list_shops(client).status_code == 200


def test_given_another_providers_knobs_when_calling_volantinopiu_then_they_do_not_apply(client):
    knob_set(provider="amm", forced_status=500)
    assert list_shops(client).status_code == 200
    assert client.get("/sandbox/_knobs/amm").json()["forced_status"] == 500


@pytest.mark.parametrize("endpoint", ["/sandbox/_knobs/nobody", "/sandbox/_state/nobody"])
def test_given_an_unknown_provider_when_using_the_control_endpoints_then_404(client, endpoint):
    assert client.get(endpoint).status_code == 404


def test_given_shops_when_reading_the_state_then_they_are_listed_by_kind(client):
    first = add(client, SHOP).json()["data"]["id"]
    second = add(client, {**SHOP, "codice": "PV-MI-02"}).json()["data"]["id"]

    state = client.get(STATE).json()

    assert list(state) == ["shop"]
    assert state["shop"] == [
        {"id": first, **SHOP},
        {"id": second, **SHOP, "codice": "PV-MI-02"},
    ]


def test_given_shops_when_deleting_the_state_then_the_provider_is_empty(client):
    add(client, SHOP)
    assert client.delete(STATE).json() == {}
    assert client.get(STATE).json() == {}
    assert list_shops(client).json()["data"] == []


# --- who may use the control endpoints -----------------------------------------------------
CONTROL_CALLS = [
    ("get", KNOBS),
    ("post", KNOBS),
    ("delete", KNOBS),
    ("get", STATE),
    ("delete", STATE),
]


def control_call(client, method: str, endpoint: str):
    body = {"forced_status": 500} if method == "post" else None
    return getattr(client, method)(endpoint, body, content_type="application/json")


def assert_untouched(shops: int = 1):
    """The knob and the shops that `with_knob_and_shop` set are still there, as they were."""
    knob = SandboxKnob.objects.get(provider="volantinopiu")
    assert (knob.latency_ms, knob.forced_status) == (7, None)
    assert SandboxObject.objects.filter(provider="volantinopiu", kind="shop").count() == shops


@pytest.fixture
def with_knob_and_shop(client):
    knob_set(provider="volantinopiu", latency_ms=7)
    add(client, SHOP)


@pytest.mark.parametrize(("method", "endpoint"), CONTROL_CALLS)
def test_given_no_session_when_using_the_control_endpoints_then_401_json_and_nothing_changes(
    with_knob_and_shop, client, method, endpoint
):
    response = control_call(Client(), method, endpoint)

    assert response.status_code == 401  # not a redirect to the HTML login page
    assert response["Content-Type"] == "application/json"
    assert "message" in response.json()
    assert_untouched()


@pytest.mark.parametrize(("method", "endpoint"), CONTROL_CALLS)
def test_given_a_store_manager_when_using_the_control_endpoints_then_403_and_nothing_changes(
    with_knob_and_shop, deliver, django_user_model, method, endpoint
):
    with deliver():
        make_shop(code="PV-KNOB")
    call_command("createstoremanager", "mario", "--shop", "PV-KNOB", stdout=StringIO())
    store_manager = Client()
    store_manager.force_login(django_user_model.objects.get(username="mario"))

    response = control_call(store_manager, method, endpoint)

    assert response.status_code == 403
    assert "message" in response.json()
    assert_untouched(shops=2)  # the sandbox holds PV-KNOB too


def test_given_an_auditor_when_using_the_control_endpoints_then_they_read_but_change_nothing(
    with_knob_and_shop, client, django_user_model
):
    auditor = Client()
    auditor.force_login(role_user(django_user_model, "revisore", AUDITOR))

    assert auditor.get(KNOBS).json()["latency_ms"] == 7
    assert [shop["codice"] for shop in auditor.get(STATE).json()["shop"]] == [SHOP["codice"]]
    refused = [control_call(auditor, m, e).status_code for m, e in CONTROL_CALLS if m != "get"]
    assert refused == [403, 403, 403]
    assert_untouched()


def csrf_pair() -> tuple[str, str]:
    """A CSRF cookie value and a token for it, as a page of the admin would hand out."""
    request = RequestFactory().get("/")
    token = get_token(request)
    return request.META["CSRF_COOKIE"], token


@pytest.mark.parametrize(("method", "endpoint"), [(m, e) for m, e in CONTROL_CALLS if m != "get"])
def test_given_a_staff_session_without_the_csrf_token_when_changing_then_403_and_nothing_changes(
    with_knob_and_shop, client, django_user_model, method, endpoint
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.get(username="marketing"))
    cookie, token = csrf_pair()
    browser.cookies["csrftoken"] = cookie

    assert control_call(browser, method, endpoint).status_code == 403  # cookie, no header
    assert_untouched()

    accepted = getattr(browser, method)(
        endpoint,
        {"forced_status": 500} if method == "post" else None,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200


def test_given_a_control_endpoint_when_called_with_another_method_then_405(client):
    assert client.put(KNOBS, {}, content_type="application/json").status_code == 405
    assert client.post(STATE, {}, content_type="application/json").status_code == 405


def test_given_an_answer_time_when_calling_then_the_answer_takes_that_long_in_all(client):
    """A floor on the whole answer, the sandbox's own work included, not added on top."""
    import time

    knob_set(provider="volantinopiu", answer_time_ms=300)
    started = time.monotonic()
    assert list_shops(client).status_code == 200
    assert 0.3 <= time.monotonic() - started < 0.3 + 0.25


# --- the `answers` knob: the document's literal answers and the variants --------------------
def png() -> bytes:
    return image_bytes("PNG")


def upload(client):
    return client.post(
        f"{API}/uploadMedia",
        {"file": SimpleUploadedFile("promo.png", png(), content_type="image/png")},
        headers=bearer(),
    )


def register(client, pv_id, kind="template"):
    body = {
        "pv_id": pv_id,
        "image": "https://cdn.example.com/promo.jpg",
        "date_send": format_date_send(timezone.now() + timedelta(days=3)),
        "promo_name": "Sottocosto",
    }
    if kind == "flyer":
        body["flyer_link"] = "https://example.com/v.pdf"
        operation = "registerCampaignFlyer"
    else:
        body |= {"link": "https://example.com/p", "template_name": "promo"}
        operation = "registerCampaign"
    return client.post(
        f"{API}/{operation}", body, content_type="application/json", headers=bearer()
    )


def every_answer(client) -> dict[str, tuple[int, object]]:
    """One of each call, in order; each answer's status and JSON body."""
    answers = {}

    def keep(name, response):
        answers[name] = (response.status_code, response.json())
        return response

    keep("addShop", add(client, SHOP))
    shop_id = SandboxObject.objects.get(kind="shop", natural_key="PV-MI-01").pk
    keep("updateShop", update(client, {**SHOP, "id": shop_id, "citta": "Monza"}))
    keep("listShops", list_shops(client))
    keep("uploadMedia", upload(client))
    keep("listMedia", client.get(f"{API}/listMedia", headers=bearer()))
    keep("registerCampaign", register(client, shop_id))
    keep("registerCampaignFlyer", register(client, str(shop_id), kind="flyer"))
    campaign_id = SandboxObject.objects.filter(kind="campaign").order_by("pk").first().pk
    keep("listCampaigns", client.get(f"{API}/listCampaigns", headers=bearer()))
    keep("getCampaign", client.get(f"{API}/listCampaigns?id={campaign_id}", headers=bearer()))
    keep(
        "deleteCampaign",
        client.delete(
            f"{API}/deleteCampaign",
            {"id": campaign_id},
            content_type="application/json",
            headers=bearer(),
        ),
    )
    keep("deleteShop", delete(client, {"id": SandboxObject.objects.get(kind="shop").pk + 1000}))
    return answers


def test_given_the_usual_answers_then_everything_is_wrapped_in_success_and_data(client):
    answers = every_answer(client)
    for name in ("addShop", "uploadMedia", "registerCampaign", "registerCampaignFlyer"):
        status, body = answers[name]
        assert status == 201 and body["success"] is True and isinstance(body["data"]["id"], int)
    for name in ("listShops", "listMedia", "listCampaigns"):
        status, body = answers[name]
        assert status == 200 and body["success"] is True and isinstance(body["data"], list)
    assert answers["deleteCampaign"] == (200, {"success": True, "message": "Campaign deleted."})


def test_given_document_answers_then_writes_say_success_only_and_lists_are_bare(client):
    knob_set(provider="volantinopiu", answers="document")
    answers = every_answer(client)
    for name in (
        "addShop",
        "updateShop",
        "uploadMedia",
        "registerCampaign",
        "registerCampaignFlyer",
        "deleteCampaign",
    ):
        assert answers[name] == (200, {"success": True}), name
    for name in ("listShops", "listMedia", "listCampaigns"):
        status, body = answers[name]
        assert status == 200 and isinstance(body, list) and body, name
        assert all(isinstance(item["id"], int) for item in body)
    status, campaign = answers["getCampaign"]
    assert status == 200 and isinstance(campaign, dict) and isinstance(campaign["id"], int)
    # Only the success answers change: a refusal is the same Laravel body.
    assert answers["deleteShop"] == (404, {"message": "Shop not found."})
    # …and what was asked was done.
    [shop] = list_shops(client).json()
    assert shop["citta"] == "Monza"
    assert len(SandboxObject.objects.filter(kind="media")) == 1
    assert len(SandboxObject.objects.filter(kind="campaign")) == 1


def test_given_variant_answers_then_ids_are_text_and_wrappers_vary(client):
    knob_set(provider="volantinopiu", answers="variant")
    answers = every_answer(client)

    status, shop = answers["addShop"]  # a bare object
    assert status == 201 and shop["id"].isdigit() and shop["codice"] == "PV-MI-01"
    assert isinstance(shop["latitude"], str)
    status, updated = answers["updateShop"]  # an API resource with a message
    assert updated == {"data": {**shop, "citta": "Monza"}, "message": "Shop updated."}
    status, listed = answers["listShops"]
    assert listed == {"data": [updated["data"]], "message": "Shops retrieved."}
    status, media = answers["uploadMedia"]
    assert status == 201 and media["message"] == "Media uploaded."
    assert media["data"]["id"].isdigit() and media["data"]["size"] == str(len(png()))
    status, listed_media = answers["listMedia"]  # a bare list
    assert listed_media == [media["data"]]
    status, campaign = answers["registerCampaign"]  # a bare object
    assert status == 201 and campaign["id"].isdigit() and campaign["pv_id"] == shop["id"]
    status, campaigns = answers["listCampaigns"]
    assert [c["id"] for c in campaigns["data"]] == [
        campaign["id"],
        answers["registerCampaignFlyer"][1]["id"],
    ]
    assert answers["getCampaign"] == (200, campaign)
    assert answers["deleteCampaign"] == (200, {"message": "Campaign deleted."})
    assert answers["deleteShop"] == (404, {"message": "Shop not found."})


@pytest.mark.parametrize("style", ["document", "variant"])
def test_given_any_answer_style_then_a_validation_error_is_the_same_422(client, style):
    knob_set(provider="volantinopiu", answers=style)
    assert add(client, SHOP).status_code in (200, 201)
    response = add(client, SHOP)
    assert response.status_code == 422
    assert response.json()["errors"] == {"codice": ["The codice has already been taken."]}
