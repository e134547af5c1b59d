"""Aisac against its document (`../shared/api-docs/aisac-requests-whatsapp-shopify.txt`).

The document prints three request URLs (getRequest, getFlowByUserKey, getChargesByUserKey) and
no answer at all. So: the requests it prints are fixtures read from the document itself, and
the client builds exactly those; the requests and answers it leaves out are our design
(docs/aisac.md), built exactly as designed; the other plausible answer shapes read too; and
every garbled answer, per endpoint, ends as a typed ProviderError — never a KeyError,
ValueError or TypeError."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone
from responses import matchers

from core import errors
from core.errors import ContractDrift
from core.models import OutboxEntry, RemoteCall
from loyalty.services import customer_get_or_create
from messaging.aisac import AisacClient, OrderLine, parse_date
from messaging.care import care_request_create, care_request_lookup
from messaging.models import CareRequest
from tests.provider_documents import provider_document

pytestmark = pytest.mark.django_db

DOCUMENT = provider_document("aisac-requests-whatsapp-shopify")
BASE = "https://api.aisac.io/v1"  # the document's host and version
REQUEST = {
    "request_id": "REQ-7",
    "user_key": "393471234501",
    "type": "complaint",
    "subject": "Punti mancanti",
    "status": "open",
    "reference": "r1",
    "created_at": "2026-11-22 10:00:00",
    "updated_at": "2026-11-22 10:00:00",
}


def document_requests() -> dict[str, dict[str, str]]:
    """The request URLs the document prints, read from it: endpoint → {parameter: placeholder}.
    It writes them `…/getRequest?api_key =[TOKEN_KEY] &request_id =[REQUEST_ID]`: the spaces
    around `=` and `&` are typography, the brackets mark a value to fill in."""
    found = {}
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"https://api\.aisac\.io/v1/(\w+)\?(.*)", line.strip())
        if match:
            pairs = (part.split("=", 1) for part in match.group(2).split("&"))
            found[match.group(1)] = {k.strip(): v.strip().strip("[]") for k, v in pairs}
    return found


@pytest.fixture
def aisac():
    return AisacClient(base_url=BASE, api_key="TOKEN_KEY")


@pytest.fixture
def api_mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


# --- the requests the document prints ---------------------------------------------------------
def test_the_document_prints_three_requests():
    assert document_requests() == {
        "getRequest": {"api_key": "TOKEN_KEY", "request_id": "REQUEST_ID"},
        "getFlowByUserKey": {"api_key": "TOKEN_KEY", "user_key": "user_key"},
        "getChargesByUserKey": {"api_key": "TOKEN_KEY", "user_key": "user_key"},
    }


CALLS = {
    "getRequest": (lambda c, p: c.get_request(p["request_id"]), REQUEST),
    "getFlowByUserKey": (lambda c, p: c.flows_by_user_key(p["user_key"]), {"flows": []}),
    "getChargesByUserKey": (lambda c, p: c.charges_by_user_key(p["user_key"]), {"charges": []}),
}


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_each_request_the_document_prints_is_built_exactly(api_mock, endpoint):
    params = document_requests()[endpoint]
    call, answer = CALLS[endpoint]
    api_mock.get(
        f"{BASE}/{endpoint}",
        json=answer,
        match=[matchers.query_param_matcher(params, strict_match=True)],
    )
    call(AisacClient(base_url=BASE, api_key=params["api_key"]), params)
    sent = api_mock.calls[0].request
    assert sent.method == "GET" and sent.url.startswith(f"{BASE}/{endpoint}?")
    # api_key in the query only, as printed: no Authorization header, no body
    assert "Authorization" not in sent.headers and not sent.body


# --- the requests the document describes without printing them (our design, docs/aisac.md) ---
def test_create_request_posts_json_with_the_key_in_the_query(aisac, api_mock):
    api_mock.post(
        f"{BASE}/createRequest",
        json=REQUEST,
        status=201,
        match=[
            matchers.query_param_matcher({"api_key": "TOKEN_KEY"}, strict_match=True),
            matchers.header_matcher({"Content-Type": "application/json"}),
            matchers.json_params_matcher(
                {
                    "user_key": "393471234501",
                    "type": "complaint",
                    "subject": "Punti mancanti",
                    "message": "Mancano 6 punti",
                    "reference": "r1",
                },
                strict_match=True,
            ),
        ],
    )
    remote = aisac.create_request(
        user_key="393471234501",
        type="complaint",
        subject="Punti mancanti",
        message="Mancano 6 punti",
        reference="r1",
    )
    assert (remote.request_id, remote.reference) == ("REQ-7", "r1")


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        # the document: "Il fuso orario di riferimento è il CEST" (UTC+2), CET (UTC+1) in winter
        (datetime(2026, 11, 22, 9, 0, 5, tzinfo=UTC), "2026-11-22 10:00:05"),
        (datetime(2026, 7, 1, 8, 30, tzinfo=UTC), "2026-07-01 10:30:00"),
    ],
)
def test_get_requests_sends_its_filters_and_italian_times(aisac, api_mock, moment, written):
    api_mock.get(
        f"{BASE}/getRequests",
        json={"requests": [], "page": 2, "total": 0},
        match=[
            matchers.query_param_matcher(
                {
                    "api_key": "TOKEN_KEY",
                    "user_key": "393471234501",
                    "reference": "r1",
                    "from_date": written,
                    "page": "2",
                },
                strict_match=True,
            )
        ],
    )
    assert aisac.get_requests(
        user_key="393471234501", reference="r1", from_date=moment, page=2
    ) == (0, [])


def test_create_order_posts_json_with_the_key_in_the_query(aisac, api_mock):
    api_mock.post(
        f"{BASE}/createOrder",
        json={"order_id": "WEB-1", "status": "created"},
        status=201,
        match=[
            matchers.query_param_matcher({"api_key": "TOKEN_KEY"}, strict_match=True),
            matchers.json_params_matcher(
                {
                    "order_id": "WEB-1",
                    "user_key": "393471234501",
                    "shop_code": "PV-MI-01",
                    "total": "19.80",
                    "currency": "EUR",
                    "lines": [{"sku": "A1", "name": "Caffè", "quantity": 2, "price": "9.90"}],
                },
                strict_match=True,
            ),
        ],
    )
    answer = aisac.create_order(
        order_id="WEB-1",
        user_key="393471234501",
        shop_code="PV-MI-01",
        total=Decimal("19.80"),
        lines=[OrderLine("A1", "Caffè", 2, Decimal("9.90"))],
    )
    assert answer["order_id"] == "WEB-1"


# --- the answers: ours, and the other plausible shapes ------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        REQUEST,  # ours (docs/aisac.md)
        {**REQUEST, "request_id": 7},  # a number
        {k: v for k, v in {**REQUEST, "id": "REQ-7"}.items() if k != "request_id"},
        {"status": "success", "data": REQUEST},
        {"success": True, "data": {**REQUEST, "request_id": 7}},
        {"request": REQUEST},
        {"result": {"request": REQUEST}},
        {**REQUEST, "created_at": "2026-11-22T10:00:00+01:00"},
        {**REQUEST, "created_at": "2026-11-22T09:00:00Z"},
        {**REQUEST, "created_at": "2026-11-22T10:00:00.123"},
        {**REQUEST, "created_at": 1795338000},  # a Unix time
        {**REQUEST, "user_key": 393471234501},
    ],
)
def test_get_request_reads_every_plausible_shape(aisac, api_mock, body):
    api_mock.get(f"{BASE}/getRequest", json=body)
    remote = aisac.get_request("REQ-7")
    assert remote.request_id in ("REQ-7", "7")
    assert remote.created_at.replace(microsecond=0) == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert remote.user_key == "393471234501"


@pytest.mark.parametrize(
    ("body", "total"),
    [
        ({"requests": [REQUEST], "page": 1, "total": 1}, 1),  # ours
        ([REQUEST], None),  # a bare list
        ({"data": [REQUEST], "total": "1"}, 1),  # wrapped, the total as text
        ({"status": "success", "data": {"requests": [REQUEST], "total": 1}}, 1),
        ({"data": [REQUEST], "meta": {"total": 1}}, 1),
        ({"requests": None}, 0),  # nothing, said as null
    ],
)
def test_get_requests_reads_every_plausible_shape(aisac, api_mock, body, total):
    api_mock.get(f"{BASE}/getRequests", json=body)
    found_total, items = aisac.get_requests()
    assert found_total == total
    assert [r.request_id for r in items] == ([] if total == 0 else ["REQ-7"])


def test_a_list_without_a_total_or_pages_is_read_once(aisac, api_mock):
    # A bare list, the `page` parameter ignored: the second page brings nothing new.
    api_mock.get(f"{BASE}/getRequests", json=[REQUEST, {**REQUEST, "request_id": "REQ-8"}])
    assert [r.request_id for r in aisac.iter_requests()] == ["REQ-7", "REQ-8"]
    assert len(api_mock.calls) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"user_key": "393471234501", "flows": [{"flow_id": "F1"}]},  # ours
        [{"flow_id": "F1"}],  # bare: "Recupera tutti i flussi…"
        {"status": "success", "data": [{"flow_id": "F1"}]},
        {"data": {"flows": [{"flow_id": "F1"}]}},
    ],
)
def test_flows_read_every_plausible_shape(aisac, api_mock, body):
    api_mock.get(f"{BASE}/getFlowByUserKey", json=body)
    assert aisac.flows_by_user_key("393471234501") == [{"flow_id": "F1"}]


@pytest.mark.parametrize(
    ("body", "order_id"),
    [
        ({"order_id": "WEB-1", "status": "created"}, "WEB-1"),  # ours
        ({"status": "success", "data": {"order_id": "WEB-1"}}, "WEB-1"),
        ({"success": True, "data": {"id": 99}}, "99"),
        ({"status": "success"}, "WEB-1"),  # a success naming no id: the number is ours
        (None, "WEB-1"),  # no body at all
    ],
)
def test_create_order_reads_every_plausible_shape(aisac, api_mock, body, order_id):
    api_mock.post(f"{BASE}/createOrder", status=201, body=b"" if body is None else json.dumps(body))
    answer = aisac.create_order(
        order_id="WEB-1", user_key="393471234501", shop_code="X", total=Decimal(1), lines=[]
    )
    assert answer["order_id"] == order_id


# --- garbled answers, per endpoint: always a typed ProviderError --------------------------------
def call_create_request(c):
    return c.create_request(user_key="393471234501", type="other", subject="S", reference="r1")


def call_create_order(c):
    return c.create_order(
        order_id="WEB-1", user_key="393471234501", shop_code="X", total=Decimal(1), lines=[]
    )


ENDPOINTS = {
    "createRequest": ("POST", call_create_request),
    "getRequest": ("GET", lambda c: c.get_request("REQ-7")),
    "getRequests": ("GET", lambda c: list(c.iter_requests())),
    "getFlowByUserKey": ("GET", lambda c: c.flows_by_user_key("393471234501")),
    "getChargesByUserKey": ("GET", lambda c: c.charges_by_user_key("393471234501")),
    "createOrder": ("POST", call_create_order),
}
NOT_JSON = [
    b"<html>Bad gateway</html>",
    b'{"request_id": "REQ-',
    b"\xff\xfe",
    b"null",
]  # core.http reads "null" as no answer
GARBLED = {
    "createRequest": [
        {},
        [],
        "REQ-7",
        42,
        True,
        {"request_id": None},
        {"request_id": ""},
        {"request_id": {"id": 7}},
        {"request_id": [7]},
        {"request_id": True},
        {"request_id": 7.5},
        {"data": []},
        {"data": "REQ-7"},
        {**REQUEST, "created_at": "ieri"},
        {**REQUEST, "created_at": [2026, 11, 22]},
        {**REQUEST, "created_at": 1e20},
        {**REQUEST, "subject": {"it": "Punti"}},
        {**REQUEST, "reference": ["r1"]},
    ],
    "getRequests": [
        {},
        "REQ-7",
        42,
        {"requests": "REQ-7"},
        {"requests": [7, 8]},
        {"requests": [{}]},
        {"requests": [{**REQUEST, "request_id": None}]},
        {"requests": [{**REQUEST, "created_at": "22/11/2026"}]},
        {"data": {"requests": 5}},
        [["REQ-7"]],
    ],
    "getFlowByUserKey": [{}, "x", 42, {"flows": "x"}, {"flows": [1]}, [1, 2], {"data": "x"}],
    "getChargesByUserKey": [{}, "x", 42, {"charges": {"a": 1}}, [None], {"data": 3}],
    "createOrder": [
        [],
        "ok",
        42,
        {"order_id": {"n": 1}},
        {"order_id": True},
        {"order_id": [1]},
        {"unexpected": 1},
        {"data": 5},
    ],
}
GARBLED["getRequest"] = GARBLED["createRequest"]


def garbled_cases():
    for endpoint, bodies in GARBLED.items():
        for body in bodies:
            yield pytest.param(endpoint, json.dumps(body).encode(), id=f"{endpoint}-{body!r}"[:60])
        for raw in NOT_JSON:
            yield pytest.param(endpoint, raw, id=f"{endpoint}-not-json-{raw[:12]!r}")


@pytest.mark.parametrize(("endpoint", "raw"), list(garbled_cases()))
def test_a_garbled_answer_is_a_typed_error(aisac, api_mock, endpoint, raw):
    method, call = ENDPOINTS[endpoint]
    api_mock.add(method, f"{BASE}/{endpoint}", body=raw, status=200)
    with pytest.raises(errors.ProviderError) as raised:
        call(aisac)
    error = raised.value
    if raw in NOT_JSON:
        # not JSON at all: a lost answer, retried after a lookup (core.http)
        assert isinstance(error, errors.ProviderTimeout) and error.code == "MALFORMED_RESPONSE"
    else:
        assert isinstance(error, ContractDrift) and error.fields and error.outcome_unknown
        call_log = RemoteCall.objects.filter(operation=endpoint).latest("id")
        assert call_log.answer_shape and call_log.error_code == "CONTRACT_DRIFT"
        for value in ("Punti mancanti", "393471234501", "REQ-7"):
            assert value not in call_log.answer_shape  # keys and types, never values


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (200, {"status": "error", "code": "VALIDATION_ERROR", "message": "x"}, "rejected", ""),
        (200, {"success": False, "error": {"code": "INVALID_API_KEY"}}, "auth", ""),
        (200, {"success": False}, "rejected", "REFUSED"),
        (401, {"status": "error", "code": "INVALID_API_KEY"}, "auth", "INVALID_API_KEY"),
        (400, {"code": "INVALID_API_KEY"}, "auth", "INVALID_API_KEY"),
        (403, "<html>Forbidden</html>", "auth", "HTTP_403"),
        (404, {"error": {"code": "REQUEST_NOT_FOUND", "message": "no"}}, "not found", ""),
        (422, {"error": "DUPLICATE_ORDER"}, "rejected", "DUPLICATE_ORDER"),
        (422, [1, 2], "rejected", "HTTP_422"),
        (429, "", "busy", "HTTP_429"),
        (500, {"code": {"deep": 1}}, "unavailable", "HTTP_500"),
        (502, "<html>Bad gateway</html>", "unavailable", "HTTP_502"),
    ],
)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_refusals_and_failures_are_typed(aisac, api_mock, endpoint, status, body, kind, code):
    kinds = {
        "rejected": errors.ProviderRejected,
        "auth": errors.ProviderAuthError,
        "not found": errors.ProviderNotFound,
        "busy": errors.ProviderRateLimited,
        "unavailable": errors.ProviderUnavailable,
    }
    method, call = ENDPOINTS[endpoint]
    raw = body if isinstance(body, str) else json.dumps(body)
    api_mock.add(method, f"{BASE}/{endpoint}", body=raw, status=status)
    with pytest.raises(kinds[kind]) as raised:
        call(aisac)
    if code:
        assert raised.value.code == code


# --- a lost answer: the lookup reads what Aisac answers, whatever it did with the filters -------
@pytest.fixture
def giulia():
    return customer_get_or_create(msisdn="+393471234501", name="Giulia")


@pytest.fixture
def live_base(settings):
    settings.AISAC_BASE_URL, settings.AISAC_API_KEY = BASE, "TOKEN_KEY"


def lost(giulia, subject="Punti mancanti"):
    request = CareRequest.objects.create(customer=giulia, type="other", subject=subject)
    return CareRequest.objects.get(pk=request.pk)


def at(moment) -> str:
    return timezone.localtime(moment, parse_date("2026-01-01 00:00:00").tzinfo).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def test_a_listing_that_ignores_the_filters_is_matched_by_our_reference(
    giulia, live_base, api_mock
):
    request = lost(giulia)
    now = at(request.created_at)
    same = {"user_key": "393471234501", "subject": request.subject, "created_at": now}
    api_mock.get(
        f"{BASE}/getRequests",
        json=[
            {**same, "request_id": 1, "user_key": "393471234599", "reference": "a"},
            {**same, "request_id": 2, "reference": "b"},
            {**same, "request_id": 3, "reference": ""},
            {**same, "request_id": 4, "reference": str(request.reference)},
        ],
    )
    assert care_request_lookup(request).request_id == "4"


def test_when_aisac_keeps_references_a_look_alike_without_one_is_not_ours(
    giulia, live_base, api_mock
):
    request = lost(giulia)
    same = {
        "user_key": "393471234501",
        "subject": request.subject,
        "created_at": at(request.created_at),
    }
    api_mock.get(
        f"{BASE}/getRequests",
        json={"requests": [{**same, "request_id": 1, "reference": "b"}, {**same, "request_id": 2}]},
    )
    assert care_request_lookup(request) is None


@pytest.mark.parametrize(
    ("user_key", "subject", "minutes", "adopted"),
    [
        ("393471234501", "Punti mancanti", 1, True),
        ("393471234599", "Punti mancanti", 1, False),  # another customer
        ("+393471234501", "Punti mancanti", 1, False),  # not exactly our user key
        ("393471234501", "Punti mancanti ", 1, False),  # not exactly our subject
        ("393471234501", "Punti mancanti", -30, False),  # made before ours existed
        ("393471234501", "Punti mancanti", 60 * 24, False),  # in the future
    ],
)
def test_without_references_user_subject_and_time_must_all_match(
    giulia, live_base, api_mock, user_key, subject, minutes, adopted
):
    request = lost(giulia)
    created = at(request.created_at + timedelta(minutes=minutes))
    api_mock.get(
        f"{BASE}/getRequests",
        json=[{"request_id": 9, "user_key": user_key, "subject": subject, "created_at": created}],
    )
    found = care_request_lookup(request)
    assert (found.request_id if found else None) == ("9" if adopted else None)


def test_a_create_answer_without_an_id_is_resolved_by_the_lookup(
    giulia, live_base, api_mock, deliver
):
    api_mock.post(f"{BASE}/createRequest", json={"status": "success"}, status=201)
    # Aisac gives no reference back: matched by user key, subject and time
    made = {**REQUEST, "request_id": 12, "created_at": at(timezone.now()), "reference": None}
    api_mock.get(f"{BASE}/getRequests", json={"requests": [made]})
    with deliver():
        request = care_request_create(customer=giulia, type="complaint", subject="Punti mancanti")
    request.refresh_from_db()
    assert (request.sync_status, request.remote_id, request.status) == ("synced", "12", "open")


def test_a_create_answer_without_an_id_and_nothing_found_is_a_contract_drift(
    giulia, live_base, api_mock, deliver
):
    api_mock.post(f"{BASE}/createRequest", json={"status": "success"}, status=201)
    api_mock.get(f"{BASE}/getRequests", json={"requests": [], "total": 0})
    with deliver():
        request = care_request_create(customer=giulia, type="complaint", subject="Punti mancanti")
    request.refresh_from_db()
    entry = OutboxEntry.objects.get(object_key=request.outbox_key)
    assert (request.sync_status, entry.error_code, entry.outcome_unknown) == (
        "failed",
        "CONTRACT_DRIFT",
        True,
    )
