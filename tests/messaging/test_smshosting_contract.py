"""The SMSHosting push document as a contract (`../shared/api-docs/smshosting-push.txt`).

Every request the document prints (its `curl` lines, the Unirest examples' fields, the URI
lines) and every answer it prints are fixtures, copied as printed: the client builds exactly
those requests (path, method, HTTP Basic, form-encoded or multipart field names, the
`yyyy-MM-ddTHH:mm:ssZ` date) and reads exactly those answers. Then what the document leaves
out: other plausible shapes are read too, an errorMsg it does not list is classified by status
and wording, and a garbled answer to any endpoint is a typed error (never a KeyError,
ValueError or TypeError), logged with the answer's shape. Last, the read-only check of
SMSHosting (`checkproviders`: push/search with limit 1)."""

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
from messaging.smshosting import ERROR_MESSAGES, PushRequest, SendResult, SmsHostingClient

BASE = "https://api.smshosting.it/rest/api"
BASIC = "Basic " + base64.b64encode(b"AUTH_KEY:AUTH_SECRET").decode()
pytestmark = pytest.mark.django_db

# --- the document's answers, as printed (line breaks and all) ---------------------------------
SEND_ANSWER = """{
   "transactionId":"d41ebeeb38b6a04818aa707818d3161e",
   "smsInserted":0,
   "smsNotInserted":0,
"pushInserted": 1, "sms":[ { "id":389310742, "to":"393412345678", "status":"INSERTED",
"type":"PUSH" } ] }"""
ESTIMATE_ANSWER = """{
   "cost":0,
   "userCredit":15.484,
"smsCount":0,
"pushCount":1,
"pushAvailable":899 }"""
SEARCH_ANSWER = """{
   "metadata":{
      "count":1,
      "offset":0,
      "limit":20
   },
   "smsList":[
      {
         "id":389395385,
         "to":"393480000000",
         "text":"Test Push",
         "status":"SENT",
         "insertDate":"2014-01-13T15:01:35+0100",
         "sentDate":"2014-01-13T15:01:37+0100",
         "deliveryDate":"2014-01-13T15:01:40+0100",
         "transactionId":"72810108d4114097b9edb42b255b273c",
         "multimediaContent": {
"id": "Efwchkk3WmI=",
"type": "IMAGE"
}       }    ] }"""
INVITATION_ANSWER = """{
   "to":"393480000000",
   "url":"cqui.it/5izKw2"
}"""
PLUS_ONE = timezone(timedelta(hours=1))
# Every parameter the document lists for push/send (push/estimate: all but the last three).
SEND_PARAMETERS = {
    "to",
    "group",
    "text",
    "file",
    "onlyPush",
    "smsFrom",
    "smsText",
    "smsEncoding",
    "date",
    "transactionId",
    "sandbox",
}
ESTIMATE_PARAMETERS = SEND_PARAMETERS - {"date", "transactionId", "sandbox"}
# The errorMsg codes each endpoint's table lists.
DOCUMENTED_ERRORS = {
    "push/send": [
        "PUSH_UNAVAILABLE",
        "BAD_TRANSACTIONID",
        "BAD_DATE",
        "BAD_CONTENT_PUSH",
        "BAD_ENCODING",
        "BAD_TEXT",
        "BAD_FROM",
        "BAD_GROUP",
        "BAD_CREDIT",
        "NO_PUSH",
        "NO_VALID_RECIPIENT",
        "GENERIC_ERROR",
    ],
    "push/estimate": [
        "PUSH_UNAVAILABLE",
        "BAD_CONTENT_PUSH",
        "BAD_ENCODING",
        "BAD_TEXT",
        "BAD_FROM",
        "BAD_GROUP",
        "NO_VALID_RECIPIENT",
        "GENERIC_ERROR",
    ],
    "push/search": [
        "PUSH_UNAVAILABLE",
        "NO_PARAMS",
        "BAD_ID",
        "BAD_MSISDN",
        "BAD_DATE",
        "BAD_STATUS",
    ],
    "push/multimedia": ["PUSH_UNAVAILABLE", "NO_PARAMS", "BAD_ID"],
    "push/invitation": ["PUSH_UNAVAILABLE", "NO_PARAMS", "BAD_TO"],
}
CALLS = {
    "push/send": (
        "POST",
        "push/send",
        lambda c: c.send(PushRequest(to=["393480000000"], text="x")),
    ),
    "push/estimate": (
        "POST",
        "push/estimate",
        lambda c: c.estimate(PushRequest(to=["393480000000"], text="x")),
    ),
    "push/search": ("GET", "push/search", lambda c: c.search(transaction_id="t1")),
    "push/multimedia": (
        "GET",
        "push/multimedia/Efwchkk3WmI=",
        lambda c: c.multimedia("Efwchkk3WmI="),
    ),
    "push/invitation": ("POST", "push/invitation", lambda c: c.invitation("393480000000")),
}


@pytest.fixture
def client():
    return SmsHostingClient(base_url=BASE, auth_key="AUTH_KEY", auth_secret="AUTH_SECRET")


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def answer(api, method, path, body, status=200):
    api.add(method, f"{BASE}/{path}", body=body, status=status, content_type="application/json")


def sent(api):
    [call] = api.calls
    return call.request


def form(request) -> dict:
    return {k: v[0] for k, v in parse_qs(request.body).items()}


# --- the document's requests and answers -----------------------------------------------------
def test_invio_push(client, api):
    # curl --user AUTH_KEY:AUTH_SECRET -XPOST .../push/send -d "to=393480000000" -d "text=Test Push"
    answer(api, "POST", "push/send", SEND_ANSWER)
    result = client.send(PushRequest(to=["393480000000"], text="Test Push"))
    request = sent(api)
    assert (request.method, request.url) == ("POST", f"{BASE}/push/send")
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = form(request)
    assert {k: body[k] for k in ("to", "text")} == {"to": "393480000000", "text": "Test Push"}
    assert set(body) <= SEND_PARAMETERS and body["onlyPush"] == "true"  # its documented default
    assert (result.transaction_id, result.sms_inserted, result.sms_not_inserted) == (
        "d41ebeeb38b6a04818aa707818d3161e",
        0,
        0,
    )
    assert result.push_inserted == 1
    [message] = result.messages
    assert (message.id, message.to, message.status, message.type) == (
        "389310742",
        "393412345678",
        "INSERTED",
        "PUSH",
    )


def test_invio_push_with_an_image_is_multipart_with_field_file(client, api):
    # .field("to", "39347000000").field("text", "ciao").field("file", f)
    answer(api, "POST", "push/send", SEND_ANSWER)
    client.send(
        PushRequest(
            to=["39347000000"], text="ciao", image=("img1.jpg", b"\xff\xd8jpeg", "image/jpeg")
        )
    )
    request = sent(api)
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="img1.jpg"' in request.body
    assert b'name="to"\r\n\r\n39347000000' in request.body
    assert b'name="text"\r\n\r\nciao' in request.body


def test_invio_push_with_every_documented_parameter_and_the_date_format(client, api):
    answer(api, "POST", "push/send", SEND_ANSWER)
    # "2014-12-25T08:00:00+0200 indica il 25/12/2014 alle 08:00:00 riferito al GMT +2"
    when = datetime(2014, 12, 25, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    client.send(
        PushRequest(
            to=["393481234567", "393481234568"],
            groups=[1, 2],
            text="Test Push",
            only_push=False,
            sms_from="Vetrina",
            sms_text="Test SMS",
            sms_encoding="AUTO",
            send_at=when,
            transaction_id="tx-1",
            sandbox=True,
        )
    )
    assert form(sent(api)) == {
        "to": "393481234567,393481234568",  # "separandoli con il carattere virgola"
        "group": "1,2",
        "text": "Test Push",
        "onlyPush": "false",
        "smsFrom": "Vetrina",
        "smsText": "Test SMS",
        "smsEncoding": "AUTO",
        "date": "2014-12-25T08:00:00+0200",
        "transactionId": "tx-1",
        "sandbox": "true",
    }


def test_preventivo(client, api):
    # curl ... -XPOST .../push/estimate -d "to=393480000000" -d "text=Test Push"
    answer(api, "POST", "push/estimate", ESTIMATE_ANSWER)
    estimate = client.estimate(
        PushRequest(to=["393480000000"], text="Test Push", transaction_id="t")
    )
    request = sent(api)
    assert (request.method, request.url) == ("POST", f"{BASE}/push/estimate")
    body = form(request)
    assert {k: body[k] for k in ("to", "text")} == {"to": "393480000000", "text": "Test Push"}
    assert set(body) <= ESTIMATE_PARAMETERS  # no date, transactionId or sandbox here
    assert (estimate.cost, estimate.user_credit) == (Decimal("0"), Decimal("15.484"))
    assert (estimate.sms_count, estimate.push_count, estimate.push_available) == (0, 1, 899)


def test_cerca_messaggi(client, api):
    # curl --user AUTH_KEY:AUTH_SECRET .../push/search?fromDate=2011-01-01T00:00:00-0200
    answer(api, "GET", "push/search", SEARCH_ANSWER)
    since = datetime(2011, 1, 1, tzinfo=timezone(timedelta(hours=-2)))
    count, [message] = client.search(from_date=since, offset=None, limit=None)
    request = sent(api)
    url = urlsplit(request.url)
    assert (request.method, url.path) == ("GET", "/rest/api/push/search")
    assert request.headers["Authorization"] == BASIC
    assert parse_qs(url.query) == {"fromDate": ["2011-01-01T00:00:00-0200"]}
    assert count == 1
    assert (message.id, message.to, message.status, message.multimedia_id) == (
        "389395385",
        "393480000000",
        "SENT",
        "Efwchkk3WmI=",
    )
    assert message.insert_date == datetime(2014, 1, 13, 15, 1, 35, tzinfo=PLUS_ONE)
    assert message.sent_date == datetime(2014, 1, 13, 15, 1, 37, tzinfo=PLUS_ONE)
    assert message.delivery_date == datetime(2014, 1, 13, 15, 1, 40, tzinfo=PLUS_ONE)
    # The example has no `type`, `from` or `price`: not known, not guessed.
    assert (message.type, message.price) == ("", None)


def test_cerca_messaggi_by_id(client, api):
    # .queryString("id", "419853396")
    answer(api, "GET", "push/search", SEARCH_ANSWER)
    client.search(ids=["419853396"], offset=None, limit=None)
    assert parse_qs(urlsplit(sent(api).url).query) == {"id": ["419853396"]}


def test_scarica_immagine(client, api):
    # GET https://api.smshosting.it/rest/api/push/multimedia/{id}: "ritorna direttamente il
    # contenuto dell'immagine"
    api.add(
        "GET", f"{BASE}/push/multimedia/Efwchkk3WmI=", body=b"\x89PNG...", content_type="image/png"
    )
    assert client.multimedia("Efwchkk3WmI=") == (b"\x89PNG...", "image/png")
    request = sent(api)
    assert (request.method, request.headers["Authorization"]) == ("GET", BASIC)
    assert RemoteCall.objects.get().path == "/push/multimedia/{id}"


def test_crea_link_invito(client, api):
    # curl ... -XPOST .../push/invitation -d "to=393480000000"
    answer(api, "POST", "push/invitation", INVITATION_ANSWER)
    assert client.invitation("393480000000") == "cqui.it/5izKw2"
    request = sent(api)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == "to=393480000000"


# --- every errorMsg the document lists, per endpoint, and its statuses ------------------------
@pytest.mark.parametrize(
    ("endpoint", "code"),
    [(endpoint, code) for endpoint, codes in DOCUMENTED_ERRORS.items() for code in codes],
)
def test_every_documented_error_is_typed_with_an_italian_message(client, api, endpoint, code):
    method, path, call = CALLS[endpoint]
    answer(api, method, path, json.dumps({"errorCode": 400, "errorMsg": code}), status=400)
    expected = errors.ProviderUnavailable if code == "GENERIC_ERROR" else errors.ProviderRejected
    with pytest.raises(expected) as raised:
        call(client)
    assert type(raised.value) is expected and raised.value.code == code
    assert raised.value.user_message == str(ERROR_MESSAGES[code])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, errors.ProviderAuthError),  # "Credenziali non valide"
        (405, errors.ProviderRejected),  # "Metodo HTTP non consentito"
        (500, errors.ProviderUnavailable),  # "Errore generico"
    ],
)
@pytest.mark.parametrize("endpoint", CALLS)
def test_every_documented_status_is_typed(client, api, endpoint, status, error):
    method, path, call = CALLS[endpoint]
    api.add(method, f"{BASE}/{path}", status=status, body="")
    with pytest.raises(error):
        call(client)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {
                "errorCode": 400,
                "errorMsg": "RESOURCE_ERROR",
                "errorDescription": "Immagine non trovata",
            },
            errors.ProviderNotFound,
        ),
        ({"errorCode": 400, "errorMsg": "MULTIMEDIA_NOT_FOUND"}, errors.ProviderNotFound),
        (
            {"errorCode": 400, "errorMsg": "SERVICE_TEMPORARILY_UNAVAILABLE"},
            errors.ProviderUnavailable,
        ),
        ({"errorCode": 400, "errorMsg": "UNAUTHORIZED"}, errors.ProviderAuthError),
        (
            {"errorCode": 400, "errorMsg": "BAD_IMAGE", "message": "Formato non supportato"},
            errors.ProviderRejected,
        ),
    ],
)
def test_an_errormsg_the_document_does_not_list_is_read_by_its_words(client, api, body, error):
    answer(api, "GET", "push/multimedia/X", json.dumps(body), status=400)
    with pytest.raises(error) as raised:
        client.multimedia("X")
    assert type(raised.value) is error
    if error is errors.ProviderRejected:
        assert "Formato non supportato" in str(raised.value)


def test_an_error_body_under_200_is_that_error(client, api):
    answer(api, "POST", "push/send", '{"errorCode": 400, "errorMsg": "BAD_CREDIT"}')
    with pytest.raises(errors.ProviderRejected) as raised:
        client.send(PushRequest(to=["393480000000"], text="x"))
    assert raised.value.code == "BAD_CREDIT"


# --- other plausible shapes, read too ----------------------------------------------------------
def test_a_send_answer_with_text_numbers_and_without_counts_is_read(client, api):
    body = {
        "sms": [
            {"id": "1", "to": "+393480000002", "status": "inserted", "type": "PUSH"},
            {"id": 2.0, "to": 393480000003, "status": "INSERTED", "type": "SMS"},
            {"id": None, "to": "3934", "status": "NOT_INSERTED", "statusDetail": "BADNUMBERFORMAT"},
        ],
        "pushInserted": "1",
    }
    answer(api, "POST", "push/send", json.dumps(body))
    result = client.send(PushRequest(to=["393480000002"], text="x", transaction_id="ours-1"))
    assert result.transaction_id == "ours-1"  # not in the answer: the one we sent
    assert (result.push_inserted, result.sms_inserted, result.sms_not_inserted) == (1, 1, 1)
    assert [(m.id, m.to, m.status) for m in result.messages] == [
        ("1", "393480000002", "INSERTED"),
        ("2", "393480000003", "INSERTED"),
        ("", "3934", "NOT_INSERTED"),
    ]


def test_a_send_answer_without_its_messages_is_a_drift_when_somebody_was_reached(client, api):
    answer(
        api,
        "POST",
        "push/send",
        '{"transactionId": "t", "smsInserted": 0, "smsNotInserted": 0, "pushInserted": 2}',
    )
    with pytest.raises(errors.ContractDrift) as raised:
        client.send(PushRequest(to=["393480000002"], text="x"))
    assert raised.value.fields == ("sms: missing",)


def test_a_search_without_metadata_with_text_numbers_and_iso_dates_is_read(client, api):
    page = {
        "smsList": [
            {
                "id": "389395385",
                "to": "393480000000",
                "status": "DELIVERED",
                "insertDate": "2014-01-13T15:01:35+01:00",
                "sentDate": "2014-01-13T14:01:37Z",
                "deliveryDate": None,
                "price": "0.065",
                "type": "SMS",
                "multimediaContent": None,
            }
        ]
    }
    api.add("GET", f"{BASE}/push/search", json=page)
    api.add("GET", f"{BASE}/push/search", json={"smsList": []})
    [message] = list(client.search_all(transaction_id="t"))
    assert (message.id, message.price, message.multimedia_id) == ("389395385", Decimal("0.065"), "")
    assert message.sent_date == datetime(2014, 1, 13, 15, 1, 37, tzinfo=PLUS_ONE)
    # Without a count the search goes on to an empty page, at the offset of what came.
    assert parse_qs(urlsplit(api.calls[1].request.url).query)["offset"] == ["1"]


def test_a_send_read_back_from_search_without_types_has_unknown_split(client, api):
    answer(api, "GET", "push/search", SEARCH_ANSWER)
    result = client.find_sent("72810108d4114097b9edb42b255b273c")
    assert (result.sms_not_inserted, result.push_inserted, result.sms_inserted) == (0, None, None)
    assert SendResult.from_answer(result.raw).push_inserted is None


def test_a_search_that_ignores_the_offset_is_a_drift_not_an_endless_loop(client, api):
    same = json.loads(SEARCH_ANSWER)
    same.pop("metadata")
    api.add("GET", f"{BASE}/push/search", json=same)
    with pytest.raises(errors.ContractDrift):
        list(client.search_all(transaction_id="t"))


# --- garbled answers: a typed error for each endpoint, with the shape in the call log --------
GARBLED = {
    "empty object": "{}",
    "a list": "[1, 2]",
    "a string": '"ok"',
    "wrong types": '{"sms": {}, "smsList": 3, "metadata": [], "cost": [], "url": 5, "smsInserted": "x"}',
    "items of the wrong type": '{"sms": [1], "smsList": ["x"], "metadata": {"count": 1}, "cost": "free", "userCredit": 1, "smsCount": 1, "pushCount": 1, "pushAvailable": 1, "url": ""}',
    "fields missing": '{"sms": [{"id": 1, "status": "INSERTED"}], "smsList": [{"to": "39348", "status": "SENT"}], "metadata": {}, "cost": 0, "url": null}',
    "values unreadable": '{"transactionId": "t", "sms": [{"id": 1, "to": "39348", "status": "INSERTED", "price": "n/a"}], "smsList": [{"id": 1, "to": "39348", "status": "SENT", "sentDate": "13/01/2014"}], "metadata": {"count": "many"}, "cost": "0", "userCredit": "NaN", "smsCount": 1.5, "pushCount": true, "pushAvailable": {}, "url": ["x"]}',
    "not JSON": "<html>Bad gateway</html>",
    "JSON cut off": '{"sms": [{"id": 1',
    "null": "null",
}
JSON_ENDPOINTS = ["push/send", "push/estimate", "push/search", "push/invitation"]


@pytest.mark.parametrize("garbled", GARBLED, ids=list(GARBLED))
@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
def test_a_garbled_answer_is_a_typed_error_never_a_python_one(client, api, endpoint, garbled):
    method, path, call = CALLS[endpoint]
    answer(api, method, path, GARBLED[garbled])
    with pytest.raises(errors.ProviderError) as raised:
        call(client)
    exc = raised.value
    assert not isinstance(exc, ANSWER_READING_ERRORS)
    # Not JSON (or JSON null): a garbled answer, looked up like a lost one (core.http).
    unreadable = garbled in ("not JSON", "JSON cut off", "null")
    assert isinstance(exc, errors.ProviderTimeout if unreadable else errors.ContractDrift), exc
    assert exc.outcome_unknown
    logged = RemoteCall.objects.get()
    assert not logged.ok and logged.answer_shape
    if not unreadable:
        assert logged.error_code == "CONTRACT_DRIFT" and exc.fields


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", "image/png"), (b'{"errorCode": 400, "errorMsg": "BAD_ID"}', "application/json")],
)
def test_an_empty_or_error_image_is_a_typed_error(client, api, body, content_type):
    api.add("GET", f"{BASE}/push/multimedia/X", body=body, content_type=content_type)
    with pytest.raises(errors.ProviderError) as raised:
        client.multimedia("X")
    assert isinstance(raised.value, errors.ContractDrift | errors.ProviderRejected)


# --- the read-only check: push/search with limit 1 -------------------------------------------
def test_checkproviders_passes_against_the_sandbox(knobs, deliver):
    from messaging.services import push_send_confirm, push_send_create, push_send_estimate

    for style in ("", "document", "variant"):
        knobs("smshosting", answers=style)
        [report] = preflight_run("smshosting")
        assert report.passed, (style, report.summary())
    send = push_send_create(name="p", text="Ciao", recipients=["3480000002"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    for style in ("", "document", "variant"):  # now with a message to look at
        knobs("smshosting", answers=style)
        [report] = preflight_run("smshosting")
        assert report.passed, (style, report.summary())


def test_checkproviders_asks_one_message_from_a_date(settings, api):
    settings.SMSHOSTING_BASE_URL = BASE
    answer(api, "GET", "push/search", SEARCH_ANSWER)
    [report] = preflight_run("smshosting")
    assert report.passed and [p.name for p in report.probes] == ["push/search"]
    query = parse_qs(urlsplit(sent(api).url).query)
    assert query["limit"] == ["1"] and query["offset"] == ["0"] and "fromDate" in query


def test_checkproviders_says_the_credentials_are_refused(settings):
    settings.SMSHOSTING_AUTH_KEY = "wrong-key"
    [report] = preflight_run("smshosting")
    assert not report.passed
    assert report.probes[0].credentials_accepted is False and report.probes[0].reachable


def test_checkproviders_names_a_field_the_answer_lacks(settings, api):
    settings.SMSHOSTING_BASE_URL = BASE
    page = json.loads(SEARCH_ANSWER)
    del page["smsList"][0]["status"]
    page["smsList"][0]["price"] = []
    answer(api, "GET", "push/search", json.dumps(page))
    [report] = preflight_run("smshosting")
    assert not report.passed
    assert report.probes[0].fields == [
        "smsList[].status: missing",
        "smsList[].price: list, expected number or text",
    ]


def test_a_drift_reaches_the_send_as_an_italian_message_not_a_python_error(settings, api, deliver):
    from core.models import OutboxEntry
    from messaging.models import PushBatch, SendStatus
    from messaging.services import push_send_confirm, push_send_create, push_send_estimate

    settings.SMSHOSTING_BASE_URL = BASE
    answer(api, "POST", "push/estimate", ESTIMATE_ANSWER)
    answer(
        api, "POST", "push/send", '{"transactionId": "t", "sms": [{"id": 1, "status": "INSERTED"}]}'
    )
    send = push_send_estimate(
        send=push_send_create(name="p", text="Ciao", recipients=["3480000002"])
    )
    with deliver():
        push_send_confirm(send=send)
    send.refresh_from_db()
    entry = OutboxEntry.objects.get()
    assert (send.status, entry.error_code) == (SendStatus.FAILED, "CONTRACT_DRIFT")
    assert "non sa leggere (sms[].to: missing)" in send.error
    assert entry.outcome_unknown  # a retry looks the send up by its transaction id first
    assert PushBatch.objects.get().sync_status == "failed"
    logged = RemoteCall.objects.get(operation="push/send")
    assert logged.outbox_entry_id == entry.pk and "to" not in logged.answer_shape
