"""SMSHosting push client against the document: push/send and push/estimate form-encoded (or
multipart with `file`), push/search with its filters, push/multimedia/{id}, push/invitation,
and every errorMsg of the document."""

import base64
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from core.errors import ProviderRejected, ProviderUnavailable
from messaging.smshosting import ERROR_MESSAGES, PushRequest, SmsHostingClient

BASE = "https://api.smshosting.it/rest/api"
BASIC = "Basic " + base64.b64encode(b"KEY:SECRET").decode()
pytestmark = pytest.mark.django_db
DOCUMENTED_ERRORS = [
    "PUSH_UNAVAILABLE",
    "BAD_CREDIT",
    "NO_PUSH",
    "NO_VALID_RECIPIENT",
    "BAD_DATE",
    "BAD_TEXT",
    "BAD_FROM",
    "BAD_GROUP",
    "BAD_ENCODING",
    "BAD_TRANSACTIONID",
    "BAD_CONTENT_PUSH",
    "GENERIC_ERROR",
]


@pytest.fixture
def client():
    return SmsHostingClient(base_url=BASE, auth_key="KEY", auth_secret="SECRET")


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def form(call) -> dict:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


SEND_ANSWER = {
    "transactionId": "d41ebeeb38b6a04818aa707818d3161e",
    "smsInserted": 0,
    "smsNotInserted": 1,
    "pushInserted": 1,
    "sms": [
        {"id": 389310742, "to": "393412345678", "status": "INSERTED", "type": "PUSH"},
        {"to": "3934", "status": "NOT_INSERTED", "statusDetail": "BADNUMBERFORMAT"},
    ],
}


def test_send_posts_the_documented_form_fields(client, api):
    api.post(
        f"{BASE}/push/send",
        json=SEND_ANSWER,
        match=[matchers.header_matcher({"Authorization": BASIC})],
    )
    when = datetime(2014, 12, 25, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    result = client.send(
        PushRequest(
            to=["393481234567", "393481234568"],
            groups=[1, 2],
            text="Sottocosto!",
            only_push=False,
            sms_text="Sottocosto in negozio",
            sms_from="Vetrina",
            sms_encoding="7BIT",
            send_at=when,
            transaction_id="tx-1",
            sandbox=True,
        )
    )
    call = api.calls[0]
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {
        "to": "393481234567,393481234568",
        "group": "1,2",
        "text": "Sottocosto!",
        "onlyPush": "false",
        "smsFrom": "Vetrina",
        "smsText": "Sottocosto in negozio",
        "smsEncoding": "7BIT",
        "date": "2014-12-25T08:00:00+0200",
        "transactionId": "tx-1",
        "sandbox": "true",
    }
    assert (result.push_inserted, result.sms_not_inserted) == (1, 1)
    assert [(m.id, m.status, m.status_detail) for m in result.messages] == [
        ("389310742", "INSERTED", ""),
        ("", "NOT_INSERTED", "BADNUMBERFORMAT"),
    ]


def test_an_image_goes_as_multipart_field_file(client, api):
    api.post(f"{BASE}/push/send", json=SEND_ANSWER)
    client.send(
        PushRequest(to=["393481234567"], image=("promo.jpg", b"\xff\xd8jpeg", "image/jpeg"))
    )
    request = api.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="promo.jpg"' in request.body
    assert b'name="to"' in request.body and b'name="onlyPush"' in request.body


def test_estimate_reads_cost_credit_and_counts_and_sends_no_send_only_fields(client, api):
    api.post(
        f"{BASE}/push/estimate",
        json={"cost": 0, "userCredit": 15.484, "smsCount": 0, "pushCount": 1, "pushAvailable": 899},
    )
    estimate = client.estimate(
        PushRequest(to=["393480000000"], text="Test Push", transaction_id="x")
    )
    assert form(api.calls[0]) == {"to": "393480000000", "text": "Test Push", "onlyPush": "true"}
    assert (str(estimate.user_credit), estimate.push_count, estimate.push_available) == (
        "15.484",
        1,
        899,
    )


def test_search_by_transaction_id_pages_through_results(client, api):
    page = {
        "metadata": {"count": 1, "offset": 0, "limit": 500},
        "smsList": [
            {
                "id": 389395385,
                "to": "393480000000",
                "text": "Test Push",
                "status": "SENT",
                "insertDate": "2014-01-13T15:01:35+0100",
                "sentDate": "2014-01-13T15:01:37+0100",
                "deliveryDate": "2014-01-13T15:01:40+0100",
                "transactionId": "72810108d4114097b9edb42b255b273c",
                "multimediaContent": {"id": "Efwchkk3WmI=", "type": "IMAGE"},
            }
        ],
    }
    api.get(
        f"{BASE}/push/search",
        json=page,
        match=[
            matchers.query_param_matcher(
                {"transactionId": "72810108d4114097b9edb42b255b273c", "offset": "0", "limit": "500"}
            )
        ],
    )
    [message] = client.search_all(transaction_id="72810108d4114097b9edb42b255b273c")
    assert (message.status, message.multimedia_id) == ("SENT", "Efwchkk3WmI=")
    assert message.sent_date == datetime(
        2014, 1, 13, 15, 1, 37, tzinfo=timezone(timedelta(hours=1))
    )


def test_multimedia_and_invitation(client, api):
    api.get(f"{BASE}/push/multimedia/Efwchkk3WmI=", body=b"\x89PNG", content_type="image/png")
    api.post(f"{BASE}/push/invitation", json={"to": "393480000000", "url": "cqui.it/5izKw2"})
    assert client.multimedia("Efwchkk3WmI=") == (b"\x89PNG", "image/png")
    assert client.invitation("393480000000") == "cqui.it/5izKw2"
    assert form(api.calls[1]) == {"to": "393480000000"}


@pytest.mark.parametrize("code", DOCUMENTED_ERRORS)
def test_every_documented_error_has_a_clear_italian_message(client, api, code):
    api.post(f"{BASE}/push/send", status=400, json={"errorCode": 400, "errorMsg": code})
    expected = ProviderUnavailable if code == "GENERIC_ERROR" else ProviderRejected
    with pytest.raises(expected) as raised:
        client.send(PushRequest(to=["393480000000"], text="x"))
    assert raised.value.code == code
    assert str(raised.value).endswith(str(ERROR_MESSAGES[code]))
    assert code not in str(ERROR_MESSAGES[code])  # a sentence, not the bare code
