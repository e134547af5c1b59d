"""VolantinoPiù against its document (`../shared/api-docs/volantinopiu-campaigns-media-shops.txt`).

The document prints requests only: every request it shows is a fixture here and the client
builds exactly that request (path, method, headers, body field names and order, `date_send`).
It prints no answer ("Risposta ricevuta:" is followed by nothing), so the answers we accept are
our reading (campaigns/volantinopiu.py, "reading answers"): each accepted shape reads, a success
without an id is resolved by listing and matching exactly what was sent, and every garbled
answer, per endpoint, ends as a typed ProviderError — never a KeyError, ValueError or
TypeError. Then the sync flows through the sandbox in its usual, "document" and "variant"
answer styles, and the preflight check (`checkproviders`)."""

import hashlib
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import responses
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from responses import matchers

from campaigns.models import Campaign, Media, Shop
from campaigns.services import campaign_replace, campaign_withdraw, shop_delete, shop_update
from campaigns.sync import campaign_data, shop_data
from campaigns.volantinopiu import (
    CampaignData,
    ShopData,
    VolantinoPiuClient,
    format_date_send,
)
from core.errors import (
    ContractDrift,
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderTimeout,
)
from core.models import OutboxEntry, RemoteCall, SyncStatus
from core.outbox import outbox_sweep
from core.preflight import preflight_run
from core.sync import sync_handler_for
from sandbox.models import SandboxObject
from tests.campaigns.factories import make_campaign, make_media, make_shop
from tests.campaigns.images import image_upload
from tests.provider_documents import provider_document

BASE = "https://restapi.volantinopiu.it/api/v2"
TOKEN = "vp-contract-token"
ROME = ZoneInfo("Europe/Rome")
DOCUMENT = provider_document("volantinopiu-campaigns-media-shops")
pytestmark = pytest.mark.django_db

# --- the document's requests, as it prints them (its Guzzle examples) ----------------------
# operation → (method, Content-Type, how the body goes, the body's fields in the document's order)
DOCUMENT_HEADERS = {
    "Authorization": "Bearer {YOUR_AUTH_KEY}",
    "Content-Type": "application/json",
    "Accept": "application/json",
}
SHOP_FIELDS = [
    "indirizzo", "cap", "citta", "provincia", "latitude", "longitude", "codice", "mail", "url",
    "descrizione",
]  # fmt: skip
DOCUMENT_REQUESTS = {
    "listCampaigns": ("GET", "application/json", "query", ["id"]),
    "registerCampaign": (
        "POST",
        "application/json",
        "json",
        ["pv_id", "image", "link", "date_send", "template_name", "promo_name"],
    ),
    "registerCampaignFlyer": (
        "POST",
        "application/json",
        "json",
        ["pv_id", "image", "flyer_link", "date_send", "promo_name"],
    ),
    "deleteCampaign": ("DELETE", "application/json", "json", ["id"]),
    "listMedia": ("GET", "application/json", None, []),
    "uploadMedia": ("POST", "multipart/form-data", "multipart", ["file"]),
    "listShops": ("GET", "application/json", None, []),
    "addShop": ("POST", "application/json", "json", SHOP_FIELDS),
    "updateShop": ("POST", "application/json", "json", ["id", *SHOP_FIELDS]),
    "deleteShop": ("DELETE", "application/json", "json", ["id"]),
}
GUZZLE_EXAMPLE = re.compile(
    r"\$url = 'https://restapi\.volantinopiu\.it/api/v2/(\w+)';\n\$response = \$client->(\w+)\(\n"
    r"\$url,\n\[\n'headers' => \[\n(.*?)\],\n(.*?)\]\n\);",
    re.S,
)


def document_requests(text: str) -> dict:
    found = {}
    for match in GUZZLE_EXAMPLE.finditer(text):
        operation, method, headers, rest = match.groups()
        headers = dict(re.findall(r"'([\w-]+)' => '([^']*)'", headers))
        assert {k: v for k, v in headers.items() if k != "Content-Type"} == {
            k: v for k, v in DOCUMENT_HEADERS.items() if k != "Content-Type"
        }
        body = re.search(r"'(json|query|multipart)' => \[\n(.*)", rest, re.S)
        kind = body.group(1) if body else None
        if kind == "multipart":
            names = re.findall(r"'name' => '(\w+)'", body.group(2))
        else:
            names = re.findall(r"^'(\w+)' => ", body.group(2), re.M) if body else []
        found[operation] = (method.upper(), headers["Content-Type"], kind, names)
    return found


def test_the_request_fixtures_are_the_documents_own_examples():
    text = DOCUMENT.read_text()
    assert document_requests(text) == DOCUMENT_REQUESTS
    assert 'includi un\'intestazione Authorization con il valore "Bearer {YOUR_AUTH_KEY}"' in text
    # …and it prints no answer body at all: every "Risposta ricevuta:" is Scribe's empty box.
    assert text.count("Risposta ricevuta:") == len(DOCUMENT_REQUESTS)
    assert text.count("Risposta ricevuta:\nRichiesta fallita con errore:") == len(DOCUMENT_REQUESTS)


# --- fixtures ---------------------------------------------------------------------------------
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
SEND_AT = datetime(2026, 12, 1, 9, 30, tzinfo=ROME)
TEMPLATE = CampaignData(
    kind="template",
    pv_id="17",
    image="https://cdn.volantinopiu.it/media/promo.jpg",
    date_send=SEND_AT,
    promo_name="Sottocosto",
    link="https://example.com/promo",
    template_name="promo_settimanale",
)
FLYER = CampaignData(
    kind="flyer",
    pv_id="17",
    image="https://cdn.volantinopiu.it/media/promo.jpg",
    date_send=SEND_AT,
    promo_name="Sottocosto",
    flyer_link="https://example.com/volantino.pdf",
)
SHOP_ITEM = {"id": 17, **MILANO.wire()}
MEDIA_ITEM = {"id": 5, "name": "x.png", "url": "https://cdn/x.png", "size": 10, "sha256": "ab"}
CAMPAIGN_ITEM = {"id": 99, "type": "template", **TEMPLATE.wire()}

# Every endpoint: how the client calls it, and the answer the sandbox usually gives.
ENDPOINTS = {
    "listShops": ("GET", lambda c: c.list_shops()),
    "addShop": ("POST", lambda c: c.add_shop(MILANO)),
    "updateShop": ("POST", lambda c: c.update_shop("17", MILANO)),
    "deleteShop": ("DELETE", lambda c: c.delete_shop("17")),
    "listMedia": ("GET", lambda c: c.list_media()),
    "uploadMedia": (
        "POST",
        lambda c: c.upload_media(filename="x.png", content=b"\x89PNG", content_type="image/png"),
    ),
    "registerCampaign": ("POST", lambda c: c.register_campaign(TEMPLATE)),
    "registerCampaignFlyer": ("POST", lambda c: c.register_campaign(FLYER)),
    "listCampaigns": ("GET", lambda c: c.list_campaigns()),
    "getCampaign": ("GET", lambda c: c.get_campaign("99")),
    "deleteCampaign": ("DELETE", lambda c: c.delete_campaign("99")),
}


def path_of(operation: str) -> str:
    return "listCampaigns" if operation == "getCampaign" else operation


@pytest.fixture
def client():
    return VolantinoPiuClient(base_url=BASE, token=TOKEN)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def answer(api, operation: str, body=None, *, status: int = 200, raw: bytes | None = None):
    method = ENDPOINTS[operation][0]
    content = raw if raw is not None else json.dumps(body).encode()
    api.add(
        method,
        f"{BASE}/{path_of(operation)}",
        status=status,
        body=content,
        content_type="application/json",
    )


def call(client, operation: str):
    return ENDPOINTS[operation][1](client)


# --- the requests the client builds ----------------------------------------------------------
@pytest.mark.parametrize("operation", [op for op in ENDPOINTS if op != "getCampaign"])
def test_every_request_is_the_documents_request(client, api, operation):
    method, content_type, kind, names = DOCUMENT_REQUESTS[operation]
    answer(api, operation, {"success": True, "data": _usual_data(operation)})

    call(client, operation)

    sent = api.calls[0].request
    assert sent.method == method
    assert sent.url == f"{BASE}/{operation}"  # the whole list: no `?id=` (see below)
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/json"
    if kind == "multipart":
        # The document's 'Content-Type' => 'multipart/form-data', with the boundary it needs.
        assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        assert re.findall(rb'form-data; name="(\w+)"', sent.body) == [n.encode() for n in names]
    else:
        assert sent.headers["Content-Type"] == content_type
    if kind == "json":
        assert list(json.loads(sent.body)) == names  # the document's fields, in its order
    elif kind != "multipart":
        assert sent.body is None


def test_a_campaign_is_looked_up_with_the_documents_id_query_parameter(client, api):
    api.get(
        f"{BASE}/listCampaigns",
        json={"success": True, "data": CAMPAIGN_ITEM},
        match=[
            matchers.query_param_matcher({"id": "99"}, strict_match=True),
            matchers.header_matcher({**DOCUMENT_HEADERS, "Authorization": f"Bearer {TOKEN}"}),
        ],
    )
    assert client.get_campaign("99").id == "99"


def test_ids_go_out_as_numbers_when_they_are_numbers_and_as_text_otherwise(client, api):
    api.post(f"{BASE}/updateShop", json={"success": True})
    api.delete(f"{BASE}/deleteCampaign", json={"success": True})
    client.update_shop("17", MILANO)
    client.delete_campaign("cmp-7")
    assert json.loads(api.calls[0].request.body)["id"] == 17
    assert json.loads(api.calls[1].request.body) == {"id": "cmp-7"}


@pytest.mark.parametrize(
    ("when", "sent"),
    [
        (datetime(2026, 12, 1, 9, 30, tzinfo=ROME), "2026-12-01 09:30:00"),
        (datetime(2026, 7, 1, 22, 15, 59, tzinfo=ZoneInfo("UTC")), "2026-07-02 00:15:59"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("UTC")), "2026-03-29 01:30:00"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("UTC")), "2026-03-29 03:30:00"),
    ],
    ids=["rome", "utc-evening", "before-dst", "after-dst"],
)
def test_date_send_is_laravels_datetime_in_italian_time(client, api, when, sent):
    api.post(f"{BASE}/registerCampaign", json={"success": True, "data": {"id": 1}})
    client.register_campaign(CampaignData(**{**TEMPLATE.__dict__, "date_send": when}))
    body = json.loads(api.calls[0].request.body)
    assert body["date_send"] == sent
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["date_send"])


# --- the answers we accept ---------------------------------------------------------------------
def _usual_data(operation: str):
    return {
        "listShops": [SHOP_ITEM],
        "addShop": SHOP_ITEM,
        "updateShop": SHOP_ITEM,
        "listMedia": [MEDIA_ITEM],
        "uploadMedia": MEDIA_ITEM,
        "registerCampaign": CAMPAIGN_ITEM,
        "registerCampaignFlyer": {**CAMPAIGN_ITEM, "type": "flyer"},
        "listCampaigns": [CAMPAIGN_ITEM],
        "getCampaign": CAMPAIGN_ITEM,
    }.get(operation)


def _as_text(value):
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, dict):
        return {
            k: str(v) if k in ("id", "pv_id", "size") and v is not None else v
            for k, v in value.items()
        }
    return value


WRAPPINGS = {
    "success+data": lambda d: {"success": True, "data": d},
    "data+message": lambda d: {"data": d, "message": "OK."},
    "bare": lambda d: d,
    "success+data, ids as text": lambda d: {"success": True, "data": _as_text(d)},
    "bare, ids as text": lambda d: _as_text(d),
    "success as 1": lambda d: {"success": 1, "data": d},
    "success as text": lambda d: {"success": "true", "data": d},
}


def _id_of(result):
    if isinstance(result, list):
        return [item.id for item in result]
    return result.id


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize(
    "operation", [op for op in ENDPOINTS if op not in ("deleteShop", "deleteCampaign")]
)
def test_every_answer_reads_with_or_without_the_wrapper_and_with_ids_as_numbers_or_text(
    client, api, operation, wrapping
):
    data = _usual_data(operation)
    answer(api, operation, WRAPPINGS[wrapping](data))
    expected = [str(item["id"]) for item in data] if isinstance(data, list) else str(data["id"])
    assert _id_of(call(client, operation)) == expected


def test_a_shop_read_with_numbers_as_text_and_text_as_numbers(client, api):
    api.get(
        f"{BASE}/listShops",
        json=[{**SHOP_ITEM, "cap": 20121, "latitude": "45.464211", "longitude": " 9.191383 "}],
    )
    [shop] = client.list_shops()
    assert shop.data == MILANO


def test_a_campaigns_date_in_iso_8601_is_read_as_the_same_moment(client, api):
    # Laravel's `datetime` cast serialises to ISO 8601 in UTC.
    api.get(f"{BASE}/listCampaigns", json=[{**CAMPAIGN_ITEM, "date_send": "2026-12-01T08:30:00Z"}])
    [campaign] = client.list_campaigns()
    assert campaign.data.date_send == SEND_AT
    assert format_date_send(campaign.data.date_send) == "2026-12-01 09:30:00"


@pytest.mark.parametrize("operation", ["deleteShop", "deleteCampaign"])
@pytest.mark.parametrize(
    "body",
    [{"success": True}, {"success": True, "message": "Deleted."}, {"message": "Deleted."}, None],
    ids=["success", "success+message", "message", "empty"],
)
def test_a_delete_reads_any_success(client, api, operation, body):
    if body is None:
        answer(api, operation, raw=b"")
    else:
        answer(api, operation, body)
    assert call(client, operation) is None


# What a create answered "success" without an id returns: the record, with no id.
@pytest.mark.parametrize("operation", ["addShop", "uploadMedia", "registerCampaign"])
@pytest.mark.parametrize(
    "body",
    [
        {"success": True},
        {"success": True, "data": None},
        {"success": True, "message": "Created."},
        {"success": True, "data": {}},
        {"success": True, "data": {"id": None}},
        None,
    ],
    ids=["success", "data-null", "message", "data-empty", "id-null", "empty-body"],
)
def test_a_create_answered_success_without_an_id_returns_the_record_with_no_id(
    client, api, operation, body
):
    if body is None:
        answer(api, operation, raw=b"")
    else:
        answer(api, operation, body)
    assert call(client, operation).id is None


def test_a_success_without_an_id_is_logged_as_a_good_call(client, api):
    # It is the document's own reading (no answer body shown), not drift.
    api.post(f"{BASE}/addShop", json={"success": True})
    client.add_shop(MILANO)
    call_row = RemoteCall.objects.get()
    assert (call_row.ok, call_row.error_code) == (True, "")


# --- garbled answers: always a typed error ----------------------------------------------------
# Bodies no endpoint can read as what it asked for…
GARBLED = {
    "{}": {},
    "[]": [],
    '{"data": "x"}': {"data": "x"},
    '{"data": {"id": []}}': {"data": {"id": []}},
    '{"success": true, "data": null}': {"success": True, "data": None},
    '{"data": {"id": true}}': {"data": {"id": True}},
    '{"data": {"id": 1.5}}': {"data": {"id": 1.5}},
    '{"data": {"id": " "}}': {"data": {"id": " "}},
    '{"data": {"id": {"n": 1}}}': {"data": {"id": {"n": 1}}},
    '{"data": [{"id": []}]}': {"data": [{"id": []}]},
    '{"data": [["x"]]}': {"data": [["x"]]},
    '{"data": [{"codice": "PV"}]}': {"data": [{"codice": "PV"}]},
    "a JSON string": "text",
    "a JSON number": 42,
    "true": True,
    '{"success": "yes"}': {"success": "yes"},
    '{"success": null, "data": …}': {"success": None, "data": {"id": 1}},
    '{"success": false}': {"success": False},
    '{"success": 0, "message": …}': {"success": 0, "message": "Errore"},
}
# …and, per kind of record, its own fields with a value of a type we do not read (numbers
# where text goes, text where numbers go, a date in another format).
KIND_OF = {
    "listShops": "shop", "addShop": "shop", "updateShop": "shop", "deleteShop": "shop",
    "listMedia": "media", "uploadMedia": "media",
    "registerCampaign": "campaign", "registerCampaignFlyer": "campaign",
    "listCampaigns": "campaign", "getCampaign": "campaign", "deleteCampaign": "campaign",
}  # fmt: skip
ITEM_OF = {"shop": SHOP_ITEM, "media": MEDIA_ITEM, "campaign": CAMPAIGN_ITEM}
BAD_FIELDS = {
    "shop": {
        "latitude as words": {"latitude": "north"},
        "longitude as a list": {"longitude": [9.19]},
        "codice as a list": {"codice": ["PV"]},
        "cap as an object": {"cap": {"n": 20121}},
        "id as a bool": {"id": False},
    },
    "media": {
        "size in words": {"size": "10 KB"},
        "size negative": {"size": -1},
        "url as a list": {"url": ["https://cdn/x.png"]},
        "name as an object": {"name": {"it": "x.png"}},
        "id as a list": {"id": [5]},
    },
    "campaign": {
        "date_send in another format": {"date_send": "01/12/2026"},
        "date_send as a number": {"date_send": 1796117400},
        "pv_id as a list": {"pv_id": [17]},
        "promo_name as an object": {"promo_name": {"it": "Sottocosto"}},
        "id as a bool": {"id": True},
    },
}
LISTS = {"listShops", "listMedia", "listCampaigns"}
PAGINATED = {
    "a paginated list": {"data": [], "current_page": 1, "last_page": 2, "next_page_url": "?page=2"},
    "a resource collection with more pages": {
        "data": [],
        "links": {"next": "?page=2"},
        "meta": {"current_page": 1, "last_page": 2},
    },
}


def garbled_for(operation: str) -> dict:
    kind = KIND_OF[operation]
    bodies = dict(GARBLED)
    for name, bad in BAD_FIELDS[kind].items():
        item = {**ITEM_OF[kind], **bad}
        bodies[name] = {"data": [item] if operation in LISTS else item}
    if operation in LISTS:
        bodies.update(PAGINATED)
    return bodies


REFUSALS = {'{"success": false}', '{"success": 0, "message": …}'}
BAD_SUCCESS = {'{"success": "yes"}', '{"success": null, "data": …}'}
# The few of them an endpoint reads as a success, and why.
READS_FINE = {
    # A create answered `success: true` with no record: accepted, its id resolved by listing.
    "addShop": {'{"success": true, "data": null}'},
    "uploadMedia": {'{"success": true, "data": null}'},
    "registerCampaign": {'{"success": true, "data": null}'},
    "registerCampaignFlyer": {'{"success": true, "data": null}'},
    # An empty list is a list with nothing in it.
    "listShops": {"[]"},
    "listMedia": {"[]"},
    "listCampaigns": {"[]"},
    # We know the id we updated: an answer without the shop keeps what we sent.
    "updateShop": {"{}", '{"success": true, "data": null}'},
    # A delete reads nothing but a refusal: any other 2xx answer means deleted.
    "deleteShop": set(garbled_for("deleteShop")) - REFUSALS - BAD_SUCCESS,
    "deleteCampaign": set(garbled_for("deleteCampaign")) - REFUSALS - BAD_SUCCESS,
}
CASES = [(op, name) for op in ENDPOINTS for name in garbled_for(op)]


@pytest.mark.parametrize(("operation", "garbled"), CASES)
def test_a_garbled_answer_is_a_typed_provider_error_never_a_python_one(
    client, api, operation, garbled
):
    answer(api, operation, garbled_for(operation)[garbled])
    if garbled in READS_FINE.get(operation, set()):
        call(client, operation)
        return
    with pytest.raises(ProviderError) as failure:  # a KeyError/TypeError would fail the test
        call(client, operation)
    error = failure.value
    if garbled in REFUSALS:
        assert type(error) is ProviderRejected and not error.retryable
    elif operation == "getCampaign" and garbled in ("[]", '{"success": true, "data": null}'):
        assert isinstance(error, ProviderNotFound)  # "no such campaign"
    else:
        assert isinstance(error, ContractDrift), f"{type(error).__name__}: {error}"
        assert error.fields and error.outcome_unknown and not error.retryable


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("listShops", {"success": True, "data": {"id": 1}}, "data"),
        ("listShops", [{"codice": "PV"}], "answer[].id"),
        ("listShops", {"data": [{**SHOP_ITEM, "latitude": "north"}]}, "data[].latitude"),
        ("listShops", {"data": [{**SHOP_ITEM, "codice": ["PV"]}]}, "data[].codice"),
        ("listMedia", [{**MEDIA_ITEM, "size": "10 KB"}], "answer[].size"),
        ("listCampaigns", {"data": [{**CAMPAIGN_ITEM, "date_send": "domani"}]}, "data[].date_send"),
        (
            "listCampaigns",
            {"data": [], "meta": {"current_page": 1, "last_page": 3}},
            "meta.last_page",
        ),
        ("addShop", {"data": {"id": []}}, "data.id"),
        ("addShop", {}, "answer.id"),
        ("addShop", {"success": "forse"}, "success"),
        ("uploadMedia", {"data": "x"}, "data"),
        ("registerCampaign", [], "answer"),
        ("getCampaign", {"data": {**CAMPAIGN_ITEM, "id": 98}}, "data.id"),
        ("updateShop", {"data": {**SHOP_ITEM, "id": 18}}, "data.id"),
    ],
)
def test_a_contract_drift_names_the_field(client, api, operation, body, field):
    answer(api, operation, body)
    with pytest.raises(ContractDrift) as drift:
        call(client, operation)
    assert drift.value.fields == (field,)
    assert field in str(drift.value)  # the message names it too, in Italian


def test_the_call_log_keeps_the_shape_of_an_unreadable_answer_never_its_values(client, api):
    api.get(
        f"{BASE}/listShops",
        json={"success": True, "data": [{"id": [1], "codice": "PV-SEGRETO", "mail": "a@b.it"}]},
    )
    with pytest.raises(ContractDrift):
        client.list_shops()
    row = RemoteCall.objects.get()
    assert (row.ok, row.error_code) == (False, "CONTRACT_DRIFT")
    assert "codice: text" in row.answer_shape and "id: [number]" in row.answer_shape
    assert "PV-SEGRETO" not in row.answer_shape and "a@b.it" not in row.answer_shape


@pytest.mark.parametrize("operation", ENDPOINTS)
def test_a_2xx_body_that_is_not_json_stays_a_lost_answer(client, api, operation):
    answer(api, operation, raw=b'{"success": tru')
    with pytest.raises(ProviderTimeout) as lost:
        call(client, operation)
    assert (lost.value.code, lost.value.outcome_unknown) == ("MALFORMED_RESPONSE", True)


@pytest.mark.parametrize(
    ("message", "error_class"),
    [
        ("Shop not found.", ProviderNotFound),
        ("Negozio non trovato", ProviderNotFound),
        ("Codice già presente", ProviderRejected),
    ],
)
def test_success_false_is_a_refusal_typed_by_its_wording(client, api, message, error_class):
    api.delete(f"{BASE}/deleteShop", json={"success": False, "message": message})
    with pytest.raises(error_class) as refused:
        client.delete_shop("17")
    assert type(refused.value) is error_class
    assert message in str(refused.value)


def test_success_false_with_laravel_field_errors_names_the_fields(client, api):
    api.post(
        f"{BASE}/addShop",
        json={"success": False, "message": "x", "errors": {"codice": ["Già presente."]}},
    )
    with pytest.raises(ProviderRejected) as refused:
        client.add_shop(MILANO)
    assert refused.value.code == "VALIDATION"
    assert "codice: Già presente." in str(refused.value)


# --- a success without an id: found by listing what we sent -------------------------------------
@pytest.fixture
def at_provider(settings, api):
    """The settings' client points at the provider's host, which `responses` answers."""
    settings.VOLANTINOPIU_BASE_URL = BASE
    settings.VOLANTINOPIU_TOKEN = TOKEN
    return api


def local_shop(code="PV-MI-01", **fields) -> Shop:
    return Shop.objects.create(code=code, address="Via Roma 1", city="Milano", **fields)


def test_a_shop_added_without_an_id_is_found_by_its_code(at_provider):
    shop = local_shop()
    at_provider.post(f"{BASE}/addShop", json={"success": True})
    at_provider.get(
        f"{BASE}/listShops",
        json=[{**SHOP_ITEM, "id": 16, "codice": "PV-OTHER"}, {**SHOP_ITEM, "id": "17"}],
    )
    state = sync_handler_for("campaigns.shop").create(shop)
    assert state.remote_id == "17"


@pytest.mark.parametrize(
    ("listed", "count"),
    [
        ([], 0),
        ([{**SHOP_ITEM, "codice": "PV-OTHER"}], 0),
        ([{**SHOP_ITEM, "id": 17}, {**SHOP_ITEM, "id": 18}], 2),
    ],
    ids=["nothing-listed", "no-match", "two-matches"],
)
def test_a_shop_added_without_an_id_and_no_unique_match_is_a_contract_drift(
    at_provider, listed, count
):
    shop = local_shop()
    at_provider.post(f"{BASE}/addShop", json={"success": True})
    at_provider.get(f"{BASE}/listShops", json=listed)
    with pytest.raises(ContractDrift) as drift:
        sync_handler_for("campaigns.shop").create(shop)
    assert drift.value.fields == ("id",)
    message = str(drift.value)
    assert "addShop" in message and "listShops" in message and f"({count} " in message
    assert "senza l'id" in message  # Italian: the id was missing…
    assert "nessun record unico" in message  # …and no unique match was found


def test_a_listed_shop_another_local_record_holds_is_not_adopted(at_provider):
    local_shop(code="PV-OLD", remote_id="17")
    shop = local_shop()
    at_provider.post(f"{BASE}/addShop", json={"success": True})
    at_provider.get(f"{BASE}/listShops", json=[SHOP_ITEM])  # codice PV-MI-01, but id 17 is held
    with pytest.raises(ContractDrift):
        sync_handler_for("campaigns.shop").create(shop)


def local_media(name="volantino.png") -> Media:
    media = Media(file=image_upload(name), name=name)
    media.save()
    return media


def digest(media: Media) -> tuple[str, int]:
    with media.file.open("rb") as stored:
        content = stored.read()
    return hashlib.sha256(content).hexdigest(), len(content)


def listed_media(media: Media, id_, **fields) -> dict:
    return {"id": id_, "name": media.file.name.rsplit("/", 1)[-1], "url": f"https://cdn/{id_}"} | (
        fields
    )


@pytest.mark.parametrize(
    ("others", "chosen"),
    [
        # by sha256: the same name with other bytes is not ours
        (lambda m, sha, size: [listed_media(m, 1, sha256="0" * 64), listed_media(m, 2, sha256=sha)], "2"),
        # by size when there is no sha256
        (lambda m, sha, size: [listed_media(m, 1, size=size + 1), listed_media(m, 2, size=size)], "2"),
        # neither: the newest with that name
        (lambda m, sha, size: [listed_media(m, 3), listed_media(m, 12), {"id": 13, "name": "x.png", "url": "u"}], "12"),
    ],
    ids=["sha256", "size", "newest"],
)  # fmt: skip
def test_an_upload_without_an_id_is_found_by_name_and_content(at_provider, others, chosen):
    media = local_media()
    sha, size = digest(media)
    at_provider.post(f"{BASE}/uploadMedia", json={"success": True})
    at_provider.get(f"{BASE}/listMedia", json=others(media, sha, size))
    state = sync_handler_for("campaigns.media").create(media)
    assert state.remote_id == chosen
    assert sync_handler_for("campaigns.media").record_fields(state) == {
        "remote_url": f"https://cdn/{chosen}"
    }


def test_the_newest_upload_already_held_here_is_not_taken(at_provider):
    media = local_media()
    Media.objects.create(name="held", remote_id="12")
    at_provider.post(f"{BASE}/uploadMedia", json={"success": True})
    at_provider.get(f"{BASE}/listMedia", json=[listed_media(media, 3), listed_media(media, 12)])
    assert sync_handler_for("campaigns.media").create(media).remote_id == "3"


def test_an_upload_answered_with_its_id_but_no_url_takes_the_url_from_the_listing(at_provider):
    media = local_media()
    at_provider.post(f"{BASE}/uploadMedia", json={"success": True, "data": {"id": 7}})
    at_provider.get(f"{BASE}/listMedia", json=[listed_media(media, 7)])
    state = sync_handler_for("campaigns.media").create(media)
    assert (state.remote_id, state.data["url"]) == ("7", "https://cdn/7")


def test_two_identical_uploads_listed_and_none_held_is_a_contract_drift(at_provider):
    media = local_media()
    sha, _size = digest(media)
    at_provider.post(f"{BASE}/uploadMedia", json={"success": True})
    at_provider.get(
        f"{BASE}/listMedia",
        json=[listed_media(media, 1, sha256=sha), listed_media(media, 2, sha256=sha)],
    )
    with pytest.raises(ContractDrift):
        sync_handler_for("campaigns.media").create(media)


@pytest.fixture
def campaign_here():
    shop = local_shop(remote_id="17")
    return Campaign.objects.create(
        kind="template",
        shop=shop,
        image_url=TEMPLATE.image,
        link=TEMPLATE.link,
        template_name=TEMPLATE.template_name,
        date_send=timezone.now().replace(microsecond=0) + timedelta(days=3),
        promo_name="Sottocosto",
    )


def test_a_campaign_registered_without_an_id_is_found_by_exactly_what_was_sent(
    at_provider, campaign_here
):
    sent = campaign_data(campaign_here).wire()
    at_provider.post(f"{BASE}/registerCampaign", json={"success": True})
    at_provider.get(
        f"{BASE}/listCampaigns",
        json={
            "data": [
                {**sent, "id": 1, "image": "https://cdn/other.jpg"},  # another image
                {**sent, "id": 2, "promo_name": "Sottocosto!"},  # another promo
                {**sent, "id": 3, "pv_id": 18},  # another shop
                {**sent, "id": 4, "date_send": format_date_send(campaign_here.date_send + timedelta(seconds=1))},
                {**sent, "id": 5, "type": "flyer"},  # said to be a flyer
                {**sent, "id": "6", "pv_id": "17"},  # ours, ids as text
            ]
        },
    )  # fmt: skip
    assert sync_handler_for("campaigns.campaign").create(campaign_here).remote_id == "6"


def test_a_campaign_registered_without_an_id_and_not_listed_is_a_contract_drift(
    at_provider, campaign_here
):
    at_provider.post(f"{BASE}/registerCampaign", json={"success": True})
    at_provider.get(f"{BASE}/listCampaigns", json=[])
    with pytest.raises(ContractDrift) as drift:
        sync_handler_for("campaigns.campaign").create(campaign_here)
    assert "registerCampaign" in str(drift.value) and "listCampaigns" in str(drift.value)


def test_a_lost_answer_lookup_that_finds_two_candidates_adopts_neither(at_provider, campaign_here):
    sent = campaign_data(campaign_here).wire()
    at_provider.get(f"{BASE}/listCampaigns", json=[{**sent, "id": 1}, {**sent, "id": 2}])
    with pytest.raises(ContractDrift):
        sync_handler_for("campaigns.campaign").find_existing(campaign_here)


def test_through_the_outbox_an_unresolvable_create_fails_with_the_italian_message(
    at_provider, deliver
):
    at_provider.post(f"{BASE}/addShop", json={"success": True})
    at_provider.get(f"{BASE}/listShops", json=[])
    with deliver():
        shop = make_shop(code="PV-NOID")
    shop.refresh_from_db()
    entry = OutboxEntry.objects.get(object_id=str(shop.pk))
    assert (shop.sync_status, shop.remote_id) == (SyncStatus.FAILED, None)
    assert shop.sync_error.startswith("[CONTRACT_DRIFT]") and "senza l'id" in shop.sync_error
    assert (entry.state, entry.error_code, entry.outcome_unknown) == (
        "failed",
        "CONTRACT_DRIFT",
        True,
    )
    assert [c.operation for c in RemoteCall.objects.order_by("id")] == ["addShop", "listShops"]


# --- the sync flows through the sandbox, in each answer style -----------------------------------
STYLES = ["", "document", "variant"]


@pytest.mark.parametrize("style", STYLES, ids=["usual", "document", "variant"])
def test_shops_media_and_campaigns_sync_with_the_right_remote_id_in_every_answer_style(
    deliver, knobs, sandbox_records, style
):
    knobs("volantinopiu", answers=style)
    with deliver():
        shop = make_shop(code="PV-STYLE")
        other = make_shop(code="PV-STYLE-2")
        media = make_media()
        twin = make_media()  # the same image again: a record of its own there too
    with deliver():
        template = make_campaign(Shop.objects.get(pk=shop.pk), kind="template")
        flyer = make_campaign(
            Shop.objects.get(pk=other.pk),
            kind="flyer",
            media=Media.objects.get(pk=media.pk),
            image_url="",
        )

    for record in (shop, other, media, twin, template, flyer):
        record.refresh_from_db()
        assert record.sync_status == SyncStatus.SYNCED, record.sync_error
    by_code = {s["codice"]: s["id"] for s in sandbox_records("volantinopiu", "shop")}
    assert (shop.remote_id, other.remote_id) == (
        str(by_code["PV-STYLE"]),
        str(by_code["PV-STYLE-2"]),
    )
    uploads = {m["id"]: m for m in sandbox_records("volantinopiu", "media")}
    assert len(uploads) == 2 and {media.remote_id, twin.remote_id} == {str(i) for i in uploads}
    assert media.remote_url == uploads[int(media.remote_id)]["url"]
    campaigns = {c["id"]: c for c in sandbox_records("volantinopiu", "campaign")}
    assert campaigns[int(template.remote_id)]["pv_id"] == int(shop.remote_id)
    assert campaigns[int(flyer.remote_id)] | {"id": None} == {
        "id": None,
        "type": "flyer",
        "pv_id": int(other.remote_id),
        "image": media.remote_url,
        "flyer_link": "https://example.com/volantino.pdf",
        "date_send": format_date_send(flyer.date_send),
        "promo_name": flyer.promo_name,
    }
    assert not RemoteCall.objects.filter(ok=False).exists()
    listings = list(
        RemoteCall.objects.filter(operation__startswith="list").values_list("operation", flat=True)
    )
    if style == "document":  # every create answered `{"success": true}`: found by listing
        assert sorted(listings) == ["listCampaigns"] * 2 + ["listMedia"] * 2 + ["listShops"] * 2
    else:
        assert listings == []

    # Then the changes and deletions, in the same style.
    with deliver():
        shop_update(shop=Shop.objects.get(pk=shop.pk), data={"city": "Monza"})
        campaign_withdraw(campaign=Campaign.objects.get(pk=flyer.pk))
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED
    assert {s["codice"]: s["citta"] for s in sandbox_records("volantinopiu", "shop")}[
        "PV-STYLE"
    ] == "Monza"
    assert [c["id"] for c in sandbox_records("volantinopiu", "campaign")] == [
        int(template.remote_id)
    ]
    with deliver():
        campaign_withdraw(campaign=Campaign.objects.get(pk=template.pk))
        shop_delete(shop=Shop.objects.get(pk=shop.pk))
    assert [s["codice"] for s in sandbox_records("volantinopiu", "shop")] == ["PV-STYLE-2"]
    assert not RemoteCall.objects.filter(ok=False).exists()
    assert not OutboxEntry.objects.exclude(state="done").exists()


@pytest.mark.parametrize(
    "changes",
    [{}, {"link": "https://example.com/promo-2"}, {"template_name": "promo_2"}],
    ids=["same-fields", "another-link", "another-template"],
)
def test_a_campaign_registered_again_is_told_from_the_one_being_withdrawn(
    deliver, knobs, sandbox_records, changes
):
    # Document answers: the new registration has no id, and until the old one's delete is
    # through the listing shows both with the same shop, promo, date and image.
    knobs("volantinopiu", answers="document")
    with deliver():
        shop = make_shop(code="PV-REPLACE")
    with deliver():
        old = make_campaign(Shop.objects.get(pk=shop.pk))
    old.refresh_from_db()
    with deliver():
        new = campaign_replace(campaign=old, data=changes)
    new.refresh_from_db()
    [remote] = sandbox_records("volantinopiu", "campaign")
    assert new.sync_status == SyncStatus.SYNCED, new.sync_error
    assert new.remote_id == str(remote["id"]) != old.remote_id
    assert not OutboxEntry.objects.exclude(state="done").exists()


@pytest.mark.parametrize("style", STYLES, ids=["usual", "document", "variant"])
def test_a_shop_whose_answer_was_garbled_is_found_once_in_every_answer_style(
    deliver, knobs, sandbox_records, style
):
    knobs("volantinopiu", answers=style, malformed_json=True)
    with deliver():
        shop = make_shop(code="PV-LOST")
    assert OutboxEntry.objects.get().outcome_unknown
    knobs("volantinopiu", answers=style, malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True), deliver():
        outbox_sweep()
    shop.refresh_from_db()
    [remote] = sandbox_records("volantinopiu", "shop")
    assert (shop.sync_status, shop.remote_id) == (SyncStatus.SYNCED, str(remote["id"]))


@pytest.mark.parametrize("style", STYLES, ids=["usual", "document", "variant"])
def test_the_pull_reads_every_answer_style(deliver, knobs, style):
    from campaigns.pull import volantinopiu_pull

    with deliver():
        shop = make_shop(code="PV-PULL")
        make_media()
    with deliver():
        make_campaign(Shop.objects.get(pk=shop.pk))
    knobs("volantinopiu", answers=style)
    report = volantinopiu_pull(dry_run=True)
    assert not report.different and not report.only_remote


# --- the preflight (`checkproviders`) ----------------------------------------------------------
@pytest.mark.parametrize("style", STYLES, ids=["usual", "document", "variant"])
def test_the_preflight_passes_against_the_sandbox_in_every_answer_style(deliver, knobs, style):
    with deliver():
        shop = make_shop(code="PV-CHECK")
        make_media()
    with deliver():
        make_campaign(Shop.objects.get(pk=shop.pk))
    knobs("volantinopiu", answers=style)
    before = RemoteCall.objects.count()

    [report] = preflight_run("volantinopiu")

    assert report.passed, report.summary()
    assert [p.name for p in report.probes] == ["listShops", "listMedia", "listCampaigns"]
    assert all(p.reachable and p.credentials_accepted and not p.fields for p in report.probes)
    calls = RemoteCall.objects.order_by("id")[before:]
    assert [(c.method, c.path, c.ok) for c in calls] == [
        ("GET", "/listShops", True),
        ("GET", "/listMedia", True),
        ("GET", "/listCampaigns", True),
    ]  # read-only: it never writes to the provider


def test_the_preflight_fails_with_a_wrong_token(settings):
    settings.VOLANTINOPIU_TOKEN = "not-the-token"
    [report] = preflight_run("volantinopiu")
    assert not report.passed
    assert all(p.reachable and p.credentials_accepted is False for p in report.probes)


def test_the_preflight_is_not_configured_without_its_settings(settings):
    settings.VOLANTINOPIU_TOKEN = ""
    [report] = preflight_run("volantinopiu")
    assert (report.configured, report.passed) == (False, False)
    assert report.missing_settings == ["VOLANTINOPIU_TOKEN"]


def test_the_preflight_names_every_field_that_differs(at_provider):
    at_provider.get(f"{BASE}/listShops", json={"success": True, "data": [{"id": 1, "citta": 5}]})
    at_provider.get(
        f"{BASE}/listMedia", json=[{"id": [1], "path": "https://cdn/a.png", "filename": "a.png"}]
    )
    at_provider.get(
        f"{BASE}/listCampaigns",
        json={"data": [{**CAMPAIGN_ITEM, "date_send": "1 dicembre", "image": None}]},
    )

    [report] = preflight_run("volantinopiu")

    assert not report.passed
    shops, media, campaigns = report.probes
    assert shops.fields == ["data[].codice: missing"]
    assert media.fields == ["answer[].id: list, expected number or text"]  # path/filename read
    assert campaigns.fields == [
        "data[].image: null, expected text",
        "data[].date_send: not readable",
    ]
    assert "listShops" in report.summary() and "codice" in report.summary()


def test_the_preflight_reports_a_listing_it_cannot_read_at_all(at_provider):
    at_provider.get(f"{BASE}/listShops", json={"success": True, "data": {"id": 1}})
    at_provider.get(f"{BASE}/listMedia", json=[])
    at_provider.get(f"{BASE}/listCampaigns", json={"data": [], "next_page_url": "?page=2"})
    [report] = preflight_run("volantinopiu")
    shops, media, campaigns = report.probes
    assert (shops.passed, shops.fields) == (False, ["data"])
    assert media.passed
    assert (campaigns.passed, campaigns.fields) == (False, ["next_page_url"])


def test_a_wrong_token_at_the_provider_is_refused_credentials(at_provider):
    for path in ("listShops", "listMedia", "listCampaigns"):
        at_provider.get(f"{BASE}/{path}", status=401, json={"message": "Unauthenticated."})
    [report] = preflight_run("volantinopiu")
    assert [p.credentials_accepted for p in report.probes] == [False, False, False]
    with pytest.raises(ProviderAuthError):
        VolantinoPiuClient(base_url=BASE, token="x").list_shops()


def test_shop_data_round_trips_through_the_wire(client, api):
    shop = local_shop(postal_code="20121", province="MI")
    api.get(f"{BASE}/listShops", json=[{"id": 1, **shop_data(shop).wire()}])
    assert client.list_shops()[0].data == shop_data(shop)


def test_no_sandbox_object_is_touched_by_the_responses_tests(client, api):
    api.get(f"{BASE}/listShops", json=[])
    client.list_shops()
    assert not SandboxObject.objects.exists()


def test_checkproviders_exits_0_against_the_sandbox_and_1_naming_volantinopiu_otherwise(
    settings,
):
    out = StringIO()
    call_command("checkproviders", "--provider", "volantinopiu", stdout=out)
    assert "VolantinoPiù" in out.getvalue()

    settings.VOLANTINOPIU_TOKEN = "not-the-token"
    with pytest.raises(CommandError) as failed:
        call_command("checkproviders", "--provider", "volantinopiu", stdout=StringIO())
    assert failed.value.returncode == 1
    assert "VolantinoPiù" in str(failed.value)
