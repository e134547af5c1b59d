"""A push send to many card holders stays cheap per recipient (issue 11): the holders' stored
numbers are neither parsed again nor looked up twice, a batch's messages are written in one
INSERT on each side, and nothing re-reads the whole send after every batch."""

from dataclasses import replace
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import OutboxEntry, OutboxState
from core.outbox import outbox_deliver
from loyalty.consent import consent_gate
from loyalty.models import Channel, ConsentState, Customer, FidelityCard, FidelityProgram
from messaging.models import PushBatch, PushMessage, PushSend, SendStatus
from messaging.services import (
    push_batch_prepare,
    push_batch_record,
    push_send_confirm,
    push_send_create,
    push_send_estimate,
    push_send_resolve,
)
from sandbox.models import SmsMessage

pytestmark = pytest.mark.django_db


def holders(program, count, *, first=0, active=True, consent=ConsentState.GIVEN):
    """`count` customers (393490000000 + first …) each holding one card of the program."""
    numbers = [f"3934900{first + n:05d}" for n in range(count)]
    customers = Customer.objects.bulk_create(
        [Customer(msisdn="+" + n, consent_push_sms=consent) for n in numbers]
    )
    FidelityCard.objects.bulk_create(
        [
            FidelityCard(
                program=program, customer=c, code=f"T{program.pk}-{c.msisdn}", active=active
            )
            for c in customers
        ]
    )
    return numbers


@pytest.fixture
def program():
    return FidelityProgram.objects.create(remote_id="P-TEST", name="Test", point_value=5)


def queries_of(function, *args, **kwargs):
    with CaptureQueriesContext(connection) as captured:
        result = function(*args, **kwargs)
    return result, [q["sql"] for q in captured.captured_queries]


# --- consent gate ----------------------------------------------------------------------------
def test_stored_numbers_are_not_parsed_nor_looked_up_again():
    with mock.patch("loyalty.consent.msisdn_normalise") as parse:
        result, queries = queries_of(
            consent_gate,
            channel=Channel.PUSH_SMS,
            numbers=[],
            stored=[
                ("+393480000002", ConsentState.GIVEN),
                ("+393480000004", ConsentState.WITHDRAWN),
                ("+393480000006", ConsentState.UNKNOWN),
                ("+393480000002", ConsentState.GIVEN),  # two cards, one customer
                ("+999000000007", ConsentState.WITHDRAWN),  # an erased customer's placeholder
                ("3480000008", ConsentState.GIVEN),  # not what the phone field stores
            ],
        )
    parse.assert_not_called()
    assert queries == []
    assert result.allowed == ["393480000002"]
    assert dict(result.excluded) == {
        "withdrawn": 2,
        "no_consent": 1,
        "duplicate": 1,
        "invalid_number": 1,
    }


def test_explicit_numbers_are_still_parsed_and_deduplicated_with_stored_ones():
    result = consent_gate(
        channel=Channel.PUSH_SMS,
        numbers=["+39 347 000 0010", "347 000 0012", "12"],
        stored=[("+393470000010", ConsentState.GIVEN)],
    )
    assert result.allowed == ["393470000010"]
    assert dict(result.excluded) == {"invalid_number": 1, "duplicate": 1, "no_consent": 1}


# --- audience --------------------------------------------------------------------------------
def test_the_audience_is_the_holders_of_an_active_card_of_the_program(program):
    other = FidelityProgram.objects.create(remote_id="P-OTHER", name="Other", point_value=5)
    allowed = holders(program, 3)
    holders(program, 2, first=100, consent=ConsentState.WITHDRAWN)
    blocked = holders(program, 1, first=200, active=False)
    # The holder of a blocked card here is not reached through an active card elsewhere.
    FidelityCard.objects.create(
        program=other, customer=Customer.objects.get(msisdn="+" + blocked[0]), code="T-X"
    )
    send = push_send_create(name="Promo", text="Sconti", programs=[program])

    numbers, excluded = push_send_resolve(send)

    assert sorted(numbers) == allowed
    assert excluded == {"withdrawn": 2}


def test_resolving_does_not_parse_the_holders_numbers_and_does_not_grow_in_queries(program):
    holders(program, 30)
    send = push_send_create(name="Promo", text="Sconti", programs=[program])
    with mock.patch("loyalty.consent.msisdn_normalise") as parse:
        (numbers, _), few = queries_of(push_send_resolve, send)
    parse.assert_not_called()
    holders(program, 2000, first=1000)
    (more_numbers, _), many = queries_of(push_send_resolve, send)
    assert (len(numbers), len(more_numbers)) == (30, 2030)
    assert len(many) == len(few)


# --- batches ---------------------------------------------------------------------------------
def test_a_send_to_card_holders_records_every_recipient_with_one_insert_a_side(program, settings):
    settings.PUSH_BATCH_SIZE = 1000
    holders(program, 2000)
    send = push_send_create(name="Promo", text="Sconti", programs=[program])
    push_send_estimate(send=send)
    push_send_confirm(send=send)
    entries = list(OutboxEntry.objects.order_by("id").values_list("id", flat=True))
    assert len(entries) == 2

    _, queries = queries_of(outbox_deliver, entry_id=entries[0])
    inserts = [q for q in queries if "INSERT" in q]  # an executemany logs "N times: …"
    assert sum('"sandbox_smsmessage"' in q for q in inserts) == 1  # 500 with the app
    assert sum('"messaging_pushmessage"' in q for q in inserts) == 1  # 1,000 recorded
    assert not any('FROM "messaging_pushmessage"' in q for q in queries)  # no re-read
    send.refresh_from_db()
    assert send.status == SendStatus.SENDING  # a batch is still waiting

    outbox_deliver(entry_id=entries[1])
    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.resolved_count == 2000
    assert PushMessage.objects.filter(send=send).count() == 2000
    assert PushMessage.objects.filter(status="INSERTED").count() == 1000  # even: the app
    assert PushMessage.objects.filter(status_detail="EXCLUDED").count() == 1000
    sms = dict(SmsMessage.objects.values_list("to", "pk"))
    assert len(sms) == 1000
    assert {
        m.msisdn: int(m.remote_id) for m in PushMessage.objects.filter(status="INSERTED")
    } == sms
    assert OutboxEntry.objects.filter(state=OutboxState.DONE).count() == 2


def sent_in_one_batch(program, deliver) -> tuple[PushSend, PushBatch]:
    """A send to the program's holders, confirmed and delivered (one batch)."""
    send = push_send_create(name="Promo", text="Sconti", programs=[program])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    return send, PushBatch.objects.get()


def test_a_batch_recorded_twice_counts_each_recipient_once(program, deliver):
    numbers = holders(program, 4)
    send, batch = sent_in_one_batch(program, deliver)
    answer = batch.remote_data["sms"]
    assert PushMessage.objects.count() == 4

    # Again from the answer (the path of a lost answer found by push/search), and prepared.
    push_batch_record(batch_id=batch.pk, answer=answer)
    push_batch_record(batch_id=batch.pk, prepared=push_batch_prepare(batch=batch, answer=answer))

    assert sorted(PushMessage.objects.values_list("msisdn", flat=True)) == sorted(numbers)
    send.refresh_from_db()
    assert send.status == SendStatus.SENT


def test_messages_prepared_for_another_batch_are_not_recorded_for_this_one(program, deliver):
    holders(program, 4)
    _send, batch = sent_in_one_batch(program, deliver)
    stale = replace(push_batch_prepare(batch=batch, answer=[]), batch_id=batch.pk + 1)
    PushMessage.objects.all().delete()

    push_batch_record(batch_id=batch.pk, answer=batch.remote_data["sms"], prepared=stale)

    assert PushMessage.objects.filter(batch=batch, status="INSERTED").count() == 2


def test_a_search_answer_keeps_its_dates_and_prices(program, deliver):
    holders(program, 2)
    _send, batch = sent_in_one_batch(program, deliver)
    PushMessage.objects.all().delete()
    answer = [
        {
            "id": 7,
            "to": "393490000000",
            "status": "DELIVERED",
            "type": "SMS",
            "insertDate": "2026-01-13T15:01:35+0100",
            "sentDate": "2026-01-13T15:01:37+0100",
            "deliveryDate": "2026-01-13T15:01:40+0100",
            "price": 0.065,
            "multimediaContent": {"id": "Efwchkk3WmI=", "type": "IMAGE"},
        }
    ]

    push_batch_record(batch_id=batch.pk, answer=answer)

    message = PushMessage.objects.get(msisdn="393490000000")
    assert (message.remote_id, message.status, message.type) == ("7", "DELIVERED", "SMS")
    assert message.delivery_date.isoformat() == "2026-01-13T14:01:40+00:00"
    assert str(message.price) == "0.0650" and message.multimedia_id == "Efwchkk3WmI="
    assert PushMessage.objects.get(msisdn="393490000001").status_detail == "EXCLUDED"


def test_a_send_whose_last_two_batches_were_recorded_at_once_is_still_sent(
    program, settings, django_capture_on_commit_callbacks
):
    """On PostgreSQL the last two batches' outcomes may be recorded at once, each seeing the
    other still waiting: the look again after commit settles the send."""
    from core.models import SyncStatus
    from messaging.services import push_send_settle

    settings.PUSH_BATCH_SIZE = 2
    holders(program, 4)
    send = push_send_create(name="Promo", text="Sconti", programs=[program])
    push_send_estimate(send=send)
    push_send_confirm(send=send)
    assert PushBatch.objects.filter(send=send).count() == 2
    with django_capture_on_commit_callbacks() as after_commit:
        push_send_settle(send_id=send.pk)  # each outcome saw the other batch waiting
    send.refresh_from_db()
    assert send.status == SendStatus.SENDING
    PushBatch.objects.filter(send=send).update(sync_status=SyncStatus.SYNCED)  # both committed
    for callback in after_commit:
        callback()
    send.refresh_from_db()
    assert send.status == SendStatus.SENT


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_a_pages_counts_by_status_read_one_index_not_the_messages():
    """Every list page counts its sends' messages by status: a 50,000-recipient send must not
    be read row by row for it."""
    from django.db.models import Count

    counts = (
        PushMessage.objects.filter(send_id__in=[1, 2, 3])
        .values_list("send_id", "status")
        .annotate(n=Count("id"))
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {counts.query}")
        plan = " | ".join(row[-1] for row in cursor.fetchall())
    assert "COVERING INDEX push_message_send_status" in plan and "TEMP B-TREE" not in plan, plan
