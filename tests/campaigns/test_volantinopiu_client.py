"""VolantinoPiù shop calls, read against the provider's document ("Gestione Negozi"):
GET listShops, POST addShop, POST updateShop (with `id`), DELETE deleteShop (JSON `{"id"}`),
each with `Authorization: Bearer …`, `Content-Type` and `Accept: application/json`, and the
Italian field names. Then how answers are read, how failures are classified for the outbox, and
what the call log keeps of each call."""

import json
from decimal import Decimal
from http.client import RemoteDisconnected

import pytest
import requests
import responses
from django.conf import settings
from requests.adapters import HTTPAdapter
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from campaigns.volantinopiu import RemoteShop, ShopData, VolantinoPiuClient
from core import http as core_http
from core.errors import (
    ContractDrift,
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from core.models import RemoteCall
from tests.sandbox_transport import SANDBOX_ORIGIN, DjangoSandboxAdapter

BASE = "https://restapi.volantinopiu.it/api/v2"
TOKEN = "vp-secret-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}
pytestmark = pytest.mark.django_db  # every call is written to the call log (RemoteCall)

MILANO = ShopData(
    code="PV-MI-01",
    address="Via Roma 1",
    city="Milano",
    postal_code="20121",
    province="MI",
    latitude=Decimal("45.464211"),
    longitude=Decimal("9.191383"),
    email="milano@example.com",
    url="https://example.com/negozi/milano",
    description="Punto vendita del centro",
)
MILANO_WIRE = {
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


@pytest.fixture
def client():
    return VolantinoPiuClient(base_url=BASE, token=TOKEN)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def heard(monkeypatch):
    """The CallRecords the call listeners receive (the call log's own listener stays on)."""
    records: list[core_http.CallRecord] = []
    monkeypatch.setattr(core_http, "_listeners", [*core_http._listeners])
    core_http.add_call_listener(records.append)
    return records


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens on the port: the request never left."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
    return requests.ConnectionError(MaxRetryError(None, f"{BASE}/addShop", reason))


def dropped() -> requests.ConnectionError:
    """What requests raises when the server hangs up after the request was sent."""
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection"))
    )


# --- GET listShops -------------------------------------------------------------------------
def test_list_shops_is_a_get_to_listShops_with_the_bearer_token_and_accept_json(client, api):
    api.get(
        f"{BASE}/listShops",
        json={"success": True, "data": [{"id": 17, **MILANO_WIRE}]},
        match=[matchers.header_matcher(HEADERS)],
    )

    [shop] = client.list_shops()

    request = api.calls[0].request
    assert (request.method, request.url) == ("GET", f"{BASE}/listShops")
    assert request.body is None
    assert shop.id == "17"
    assert shop.data == MILANO


def test_list_shops_reads_a_bare_list_as_well_as_a_wrapped_one(client, api):
    api.get(
        f"{BASE}/listShops",
        json=[{"id": 1, **MILANO_WIRE}, {"id": 2, **MILANO_WIRE, "codice": "PV-MI-02"}],
    )
    assert [(s.id, s.data.code) for s in client.list_shops()] == [
        ("1", "PV-MI-01"),
        ("2", "PV-MI-02"),
    ]


def test_list_shops_reads_nulls_as_empty_text_and_coordinates_as_decimals(client, api):
    api.get(
        f"{BASE}/listShops",
        json={
            "success": True,
            "data": [
                {
                    "id": 3,
                    "codice": "PV-RM-01",
                    "indirizzo": "Via del Corso 10",
                    "citta": "Roma",
                    "cap": None,
                    "provincia": None,
                    "latitude": "41.9028",
                    "longitude": 12.4964,
                    "mail": None,
                    "url": None,
                    "descrizione": None,
                }
            ],
        },
    )
    [shop] = client.list_shops()
    assert shop.data == ShopData(
        code="PV-RM-01",
        address="Via del Corso 10",
        city="Roma",
        latitude=Decimal("41.9028"),
        longitude=Decimal("12.4964"),
    )


def test_list_shops_with_no_shops_is_an_empty_list(client, api):
    api.get(f"{BASE}/listShops", json={"success": True, "data": []})
    assert client.list_shops() == []


def test_list_shops_answer_that_is_not_a_list_is_a_contract_drift_naming_data(client, api):
    api.get(f"{BASE}/listShops", json={"success": True, "data": {"id": 1}})
    with pytest.raises(ContractDrift) as unreadable:
        client.list_shops()
    assert unreadable.value.fields == ("data",)
    assert unreadable.value.outcome_unknown
    assert not unreadable.value.retryable


# --- POST addShop --------------------------------------------------------------------------
def test_add_shop_posts_every_documented_field_with_its_italian_name(client, api):
    api.post(
        f"{BASE}/addShop",
        status=201,
        json={"success": True, "data": {"id": 42, **MILANO_WIRE}},
        match=[
            matchers.header_matcher(JSON_HEADERS),
            matchers.json_params_matcher(MILANO_WIRE, strict_match=True),
        ],
    )

    remote = client.add_shop(MILANO)

    assert api.calls[0].request.method == "POST"
    assert remote.id == "42"
    assert remote.data == MILANO


def test_add_shop_sends_empty_optional_fields_as_null(client, api):
    api.post(
        f"{BASE}/addShop",
        json={"success": True, "data": {"id": 43}},
        match=[
            matchers.json_params_matcher(
                {
                    "indirizzo": "Piazza Duomo 2",
                    "cap": None,
                    "citta": "Milano",
                    "provincia": None,
                    "latitude": None,
                    "longitude": None,
                    "codice": "PV-MI-02",
                    "mail": None,
                    "url": None,
                    "descrizione": None,
                },
                strict_match=True,
            )
        ],
    )
    client.add_shop(ShopData(code="PV-MI-02", address="Piazza Duomo 2", city="Milano"))
    body = json.loads(api.calls[0].request.body)
    assert set(body) == {
        "indirizzo",
        "cap",
        "citta",
        "provincia",
        "latitude",
        "longitude",
        "codice",
        "mail",
        "url",
        "descrizione",
    }


def test_add_shop_sends_a_zero_coordinate_as_a_number_not_as_null(client, api):
    api.post(f"{BASE}/addShop", json={"success": True, "data": {"id": 44}})
    client.add_shop(
        ShopData(code="PV-EQ", address="x", city="y", latitude=Decimal("0"), longitude=0.0)
    )
    body = json.loads(api.calls[0].request.body)
    assert (body["latitude"], body["longitude"]) == (0.0, 0.0)


def test_add_shop_reads_a_bare_object_as_well_as_a_wrapped_one(client, api):
    api.post(f"{BASE}/addShop", json={"id": 45, **MILANO_WIRE})
    assert client.add_shop(MILANO).id == "45"


def test_add_shop_answered_success_without_an_id_returns_the_shop_with_no_id(client, api):
    # campaigns.sync then finds it by listing (tests/campaigns/test_volantinopiu_contract.py).
    api.post(f"{BASE}/addShop", json={"success": True, "data": {}})
    remote = client.add_shop(MILANO)
    assert (remote.id, remote.data) == (None, MILANO)


def test_add_shop_answer_without_an_id_nor_success_is_a_contract_drift(client, api):
    api.post(f"{BASE}/addShop", json={"data": {"codice": "PV-MI-01"}})
    with pytest.raises(ContractDrift) as unreadable:
        client.add_shop(MILANO)
    assert unreadable.value.fields == ("data.id",)
    assert unreadable.value.outcome_unknown  # the shop may exist: look before adding again


def test_add_shop_answered_success_false_is_a_rejection(client, api):
    api.post(f"{BASE}/addShop", json={"success": False, "message": "Codice già presente"})
    with pytest.raises(ProviderRejected) as rejected:
        client.add_shop(MILANO)
    assert "Codice già presente" in str(rejected.value)
    assert not rejected.value.retryable


# --- POST updateShop -----------------------------------------------------------------------
def test_update_shop_posts_the_id_as_a_number_with_every_field(client, api):
    api.post(
        f"{BASE}/updateShop",
        json={"success": True, "data": {"id": 17, **MILANO_WIRE}},
        match=[
            matchers.header_matcher(JSON_HEADERS),
            matchers.json_params_matcher({"id": 17, **MILANO_WIRE}, strict_match=True),
        ],
    )
    remote = client.update_shop("17", MILANO)
    assert api.calls[0].request.method == "POST"
    assert (remote.id, remote.data) == ("17", MILANO)


def test_update_shop_keeps_an_id_that_is_not_a_number_as_text(client, api):
    api.post(
        f"{BASE}/updateShop",
        json={"success": True},
        match=[matchers.json_params_matcher({"id": "shop-abc", **MILANO_WIRE}, strict_match=True)],
    )
    assert client.update_shop("shop-abc", MILANO).id == "shop-abc"


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"success": True, "message": "Shop updated."}},
        {"json": {"success": True, "data": None}},
        {"body": ""},
    ],
    ids=["message-only", "data-null", "empty-body"],
)
def test_update_shop_answered_without_the_shop_returns_what_was_sent(client, api, answer):
    api.post(f"{BASE}/updateShop", **answer)
    remote = client.update_shop("17", MILANO)
    assert (remote.id, remote.data) == ("17", MILANO)


def test_update_shop_prefers_the_providers_copy_when_it_sends_one(client, api):
    api.post(
        f"{BASE}/updateShop",
        json={"success": True, "data": {"id": 17, **MILANO_WIRE, "provincia": "mi"}},
    )
    assert client.update_shop("17", MILANO).data.province == "mi"


def test_update_shop_of_an_unknown_id_is_not_found(client, api):
    api.post(f"{BASE}/updateShop", status=404, json={"message": "Shop not found."})
    with pytest.raises(ProviderNotFound) as missing:
        client.update_shop("999", MILANO)
    assert (missing.value.status, missing.value.retryable) == (404, False)
    assert "Shop not found." in str(missing.value)


# --- DELETE deleteShop ---------------------------------------------------------------------
def test_delete_shop_is_a_delete_with_the_id_in_a_json_body(client, api):
    api.delete(
        f"{BASE}/deleteShop",
        json={"success": True, "message": "Shop deleted."},
        match=[
            matchers.header_matcher(JSON_HEADERS),
            matchers.json_params_matcher({"id": 17}, strict_match=True),
        ],
    )
    assert client.delete_shop("17") is None
    request = api.calls[0].request
    assert (request.method, request.url) == ("DELETE", f"{BASE}/deleteShop")


def test_delete_shop_of_an_unknown_id_is_not_found(client, api):
    api.delete(f"{BASE}/deleteShop", status=404, json={"message": "Shop not found."})
    with pytest.raises(ProviderNotFound):
        client.delete_shop("999")


def test_delete_shop_answered_success_false_is_a_rejection(client, api):
    api.delete(f"{BASE}/deleteShop", json={"success": False, "message": "Negozio non eliminato"})
    with pytest.raises(ProviderRejected):
        client.delete_shop("17")


# --- HTTP failures -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "error_class", "retryable"),
    [
        (401, {"message": "Unauthenticated."}, ProviderAuthError, False),
        (403, {"message": "This action is unauthorized."}, ProviderAuthError, False),
        (404, {"message": "Shop not found."}, ProviderNotFound, False),
        (429, {"message": "Too Many Attempts."}, ProviderRateLimited, True),
        (500, {"message": "Server Error"}, ProviderUnavailable, True),
        (502, {"message": "Bad Gateway"}, ProviderUnavailable, True),
        (503, {"message": "Service Unavailable"}, ProviderUnavailable, True),
    ],
)
def test_an_http_error_status_maps_to_its_error_class(
    client, api, status, body, error_class, retryable
):
    api.post(f"{BASE}/addShop", status=status, json=body)
    with pytest.raises(error_class) as failure:
        client.add_shop(MILANO)
    error = failure.value
    assert (error.status, error.code, error.retryable) == (status, f"HTTP_{status}", retryable)
    assert not error.outcome_unknown  # an HTTP answer tells us what happened
    assert body["message"] in str(error)


def test_a_422_with_laravel_field_errors_is_a_validation_rejection_naming_the_field(client, api):
    api.post(
        f"{BASE}/addShop",
        status=422,
        json={
            "message": "The codice has already been taken.",
            "errors": {"codice": ["The codice has already been taken."]},
        },
    )
    with pytest.raises(ProviderRejected) as rejected:
        client.add_shop(MILANO)
    error = rejected.value
    assert type(error) is ProviderRejected
    assert (error.code, error.status, error.retryable) == ("VALIDATION", 422, False)
    assert "codice: The codice has already been taken." in str(error)


def test_a_422_on_several_fields_names_each_field(client, api):
    api.post(
        f"{BASE}/updateShop",
        status=422,
        json={
            "message": "The cap field format is invalid. (and 1 more error)",
            "errors": {
                "cap": ["The cap field format is invalid."],
                "latitude": ["The latitude field must be between -90 and 90."],
            },
        },
    )
    with pytest.raises(ProviderRejected) as rejected:
        client.update_shop("17", MILANO)
    assert str(rejected.value) == (
        "[VALIDATION] cap: The cap field format is invalid.; "
        "latitude: The latitude field must be between -90 and 90."
    )


def test_an_error_body_that_is_not_json_is_not_shown_or_stored(client, api):
    # An unknown body may carry anything (even echoed personal data): the status says enough.
    api.get(f"{BASE}/listShops", status=502, body="<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(ProviderUnavailable) as failure:
        client.list_shops()
    assert failure.value.code == "HTTP_502"
    assert "<html>" not in str(failure.value)


def test_a_redirect_is_not_followed_and_is_a_rejection(client, api):
    api.get(f"{BASE}/listShops", status=302, headers={"Location": "https://login.example.com/"})
    with pytest.raises(ProviderRejected) as failure:
        client.list_shops()
    assert failure.value.status == 302
    assert len(api.calls) == 1


# --- transport failures --------------------------------------------------------------------
def test_a_refused_connection_is_unavailable_and_known_not_to_have_reached_the_provider(
    client, api
):
    api.post(f"{BASE}/addShop", body=refused())
    with pytest.raises(ProviderUnavailable) as failure:
        client.add_shop(MILANO)
    error = failure.value
    assert type(error) is ProviderUnavailable
    assert (error.code, error.retryable, error.outcome_unknown) == ("CONNECTION", True, False)


def test_a_connect_timeout_is_unavailable_and_known_not_to_have_been_sent(client, api):
    api.post(f"{BASE}/addShop", body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(ProviderUnavailable) as failure:
        client.add_shop(MILANO)
    assert type(failure.value) is ProviderUnavailable
    assert (failure.value.code, failure.value.outcome_unknown) == ("CONNECTION", False)


def test_a_read_timeout_is_a_timeout_whose_outcome_is_unknown(client, api):
    api.post(f"{BASE}/addShop", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderTimeout) as failure:
        client.add_shop(MILANO)
    error = failure.value
    assert (error.code, error.retryable, error.outcome_unknown) == ("TIMEOUT", True, True)


def test_a_connection_dropped_after_sending_is_a_timeout_whose_outcome_is_unknown(client, api):
    api.post(f"{BASE}/addShop", body=dropped())
    with pytest.raises(ProviderTimeout) as failure:
        client.add_shop(MILANO)
    assert (failure.value.code, failure.value.outcome_unknown) == ("CONNECTION_LOST", True)


@pytest.mark.parametrize(
    ("method", "operation", "call"),
    [
        ("GET", "listShops", lambda c: c.list_shops()),
        ("POST", "addShop", lambda c: c.add_shop(MILANO)),
        ("POST", "updateShop", lambda c: c.update_shop("17", MILANO)),
    ],
    ids=["listShops", "addShop", "updateShop"],
)
def test_a_malformed_json_answer_on_200_is_an_unknown_outcome(client, api, method, operation, call):
    api.add(method, f"{BASE}/{operation}", status=200, body='{"success": tru')
    with pytest.raises(ProviderTimeout) as failure:
        call(client)
    error = failure.value
    assert (error.code, error.status, error.outcome_unknown) == ("MALFORMED_RESPONSE", 200, True)


def test_a_malformed_json_answer_to_delete_is_an_unknown_outcome(client, api):
    # The delete is retried; a repeat finds the shop gone (404), which counts as deleted.
    api.delete(f"{BASE}/deleteShop", status=200, body='{"success": tru')
    with pytest.raises(ProviderTimeout) as unknown:
        client.delete_shop("17")
    assert unknown.value.outcome_unknown


# --- configuration -------------------------------------------------------------------------
def test_a_base_url_with_a_trailing_slash_is_joined_with_one_slash(api):
    api.get(f"{BASE}/listShops", json=[])
    VolantinoPiuClient(base_url=f"{BASE}/", token=TOKEN).list_shops()
    assert api.calls[0].request.url == f"{BASE}/listShops"


def test_the_connect_and_read_timeouts_are_passed_on_every_call(api):
    api.get(f"{BASE}/listShops", json=[])
    VolantinoPiuClient(base_url=BASE, token=TOKEN, connect_timeout=2, read_timeout=9).list_shops()
    assert api.calls[0].request.req_kwargs["timeout"] == (2, 9)


def test_a_client_without_a_base_url_is_refused_before_any_call():
    with pytest.raises(ProviderAuthError) as failure:
        VolantinoPiuClient(base_url="", token=TOKEN)
    assert "URL di base" in str(failure.value)


def test_responses_serves_the_provider_host_while_the_sandbox_host_stays_in_process(
    client, api, sandbox_records
):
    sandbox = VolantinoPiuClient(
        base_url=f"{SANDBOX_ORIGIN}/sandbox/volantinopiu/api/v2",
        token=settings.SANDBOX_AUTH["volantinopiu"]["token"],
    )
    assert isinstance(client.session.get_adapter(BASE), HTTPAdapter)
    assert isinstance(sandbox.session.get_adapter(SANDBOX_ORIGIN), DjangoSandboxAdapter)
    api.get(f"{BASE}/listShops", json={"success": True, "data": [{"id": 7, **MILANO_WIRE}]})

    assert [s.id for s in client.list_shops()] == ["7"]
    added = sandbox.add_shop(MILANO)

    assert len(api.calls) == 1  # only the provider host went through responses
    assert [r["id"] for r in sandbox_records("volantinopiu", "shop")] == [int(added.id)]


# --- the call log --------------------------------------------------------------------------
def test_every_call_is_reported_to_the_call_listeners(client, api, heard):
    api.get(f"{BASE}/listShops", json=[])
    api.post(f"{BASE}/addShop", status=201, json={"success": True, "data": {"id": 42}})
    api.post(f"{BASE}/updateShop", json={"success": True})
    api.delete(f"{BASE}/deleteShop", json={"success": True})

    client.list_shops()
    client.add_shop(MILANO)
    client.update_shop("42", MILANO)
    client.delete_shop("42")

    assert [(r.provider, r.operation, r.method, r.path, r.status) for r in heard] == [
        ("volantinopiu", "listShops", "GET", "/listShops", 200),
        ("volantinopiu", "addShop", "POST", "/addShop", 201),
        ("volantinopiu", "updateShop", "POST", "/updateShop", 200),
        ("volantinopiu", "deleteShop", "DELETE", "/deleteShop", 200),
    ]
    assert all(r.error_code == "" and r.duration_ms >= 0 for r in heard)


def test_a_failed_call_is_reported_with_its_error_code(client, api, heard):
    api.post(
        f"{BASE}/addShop",
        status=422,
        json={"message": "x", "errors": {"codice": ["The codice field is required."]}},
    )
    api.post(f"{BASE}/updateShop", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderRejected):
        client.add_shop(MILANO)
    with pytest.raises(ProviderTimeout):
        client.update_shop("17", MILANO)

    assert [(r.operation, r.status, r.error_code) for r in heard] == [
        ("addShop", 422, "VALIDATION"),
        ("updateShop", None, "TIMEOUT"),
    ]
    assert heard[0].error == "codice: The codice field is required."


def test_every_call_is_written_to_the_call_log_with_method_path_and_status(client, api):
    api.get(f"{BASE}/listShops", json=[])
    api.post(f"{BASE}/addShop", status=201, json={"success": True, "data": {"id": 42}})
    api.post(f"{BASE}/updateShop", status=404, json={"message": "Shop not found."})
    api.delete(f"{BASE}/deleteShop", body=refused())

    client.list_shops()
    client.add_shop(MILANO)
    with pytest.raises(ProviderNotFound):
        client.update_shop("42", MILANO)
    with pytest.raises(ProviderUnavailable):
        client.delete_shop("42")

    rows = RemoteCall.objects.order_by("id")
    assert [
        (c.provider, c.operation, c.method, c.path, c.status_code, c.ok, c.error_code) for c in rows
    ] == [
        ("volantinopiu", "listShops", "GET", "/listShops", 200, True, ""),
        ("volantinopiu", "addShop", "POST", "/addShop", 201, True, ""),
        ("volantinopiu", "updateShop", "POST", "/updateShop", 404, False, "HTTP_404"),
        ("volantinopiu", "deleteShop", "DELETE", "/deleteShop", None, False, "CONNECTION"),
    ]


def test_the_call_log_path_has_no_query_string(client, api):
    api.get(
        f"{BASE}/listCampaigns",
        json={"success": True, "data": {"id": 7, "date_send": None}},
        match=[matchers.query_param_matcher({"id": "7"})],
    )
    client.get_campaign("7")
    call = RemoteCall.objects.get()
    assert call.path == "/listCampaigns"
    assert "?" not in call.path and "id=7" not in call.path


def test_no_call_log_row_holds_the_token(client, api):
    api.get(f"{BASE}/listShops", json=[{"id": 1, **MILANO_WIRE}])
    api.post(f"{BASE}/addShop", status=401, json={"message": "Unauthenticated."})
    api.post(f"{BASE}/updateShop", status=500, body="Internal Server Error")
    api.delete(f"{BASE}/deleteShop", body=requests.ReadTimeout("read timed out"))

    client.list_shops()
    for call in (
        lambda: client.add_shop(MILANO),
        lambda: client.update_shop("1", MILANO),
        lambda: client.delete_shop("1"),
    ):
        with pytest.raises(ProviderError):
            call()

    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent
    rows = list(RemoteCall.objects.all())
    assert len(rows) == 4
    for row in rows:
        for field in RemoteCall._meta.concrete_fields:
            value = str(getattr(row, field.attname))
            assert TOKEN not in value, f"token in RemoteCall.{field.name}"
            assert "Bearer" not in value, f"auth header in RemoteCall.{field.name}"


def test_the_remote_shop_keeps_the_raw_answer_alongside_our_fields(client, api):
    raw = {"id": 17, **MILANO_WIRE, "created_at": "2026-01-01T10:00:00.000000Z"}
    api.get(f"{BASE}/listShops", json={"success": True, "data": [raw]})
    [shop] = client.list_shops()
    assert shop == RemoteShop(id="17", data=MILANO, raw=raw)
