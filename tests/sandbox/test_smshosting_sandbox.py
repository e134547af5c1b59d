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
