"""The AMM document as a contract (`../shared/api-docs/amm-fidelity-cards.txt`).

Every request the document prints (its `curl` lines and URI lines) and every answer it prints
are fixtures, copied as printed: the client builds exactly those requests (path, method, HTTP
Basic, form-encoded field names, the `yyyy-MM-dd'T'HH:mm:ssZ` date with its `+` encoded) and
reads exactly those answers. Then what the document leaves out: other plausible shapes are
read too, an error code it does not list is classified by status and wording, and a garbled
answer to any endpoint is a typed error (never a KeyError, ValueError or TypeError), logged
with the answer's shape. Last, the read-only check (`checkproviders`) of AMM."""

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from core import errors
from core.http import ANSWER_READING_ERRORS
from core.models import RemoteCall
from core.preflight import preflight_run
from loyalty.amm import AmmClient, Contact, RemoteRecord

BASE = "https://api.amm.cloud/sms/v2"
BASIC = "Basic " + base64.b64encode(b"AUTH_KEY:AUTH_SECRET").decode()
pytestmark = pytest.mark.django_db

# --- the document's answers, as printed --------------------------------------------------------
FIDELITY_LIST = """{
"fidelityList": [
{
"id": 38,
"name": "Mio programma fidelity",
"pointValue": 5.0
}
]
}"""
CARD_LIST = """{
"metadata": {
"count": 15,
"offset": 0,
"limit": 3
},
"fidelityCardList": [
{
"fidelityId": 62,
"fidelityCardId": 2668,
"fidelityCode": "CARD_00011",
"activationDate": "2019-11-22T16:11:23+0100",
"active": true,
"points": 21
},
{
"fidelityId": 62,
"fidelityCardId": 2669,
"fidelityCode": "CARD_00014",
"activationDate": "2019-11-22T16:11:23+0100",
"active": true,
"points": 0
},
{
"fidelityId": 62,
"fidelityCardId": 2670,
"fidelityCode": "CARD_00021",
"activationDate": "2019-11-22T16:11:23+0100",
"active": true,
"points": 0
}
]
}"""
CARD_DETAIL = """{
"fidelityId": 62,
"fidelityCardId": 2676,
"fidelityName": "Programma fidelity superfico",
"contactDetail": {
"msisdn": "393480000000",
"name": "Mario",
"lastname": "Rossi",
"email": "mario.rossi@fake.it",
"groups": [
{
"id": 10001,
"name": "amici"
}
],
"customFields": [
{
"fieldKey": "f_s_msisdn",
"fieldName": "Cellulare",
"fieldValue": "393480000000"
},
{
"fieldKey": "f_s_email",
"fieldName": "Email",
"fieldValue": "mario.rossi@fake.it"
},
{
"fieldKey": "f_s_nome",
"fieldName": "Nome",
"fieldValue": "Mario"
},
{
"fieldKey": "f_s_cognome",
"fieldName": "Cognome",
"fieldValue": "Rossi"
}
]
},
"fidelityCode": "CARD_00038",
"activationDate": "2019-11-22T16:11:23+0100",
"active": true,
"points": 7
}"""
RECORD_LIST = """{
"metadata": {
"count": 4,
"offset": 0,
"limit": 20
},
"fidelityCardRecordList": [
{
"id": 435,
"points": 2,
"amount": 10.0,
"action": "ADD",
"date": "2019-11-27T15:38:09+0100"
},
{
"id": 436,
"points": 4,
"amount": 20.0,
"action": "ADD",
"date": "2019-11-27T15:38:12+0100"
},
{
"id": 437,
"points": 6,
"amount": 32.0,
"action": "ADD",
"date": "2019-11-27T15:38:16+0100"
},
{
"id": 438,
"points": -5,
"amount": 0.0,
"rewardId": 60,
"action": "REWARD",
"date": "2019-11-27T15:38:37+0100"
}
]
}"""
CARD_CREATED = """{
"fidelityId": 38,
"fidelityCardId": 1234,
"fidelityCode": "F582323963717",
"activationDate": "2019-12-03T14:26:48+0100",
"active": true,
"points": 0
}"""
RECORD_CREATED = """{
"id": 607,
"points": 2,
"amount": 11.12,
"action": "ADD",
"date": "2020-07-06T12:53:41+0200"
}"""
PLUS_ONE = timezone(timedelta(hours=1))
# `?fromDate=2019-11-22T11:22:33%2B0200`, as both lists' examples write it.
FROM_DATE = datetime(2019, 11, 22, 11, 22, 33, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture
def client():
    return AmmClient(base_url=BASE, auth_key="AUTH_KEY", auth_secret="AUTH_SECRET")


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def answer(api, method, path, body, status=200):
    api.add(method, f"{BASE}/{path}", body=body, status=status, content_type="application/json")


def sent(api):
    """The one request made: method, URL, headers, body."""
    [call] = api.calls
    return call.request


# --- the document's requests and answers -----------------------------------------------------
def test_lista_fidelity(client, api):
    # curl --user AUTH_KEY:AUTH_SECRET \ -XGET https://api.amm.cloud/sms/v2/fidelity/list
    answer(api, "GET", "fidelity/list", FIDELITY_LIST)
    [program] = client.list_programs()
    request = sent(api)
    assert (request.method, request.url) == ("GET", f"{BASE}/fidelity/list")
    assert request.headers["Authorization"] == BASIC
    assert (program.id, program.name, program.point_value) == (
        "38",
        "Mio programma fidelity",
        Decimal("5.0"),
    )


def test_lista_fidelity_card(client, api):
    # -XGET https://api.amm.cloud/sms/v2/fidelity/62/card/list?fromDate=2019-11-22T11:22:33%2B0200
    answer(api, "GET", "fidelity/62/card/list", CARD_LIST)
    page = client.list_cards("62", offset=None, limit=None, from_date=FROM_DATE)
    request = sent(api)
    url = urlsplit(request.url)
    assert (request.method, url.path) == ("GET", "/sms/v2/fidelity/62/card/list")
    assert "%2B0200" in url.query  # the + encoded: a bare + would be read as a space
    assert parse_qs(url.query) == {"fromDate": ["2019-11-22T11:22:33+0200"]}
    assert request.headers["Authorization"] == BASIC
    assert (page.count, page.offset, page.limit) == (15, 0, 3)
    assert [(c.program_id, c.id, c.code, c.active, c.points) for c in page.items] == [
        ("62", "2668", "CARD_00011", True, 21),
        ("62", "2669", "CARD_00014", True, 0),
        ("62", "2670", "CARD_00021", True, 0),
    ]
    assert page.items[0].activation_date == datetime(2019, 11, 22, 16, 11, 23, tzinfo=PLUS_ONE)


def test_dettaglio_fidelity_card(client, api):
    # -XGET https://api.amm.cloud/sms/v2/fidelity/38/card/CARD_00038
    answer(api, "GET", "fidelity/38/card/CARD_00038", CARD_DETAIL)
    card = client.get_card("38", "CARD_00038")
    request = sent(api)
    assert (request.method, request.url) == ("GET", f"{BASE}/fidelity/38/card/CARD_00038")
    assert (card.program_id, card.id, card.code, card.active, card.points) == (
        "62",
        "2676",
        "CARD_00038",
        True,
        7,
    )
    assert card.contact == Contact("393480000000", "Mario", "Rossi", "mario.rossi@fake.it")
    assert card.activation_date == datetime(2019, 11, 22, 16, 11, 23, tzinfo=PLUS_ONE)


def test_dettaglio_punti_fidelity_card(client, api):
    # -XGET .../fidelity/38/card/CARD_00038/record/list?fromDate=2019-11-22T11:22:33%2B0200
    answer(api, "GET", "fidelity/38/card/CARD_00038/record/list", RECORD_LIST)
    page = client.list_records("38", "CARD_00038", offset=None, limit=None, from_date=FROM_DATE)
    url = urlsplit(sent(api).url)
    assert url.path == "/sms/v2/fidelity/38/card/CARD_00038/record/list"
    assert "%2B0200" in url.query
    assert parse_qs(url.query) == {"fromDate": ["2019-11-22T11:22:33+0200"]}
    assert (page.count, page.offset, page.limit) == (4, 0, 20)
    assert [(r.id, r.points, r.amount, r.reward_id, r.action) for r in page.items] == [
        ("435", 2, Decimal("10.0"), None, "ADD"),
        ("436", 4, Decimal("20.0"), None, "ADD"),
        ("437", 6, Decimal("32.0"), None, "ADD"),
        ("438", -5, Decimal("0.0"), 60, "REWARD"),
    ]
    assert page.items[3].date == datetime(2019, 11, 27, 15, 38, 37, tzinfo=PLUS_ONE)


def test_crea_una_fidelity_card(client, api):
    # -XPOST https://api.amm.cloud/sms/v2/fidelity/38/card \ -d 'msisdn=393400000000'
    answer(api, "POST", "fidelity/38/card", CARD_CREATED)
    card = client.create_card("38", msisdn="393400000000")
    request = sent(api)
    assert (request.method, request.url) == ("POST", f"{BASE}/fidelity/38/card")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == BASIC
    assert request.body == "msisdn=393400000000"
    assert (card.program_id, card.id, card.code, card.active, card.points) == (
        "38",
        "1234",
        "F582323963717",
        True,
        0,
    )
    assert card.activation_date == datetime(2019, 12, 3, 14, 26, 48, tzinfo=PLUS_ONE)


def test_crea_una_fidelity_card_with_every_documented_parameter(client, api):
    # msisdn, cardCode, startingPoints (Integer), startingAmount (String), sendSms (Boolean)
    answer(api, "POST", "fidelity/38/card", CARD_CREATED)
    client.create_card(
        "38",
        msisdn="393400000000",
        card_code="CARD_00038",
        starting_amount=Decimal("32.50"),
        send_sms=True,
    )
    assert parse_qs(sent(api).body) == {
        "msisdn": ["393400000000"],
        "cardCode": ["CARD_00038"],
        "startingAmount": ["32.5"],
        "sendSms": ["true"],
    }


def test_assegna_punti_premi(client, api):
    # URI: POST https://api.amm.cloud/sms/v2/fidelity/38/card/CARD_00038/record (the document's
    # curl under it repeats the create-card one; its answer is a record: 11.12 € → 2 points).
    answer(api, "POST", "fidelity/38/card/CARD_00038/record", RECORD_CREATED)
    record = client.add_record(
        "38", "CARD_00038", action="ADD", amount=Decimal("11.12"), note="scontrino"
    )
    request = sent(api)
    assert (request.method, request.url) == ("POST", f"{BASE}/fidelity/38/card/CARD_00038/record")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body) == {"action": ["ADD"], "amount": ["11.12"], "note": ["scontrino"]}
    assert record == RemoteRecord(
        id="607",
        action="ADD",
        points=2,
        amount=Decimal("11.12"),
        reward_id=None,
        date=datetime(2020, 7, 6, 12, 53, 41, tzinfo=timezone(timedelta(hours=2))),
        raw=json.loads(RECORD_CREATED),
    )


def test_assegna_un_premio_with_the_reward_id(client, api):
    answer(
        api,
        "POST",
        "fidelity/38/card/CARD_00038/record",
        json.dumps(json.loads(RECORD_LIST)["fidelityCardRecordList"][3]),
    )
    record = client.add_record("38", "CARD_00038", action="REWARD", reward_id=60, send_sms=False)
    assert parse_qs(sent(api).body) == {
        "action": ["REWARD"],
        "rewardId": ["60"],
        "sendSms": ["false"],
    }
    assert (record.points, record.reward_id) == (-5, 60)


def test_elimina_record(client, api):
    # -XDELETE https://api.amm.cloud/sms/v2/fidelity/38/card/CARD_00038/record/123 → 204
    api.add("DELETE", f"{BASE}/fidelity/38/card/CARD_00038/record/123", status=204)
    assert client.delete_record("38", "CARD_00038", "123") is None
    request = sent(api)
    assert (request.method, request.headers["Authorization"]) == ("DELETE", BASIC)


# --- the statuses the document lists: 400, 401, 405, 500 -------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        # "400 | Parametri non validi I possibili": the list stops there; the vendor's body.
        (400, {"errorCode": 400, "errorMsg": "BAD_MSISDN"}, errors.ProviderRejected, "BAD_MSISDN"),
        (400, "", errors.ProviderRejected, "HTTP_400"),
        (401, "", errors.ProviderAuthError, "HTTP_401"),  # "Credenziali non valide"
        (
            401,
            {"errorCode": 401, "errorMsg": "UNAUTHORIZED"},
            errors.ProviderAuthError,
            "UNAUTHORIZED",
        ),
        (405, "", errors.ProviderRejected, "HTTP_405"),  # "Metodo HTTP non consentito"
        (500, "", errors.ProviderUnavailable, "HTTP_500"),  # "Errore generico"
        (
            500,
            {"errorCode": 500, "errorMsg": "GENERIC_ERROR"},
            errors.ProviderUnavailable,
            "GENERIC_ERROR",
        ),
    ],
)
def test_every_documented_status_is_a_typed_error(client, api, status, body, error, code):
    api.add("GET", f"{BASE}/fidelity/list", status=status, body=json.dumps(body) if body else "")
    with pytest.raises(error) as raised:
        client.list_programs()
    assert type(raised.value) is error and raised.value.code == code
    assert raised.value.user_message  # a sentence for the user, never empty


# --- error codes the document does not list: by status and wording ---------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"errorCode": 400, "errorMsg": "CARD_NOT_FOUND"}, "non conosce questa carta"),
        ({"errorCode": 400, "errorMsg": "NO_CARD", "errorDescription": "Card not found"}, "carta"),
        ({"errorCode": 400, "errorMsg": "Fidelity card non trovata"}, "carta"),
        ({"errorCode": "400", "errorMsg": "FIDELITY_CARD_NOT_EXIST"}, "carta"),
        ({"errorCode": 400, "errorMsg": "ERR_17", "message": "Card does not exist"}, "carta"),
        ({"errorCode": 400, "errorMsg": "RECORD_DOES_NOT_EXIST"}, "movimento"),
        ({"errorCode": 400, "errorMsg": "Programma fidelity inesistente"}, "programma"),
        ({"errorCode": 400, "errorMsg": "NOT_FOUND"}, ""),
    ],
)
def test_not_found_is_recognised_by_status_and_wording(client, api, body, message):
    answer(api, "GET", "fidelity/38/card/CARD_00038", json.dumps(body), status=400)
    with pytest.raises(errors.ProviderNotFound) as raised:
        client.get_card("38", "CARD_00038")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"errorCode": 400, "errorMsg": "TEMPORARY_ERROR"}, errors.ProviderUnavailable),
        (
            {"errorCode": 400, "errorMsg": "E1", "errorDescription": "Riprova più tardi"},
            errors.ProviderUnavailable,
        ),
        ({"errorCode": 400, "errorMsg": "INVALID_CREDENTIALS"}, errors.ProviderAuthError),
        ({"errorCode": 400, "errorMsg": "BAD_NOTE"}, errors.ProviderRejected),
        (
            {"errorCode": 400, "errorMsg": "E2", "message": "Importo non valido"},
            errors.ProviderRejected,
        ),
        ({"message": "Something went wrong"}, errors.ProviderRejected),
        (["not", "an", "object"], errors.ProviderRejected),
    ],
)
def test_other_unknown_codes_are_classified_by_their_words(client, api, body, error):
    answer(api, "POST", "fidelity/38/card", json.dumps(body), status=400)
    with pytest.raises(error) as raised:
        client.create_card("38", msisdn="393400000000")
    assert type(raised.value) is error
    said = body.get("errorDescription") or body.get("message") if isinstance(body, dict) else ""
    if error is errors.ProviderRejected and said:
        assert said in str(raised.value)  # AMM's own words, for the user to act on


def test_an_error_body_under_200_is_that_error(client, api):
    answer(api, "GET", "fidelity/38/card/X", '{"errorCode": 400, "errorMsg": "CARD_NOT_FOUND"}')
    with pytest.raises(errors.ProviderNotFound):
        client.get_card("38", "X")


def test_a_page_size_refused_in_other_words_is_halved(client, api):
    refused = {"errorCode": 400, "errorMsg": "LIMIT_TOO_HIGH"}
    api.add("GET", f"{BASE}/fidelity/62/card/list", status=400, json=refused)
    api.add(
        "GET",
        f"{BASE}/fidelity/62/card/list",
        json=json.loads(CARD_LIST) | {"metadata": {"count": 3}},
    )
    cards = [c for _page, cards in client.iter_cards("62", page_size=40) for c in cards]
    assert len(cards) == 3
    assert parse_qs(urlsplit(api.calls[1].request.url).query)["limit"] == ["20"]


# --- other plausible shapes, read too ----------------------------------------------------------
def test_numbers_ids_and_flags_as_text_and_iso_dates_are_read(client, api):
    body = {
        "fidelityCardList": [  # and no metadata block
            {
                "fidelityId": "62",
                "fidelityCardId": "2668",
                "fidelityCode": "CARD_00011",
                "activationDate": "2019-11-22T16:11:23+01:00",
                "active": "false",
                "points": "21",
            },
            {"fidelityCardId": 2669.0, "fidelityCode": "CARD_00014", "activationDate": None},
        ]
    }
    answer(api, "GET", "fidelity/62/card/list", json.dumps(body))
    page = client.list_cards("62")
    first, second = page.items
    assert (page.count, page.offset) == (None, 0)
    assert (first.id, first.active, first.points) == ("2668", False, 21)
    assert first.activation_date == datetime(2019, 11, 22, 16, 11, 23, tzinfo=PLUS_ONE)
    # Not said: the program asked for, active, no date, and a balance "not known" (not zero).
    assert (second.program_id, second.id, second.active) == ("62", "2669", True)
    assert (second.activation_date, second.points) == (None, None)


def test_records_with_text_numbers_a_comma_amount_and_a_null_reward_are_read(client, api):
    body = {
        "metadata": {"count": "2", "offset": "0", "limit": "20"},
        "fidelityCardRecordList": [
            {
                "id": "435",
                "points": "2",
                "amount": "10,50",
                "rewardId": None,
                "action": "add",
                "date": "2019-11-27T14:38:09Z",
            },
            {"id": 438, "points": -5.0, "rewardId": "60", "action": "REWARD"},
        ],
    }
    answer(api, "GET", "fidelity/38/card/C1/record/list", json.dumps(body))
    first, second = client.list_records("38", "C1").items
    assert (first.id, first.points, first.amount, first.reward_id, first.action) == (
        "435",
        2,
        Decimal("10.50"),
        None,
        "ADD",
    )
    assert first.date == datetime(2019, 11, 27, 15, 38, 9, tzinfo=PLUS_ONE)
    assert (second.points, second.amount, second.reward_id, second.date) == (-5, None, 60, None)


def test_a_detail_without_contact_or_with_the_number_only_in_the_custom_fields(client, api):
    detail = json.loads(CARD_DETAIL)
    del detail["contactDetail"]["msisdn"]
    answer(api, "GET", "fidelity/38/card/CARD_00038", json.dumps(detail))
    detail.pop("contactDetail")
    answer(
        api,
        "GET",
        "fidelity/38/card/CARD_00039",
        json.dumps(detail | {"fidelityCode": "CARD_00039"}),
    )
    assert client.get_card("38", "CARD_00038").contact.msisdn == "393480000000"
    assert client.get_card("38", "CARD_00039").contact == Contact()


def test_a_created_card_without_its_code_is_the_code_we_sent(client, api):
    created = json.loads(CARD_CREATED)
    del created["fidelityCode"]
    answer(api, "POST", "fidelity/38/card", json.dumps(created))
    card = client.create_card("38", msisdn="393400000000", card_code="CARD_MINE1")
    assert card.code == card.raw["fidelityCode"] == "CARD_MINE1"


def test_a_list_that_ignores_the_offset_is_a_drift_not_an_endless_loop(client, api):
    same = {"fidelityCardList": [{"fidelityCardId": 1, "fidelityCode": "CARD_00001"}]}
    api.add("GET", f"{BASE}/fidelity/62/card/list", json=same)
    with pytest.raises(errors.ContractDrift) as raised:
        [c for _page, cards in client.iter_cards("62", page_size=1) for c in cards]
    assert raised.value.fields == ("offset",)


# --- garbled answers: a typed error for each endpoint, with the shape in the call log --------
ENDPOINTS = {
    "fidelity/list": ("GET", "fidelity/list", lambda c: c.list_programs()),
    "card/list": ("GET", "fidelity/38/card/list", lambda c: c.list_cards("38")),
    "card detail": ("GET", "fidelity/38/card/C1", lambda c: c.get_card("38", "C1")),
    "card create": ("POST", "fidelity/38/card", lambda c: c.create_card("38", msisdn="3934")),
    "record/list": ("GET", "fidelity/38/card/C1/record/list", lambda c: c.list_records("38", "C1")),
    "record create": (
        "POST",
        "fidelity/38/card/C1/record",
        lambda c: c.add_record("38", "C1", action="ADD", points=1),
    ),
}
GARBLED = {
    "null": "null",
    "empty object": "{}",
    "a list": "[1, 2]",
    "a string": '"ok"',
    "a number": "42",
    "lists of the wrong type": '{"fidelityList": {}, "fidelityCardList": 3, "fidelityCardRecordList": "x", "metadata": []}',
    "items of the wrong type": '{"fidelityList": [1], "fidelityCardList": ["x"], "fidelityCardRecordList": [null], "metadata": {"count": 1}}',
    "ids missing": '{"fidelityList": [{"name": "x", "pointValue": 5}], "fidelityCardList": [{"fidelityCode": "C"}], "fidelityCardRecordList": [{"points": 1, "action": "ADD"}], "metadata": {}, "fidelityCode": "C", "points": 1, "action": "ADD"}',
    "values of the wrong type": '{"fidelityList": [{"id": {}, "pointValue": "five"}], "fidelityCardList": [{"fidelityCardId": [], "fidelityCode": "C", "points": "many"}], "fidelityCardRecordList": [{"id": 1, "points": true, "action": "ADD"}], "metadata": {"count": "lots"}, "fidelityCardId": 1, "fidelityCode": "C", "activationDate": "ieri", "id": 1, "points": "x", "action": 7}',
    "dates unreadable": '{"fidelityCardList": [{"fidelityCardId": 1, "fidelityCode": "C", "activationDate": "22/11/2019"}], "fidelityCardRecordList": [{"id": 1, "points": 1, "action": "ADD", "date": "2019-02-30T10:00:00+0100"}], "metadata": {}, "fidelityList": [{"id": 1, "pointValue": "NaN"}], "fidelityCardId": 1, "fidelityCode": "C", "activationDate": {}, "id": 1, "points": 1, "action": "ADD", "date": [2019]}',
    "not JSON": "<html>Bad gateway</html>",
    "JSON cut off": '{"fidelityList": [{"id": 1',
}


@pytest.mark.parametrize("garbled", GARBLED, ids=list(GARBLED))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=list(ENDPOINTS))
def test_a_garbled_answer_is_a_typed_error_never_a_python_one(client, api, endpoint, garbled):
    method, path, call = ENDPOINTS[endpoint]
    api.add(method, f"{BASE}/{path}", body=GARBLED[garbled], content_type="application/json")
    with pytest.raises(errors.ProviderError) as raised:
        call(client)
    exc = raised.value
    assert not isinstance(exc, ANSWER_READING_ERRORS)
    # Not JSON (or JSON null): a garbled answer, looked up like a lost one (core.http).
    unreadable = garbled in ("not JSON", "JSON cut off", "null")
    assert isinstance(exc, errors.ProviderTimeout if unreadable else errors.ContractDrift), exc
    assert exc.outcome_unknown  # it may have been applied: a repeat looks it up first
    logged = RemoteCall.objects.get()
    assert not logged.ok and logged.answer_shape
    if isinstance(exc, errors.ContractDrift):
        assert logged.error_code == "CONTRACT_DRIFT"
        assert exc.fields and all(isinstance(name, str) for name in exc.fields)


def test_a_drift_names_the_field_and_keeps_only_the_shape(client, api):
    body = {"fidelityList": [{"id": 38, "name": "Mario Rossi 393480000000"}]}
    answer(api, "GET", "fidelity/list", json.dumps(body))
    with pytest.raises(errors.ContractDrift) as raised:
        client.list_programs()
    assert raised.value.fields == ("fidelityList[].pointValue: missing",)
    logged = RemoteCall.objects.get()
    assert "pointValue" in logged.error and "393480000000" not in logged.answer_shape
    assert logged.answer_shape == "{fidelityList: [{id: number, name: text}] ×1}"


# --- the read-only check: fidelity/list and one small page of cards --------------------------
def test_checkproviders_passes_against_the_sandbox(knobs):
    for style in ("", "document", "variant"):
        knobs("amm", answers=style)
        [report] = preflight_run("amm")
        assert report.passed, (style, report.summary())
        assert [p.name for p in report.probes] == ["fidelity/list", "card/list", "record/list"]
        assert all(p.credentials_accepted and p.reachable for p in report.probes)


def test_checkproviders_says_the_credentials_are_refused(settings):
    settings.AMM_AUTH_KEY = "wrong-key"
    [report] = preflight_run("amm")
    assert not report.passed
    assert report.probes[0].credentials_accepted is False and report.probes[0].reachable


def test_checkproviders_names_a_field_the_answer_lacks(settings, api):
    settings.AMM_BASE_URL = BASE
    answer(api, "GET", "fidelity/list", '{"fidelityList": [{"id": 38, "name": "Carta"}]}')
    api.add(
        "GET",
        f"{BASE}/fidelity/38/card/list",
        json={"metadata": {"count": 1}, "fidelityCardList": [{"fidelityCardId": 1, "points": "x"}]},
    )
    [report] = preflight_run("amm")
    programs, cards, records = report.probes
    assert not report.passed and not records.passed  # no card could be read for its records
    assert programs.fields == ["fidelityList[].pointValue: missing"]
    assert cards.fields == ["fidelityCardList[].fidelityCode: missing"]
    assert "pointValue" in report.summary()


def test_checkproviders_names_a_value_the_client_cannot_read(settings, api):
    settings.AMM_BASE_URL = BASE
    answer(api, "GET", "fidelity/list", FIDELITY_LIST)
    listed = json.loads(CARD_LIST)
    listed["fidelityCardList"][1]["activationDate"] = "22/11/2019"
    answer(api, "GET", "fidelity/38/card/list", json.dumps(listed))
    [report] = preflight_run("amm")
    assert report.probes[0].passed and not report.probes[1].passed
    assert report.probes[1].fields == ["fidelityCardList[].activationDate: text, expected a date"]


def test_a_drift_reaches_the_card_as_an_italian_message_not_a_python_error(settings, api, deliver):
    from core.models import OutboxEntry, SyncStatus
    from loyalty.models import FidelityProgram
    from tests.loyalty.factories import make_card

    settings.AMM_BASE_URL = BASE
    program = FidelityProgram.objects.create(remote_id="38", name="Carta", point_value=5)
    answer(api, "POST", "fidelity/38/card", '{"fidelityId": 38, "points": 0}')  # no card id
    with deliver():
        card = make_card(program=program)
    card.refresh_from_db()
    entry = OutboxEntry.objects.get(object_key=card.outbox_key)
    assert (card.sync_status, entry.error_code) == (SyncStatus.FAILED, "CONTRACT_DRIFT")
    assert "non sa leggere (fidelityCardId: missing; fidelityCode: missing)" in card.sync_error
    assert entry.outcome_unknown  # a retry looks the card up before creating it again
    logged = RemoteCall.objects.get(operation="card.create")
    assert (
        logged.outbox_entry_id == entry.pk
        and logged.answer_shape == "{fidelityId: number, points: number}"
    )
