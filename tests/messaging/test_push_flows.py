"""Push sends end to end through the SMSHosting sandbox: estimate before anything is sent,
batches with their own transaction ids, exactly-once delivery, statuses that reach final."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import OutboxEntry, OutboxState, RemoteCall
from core.outbox import outbox_sweep
from messaging.models import PushBatch, PushMessage, SendStatus
from messaging.services import (
    push_send_confirm,
    push_send_counts,
    push_send_create,
    push_send_estimate,
    push_status_refresh,
)
from sandbox.models import SmsAccount, SmsMessage
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting, make_card

pytestmark = pytest.mark.django_db


def draft(**fields):
    values = {
        "name": "Promo weekend",
        "text": "Sottocosto sabato!",
        "recipients": ["+39 348 000 0002"],
    }
    return push_send_create(**{**values, **fields})


def test_estimate_shows_cost_and_counts_and_sends_nothing():
    send = draft(
        recipients=["3480000002", "3480000004", "3480000001"], only_push=False, sms_text="Ciao"
    )
    push_send_estimate(send=send)

    send.refresh_from_db()
    assert send.status == SendStatus.ESTIMATED
    assert (send.estimate_push, send.estimate_sms, send.resolved_count) == (2, 1, 3)
    assert send.estimate_cost > 0 and send.estimate_credit > 0
    assert not SmsMessage.objects.exists()


def test_confirm_needs_an_estimate_first():
    with pytest.raises(ValidationError, match=r"Stima prima"):
        push_send_confirm(send=draft())


def test_a_push_goes_out_and_every_recipient_is_accounted_for(deliver):
    send = draft(recipients=["3480000002", "3480000004", "3480000003", "12"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)

    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    by_number = {m.msisdn: (m.status, m.status_detail) for m in PushMessage.objects.all()}
    assert by_number == {
        "393480000002": ("INSERTED", ""),
        "393480000004": ("INSERTED", ""),
        "393480000003": ("NOT_INSERTED", "EXCLUDED"),  # no push app, push only
    }
    assert send.excluded == {"invalid_number": 1}
    batch = PushBatch.objects.get()
    assert batch.transaction_id == f"{send.transaction_id}-1" and batch.push_inserted == 2


def test_statuses_reach_final_and_the_delivery_rate_is_counted(deliver, settings):
    send = draft(
        recipients=["3480000002", "3480000004", "3480000009", "3480000006"],
        only_push=False,
        sms_text="SMS",
    )
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    assert set(PushMessage.objects.values_list("status", flat=True)) == {"INSERTED"}

    push_status_refresh()
    assert set(PushMessage.objects.values_list("status", flat=True)) == {"PENDING"}
    step = settings.SANDBOX_SMSHOSTING_STEP_SECONDS
    with time_machine.travel(timezone.now() + timedelta(seconds=3 * step + 1)):
        assert push_status_refresh() == 4
    counts = push_send_counts(send)
    assert counts["by_status"] == {"DELIVERED": 3, "NOTDELIVERED": 1}
    assert counts["delivery_rate"] == 75
    assert push_status_refresh() == 0  # final: nothing more to ask


def test_a_lost_answer_is_looked_up_and_never_sent_twice(deliver, knobs):
    send = draft(recipients=["3480000002", "3480000004"])
    push_send_estimate(send=send)
    knobs("smshosting", malformed_json=True)  # SMSHosting sends, the answer is lost
    with deliver():
        push_send_confirm(send=send)
    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.PENDING and entry.outcome_unknown
    assert SmsMessage.objects.count() == 2

    knobs("smshosting", malformed_json=False)
    with (
        time_machine.travel(timezone.now() + timedelta(hours=1), tick=True),
        deliver(),
    ):
        outbox_sweep()

    assert SmsMessage.objects.count() == 2  # no second push
    assert RemoteCall.objects.filter(operation="push/send").count() == 1
    assert RemoteCall.objects.filter(operation="push/search").exists()
    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    # Read back through push/search an hour later: already delivered.
    assert set(PushMessage.objects.values_list("status", flat=True)) == {"DELIVERED"}


def test_a_large_audience_goes_in_batches_each_accounted_for(deliver, settings):
    settings.PUSH_BATCH_SIZE = 5000
    numbers = [f"34800{n:05d}" for n in range(20000)]
    consenting(*("39" + n for n in numbers))
    send = draft(recipients=numbers)
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)

    batches = list(PushBatch.objects.order_by("index"))
    assert len(batches) == 4
    assert len({b.transaction_id for b in batches}) == 4
    assert sum(len(b.recipients) for b in batches) == 20000
    assert PushMessage.objects.count() == 20000
    assert PushMessage.objects.filter(status="INSERTED").count() == 10000  # even numbers: app
    assert sum(b.push_inserted for b in batches) == 10000
    assert SmsMessage.objects.count() == 10000


def test_card_holders_of_a_shop_are_resolved_when_the_send_is_confirmed(deliver):
    with deliver():
        shop = make_shop()
        make_card(shop=shop, msisdn="+393480000012")
        make_card(shop=shop, msisdn="+393480000111")  # never gave push consent
    send = draft(recipients=[], shops=[shop])
    push_send_estimate(send=send)
    with deliver():
        make_card(shop=shop, msisdn="+393480000014")  # enrolled after the estimate
        push_send_confirm(send=send)
    send.refresh_from_db()
    assert send.excluded == {"no_consent": 1}
    assert sorted(PushMessage.objects.values_list("msisdn", flat=True)) == [
        "393480000012",
        "393480000014",
    ]


@pytest.mark.parametrize(
    ("setup", "code_text"),
    [
        (lambda: SmsAccount.objects.update(credit=0), "credito"),
        (lambda: SmsAccount.objects.update(push_available=0), "push"),
        (lambda: SmsAccount.objects.update(push_plan_active=False), "piano push"),
    ],
)
def test_an_account_problem_fails_the_send_with_a_clear_message(deliver, setup, code_text):
    send = draft(recipients=["3480000002", "3480000001"], only_push=False, sms_text="SMS")
    push_send_estimate(send=send)
    setup()
    with deliver():
        try:
            push_send_confirm(send=send)
        except ValidationError as refused:  # the estimate already says there are no pushes
            assert code_text in " ".join(refused.messages).lower()
            return
    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert code_text in send.error.lower()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"text": ""}, "text", "testo o un'immagine"),
        ({"only_push": False}, "sms_text", "testo dell'SMS"),
        ({"only_push": False, "sms_text": "x" * 800}, "sms_text", "5 SMS"),
        ({"sms_from": "Nome troppo lungo"}, "sms_from", "11"),
        ({"send_at": timezone.now() - timedelta(minutes=1)}, "send_at", "futuro"),
    ],
)
def test_bad_drafts_are_refused_before_smshosting_sees_them(fields, field, message):
    with pytest.raises(ValidationError) as refused:
        draft(**fields)
    assert message in " ".join(refused.value.message_dict[field])
    assert not RemoteCall.objects.exists()


def test_an_image_push_is_multipart_and_its_image_can_be_fetched_back(deliver, admin_client):
    from django.urls import reverse

    from tests.campaigns.images import image_upload

    send = draft(image=image_upload("promo.png"), text="")
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    push_status_refresh()
    message = PushMessage.objects.get()
    assert message.multimedia_id
    image = admin_client.get(
        reverse("admin:messaging_pushsend_multimedia", args=[message.multimedia_id])
    )
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_pull_smshosting_and_the_beat_task_refresh_statuses(deliver, settings):
    from io import StringIO

    from django.core.management import call_command

    from messaging.tasks import push_status_refresh_task

    send = draft(recipients=["3480000002"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    assert push_status_refresh_task() == 1  # INSERTED → PENDING
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        out = StringIO()
        call_command("pull", "smshosting", "--no-progress", stdout=out)
    assert "Messaggi aggiornati: " in out.getvalue()
    assert PushMessage.objects.get().status == "DELIVERED"


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "7BIT", 1),
        ("a" * 161, "7BIT", 2),
        ("€" * 80, "7BIT", 1),  # an extension character takes two septets
        ("€" * 81, "7BIT", 2),
        ("a" * 70, "UCS2", 1),
        ("a" * 71, "UCS2", 2),
        ("ciao 😀" * 12, "AUTO", 2),  # not GSM: UCS2, 72 characters
    ],
)
def test_sms_parts_are_counted_like_the_operator(text, encoding, parts):
    from messaging.services import _sms_parts

    assert _sms_parts(text, encoding) == parts
