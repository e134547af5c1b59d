"""The simulated SMSHosting push/send, called as the real one would be (HTTP Basic, a form
body): every accepted message is recorded once, in one INSERT whatever the number of
recipients, and the answer gives each its id; repeats within 24 hours are DUPLICATESMS."""

import base64
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sandbox.models import SmsAccount, SmsMessage

SEND = "/sandbox/smshosting/rest/api/push/send"
pytestmark = pytest.mark.django_db


def basic() -> dict[str, str]:
    auth = settings.SANDBOX_AUTH["smshosting"]
    token = base64.b64encode(f"{auth['key']}:{auth['secret']}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def send(client, numbers, **fields):
    form = {"to": ",".join(numbers), "text": "Offerte", **fields}
    return client.post(SEND, form, headers=basic())


def numbers(count: int, first: int = 0) -> list[str]:
    return [f"39347{first + n:07d}" for n in range(count)]


def test_every_accepted_message_is_recorded_once_with_its_id_in_the_answer(client):
    with CaptureQueriesContext(connection) as captured:
        response = send(client, [*numbers(1000), "3934", "393470000002"], transactionId="tx-1")

    assert response.status_code == 200
    body = response.json()
    assert (body["transactionId"], body["pushInserted"], body["smsInserted"]) == ("tx-1", 500, 0)
    assert body["smsNotInserted"] == 1
    inserted = [m for m in body["sms"] if m["status"] == "INSERTED"]
    assert [m["id"] for m in inserted] == sorted(m["id"] for m in inserted)
    stored = dict(SmsMessage.objects.filter(transaction_id="tx-1").values_list("pk", "to"))
    assert {m["id"]: m["to"] for m in inserted} == stored
    assert all(m["type"] == "PUSH" and int(m["to"][-1]) % 2 == 0 for m in inserted)
    assert {"to": "3934", "status": "NOT_INSERTED", "statusDetail": "BADNUMBERFORMAT"} in body[
        "sms"
    ]
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    assert sum('"sandbox_smsmessage"' in q for q in inserts) == 1  # the account is made too
    assert SmsAccount.objects.get().push_available == 25000 - 500


def test_sms_for_who_has_no_app_are_charged_and_recorded(client):
    response = send(client, numbers(4), onlyPush="false", smsText="Ciao", transactionId="tx-2")

    body = response.json()
    assert (body["pushInserted"], body["smsInserted"]) == (2, 2)
    kinds = dict(SmsMessage.objects.values_list("to", "type"))
    assert kinds == {
        "393470000000": "PUSH",
        "393470000001": "SMS",
        "393470000002": "PUSH",
        "393470000003": "SMS",
    }
    prices = SmsMessage.objects.order_by("to").values_list("price", flat=True)
    assert [str(p) for p in prices] == ["0.0000", "0.0650", "0.0000", "0.0650"]
    assert SmsAccount.objects.get().credit == Decimal("50") - 2 * Decimal("0.065")


def test_the_same_text_to_the_same_number_within_a_day_is_a_duplicate(client):
    send(client, numbers(4), transactionId="tx-3")
    response = send(client, numbers(6), transactionId="tx-4")

    body = response.json()
    duplicates = sorted(m["to"] for m in body["sms"] if m.get("statusDetail") == "DUPLICATESMS")
    assert duplicates == ["393470000000", "393470000002"]
    assert [m["to"] for m in body["sms"] if m["status"] == "INSERTED"] == ["393470000004"]
    assert SmsMessage.objects.count() == 3


def test_a_sandbox_send_is_answered_and_keeps_nothing(client):
    response = send(client, numbers(4), sandbox="true")

    body = response.json()
    assert [m["status"] for m in body["sms"]] == ["INSERTED", "INSERTED"]
    assert not SmsMessage.objects.exists()


# --- answer styles: "document" (the document's examples) and "variant" (other shapes) --------
API = "/sandbox/smshosting/rest/api"


def same_shape(answer, example, where="answer"):
    """`answer` has the example's keys, in its order, with values of the same JSON types (a
    list: its items like the example's first one)."""
    from core.shapes import type_name

    if isinstance(example, dict):
        assert isinstance(answer, dict) and list(answer) == list(example), (where, list(answer))
        for key in example:
            same_shape(answer[key], example[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(answer, list), where
        for item in answer if example else []:
            same_shape(item, example[0], f"{where}[]")
    else:
        assert type_name(answer) == type_name(example), (where, answer, example)


def test_document_style_answers_every_endpoint_as_the_document_prints_it(client, knobs, settings):
    import json
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.campaigns.images import image_upload
    from tests.messaging import test_smshosting_contract as document

    knobs("smshosting", answers="document")
    estimate = client.post(
        f"{API}/push/estimate", {"to": "393480000000", "text": "Test Push"}, headers=basic()
    )
    same_shape(estimate.json(), json.loads(document.ESTIMATE_ANSWER))
    assert estimate.json()["cost"] == 0  # "cost":0, a whole number

    sent = send(
        client,
        ["393480000002"],  # delivered in the end: every date of the example
        transactionId="tx-doc",
        text="Test Push",
        file=image_upload("a.png"),
    )
    same_shape(sent.json(), json.loads(document.SEND_ANSWER))

    step = settings.SANDBOX_SMSHOSTING_STEP_SECONDS
    with time_machine.travel(timezone.now() + timedelta(seconds=3 * step)):
        found = client.get(f"{API}/push/search", {"transactionId": "tx-doc"}, headers=basic())
    same_shape(found.json(), json.loads(document.SEARCH_ANSWER))

    invitation = client.post(f"{API}/push/invitation", {"to": "393480000000"}, headers=basic())
    same_shape(invitation.json(), json.loads(document.INVITATION_ANSWER))


def test_document_style_leaves_out_the_dates_not_reached_yet(client, knobs):
    knobs("smshosting", answers="document")
    send(client, ["393480000000"], transactionId="tx-new")
    [message] = client.get(
        f"{API}/push/search", {"transactionId": "tx-new"}, headers=basic()
    ).json()["smsList"]
    assert list(message) == ["id", "to", "text", "status", "insertDate", "transactionId"]


def test_variant_style_answers_text_numbers_iso_dates_and_no_metadata(client, knobs):
    knobs("smshosting", answers="variant")
    estimate = client.post(
        f"{API}/push/estimate",
        {"to": "393480000001", "text": "x", "onlyPush": "false", "smsText": "y"},
        headers=basic(),
    ).json()
    assert estimate["cost"] == "0.065" and estimate["smsCount"] == "1"
    body = send(client, ["393480000002", "3934"], transactionId="tx-var").json()
    assert (body["pushInserted"], body["smsNotInserted"]) == ("1", "1")
    assert {m["to"]: m["id"] for m in body["sms"]}["3934"] is None
    assert isinstance({m["to"]: m["id"] for m in body["sms"]}["393480000002"], str)
    found = client.get(f"{API}/push/search", {"transactionId": "tx-var"}, headers=basic()).json()
    assert list(found) == ["smsList"]
    [message] = found["smsList"]
    assert message["insertDate"][-6:] in ("+01:00", "+02:00")
    assert (message["price"], message["multimediaContent"]) == ("0.0000", None)
    missing = client.get(f"{API}/push/multimedia/NOPE", headers=basic())
    assert missing.status_code == 400
    assert missing.json()["errorDescription"] == "Immagine non trovata"
