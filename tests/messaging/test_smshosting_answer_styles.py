"""Push sends end to end through the SMSHosting sandbox in each of its answer styles: the usual
answers, the document's literal examples ("document": push/search's messages with only the keys
its example prints) and the other shapes a real SMSHosting may send ("variant": ids, counts and
amounts as text, ISO dates, no metadata on push/search, an unknown image under a code the client
does not know). Every flow ends the same way in all three."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.errors import ProviderNotFound, ProviderRejected
from core.models import OutboxEntry, OutboxState, RemoteCall
from core.outbox import outbox_sweep
from messaging.models import PushBatch, PushMessage, SendStatus
from messaging.services import (
    push_invitation_create,
    push_send_confirm,
    push_send_counts,
    push_send_create,
    push_send_estimate,
    push_status_refresh,
)
from messaging.smshosting import smshosting_client
from sandbox.models import SmsMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["", "document", "variant"])
def style(request, knobs):
    knobs("smshosting", answers=request.param)
    return request.param


def draft(**fields):
    values = {
        "name": "Promo weekend",
        "text": "Sottocosto sabato!",
        "recipients": ["3480000002", "3480000004", "3480000009", "3480000003"],
        "only_push": False,
        "sms_text": "Sottocosto sabato in negozio",
    }
    return push_send_create(**{**values, **fields})


def test_the_estimate_is_read(style):
    send = push_send_estimate(send=draft())
    assert (send.estimate_push, send.estimate_sms) == (2, 2)
    assert send.estimate_cost == Decimal("0.13")
    assert send.estimate_credit == Decimal("50") and send.estimate_push_available == 25000


def test_a_send_accounts_for_every_recipient_and_statuses_reach_final(deliver, settings, style):
    send = draft()
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    send.refresh_from_db()
    assert send.status == SendStatus.SENT, send.error
    batch = PushBatch.objects.get()
    assert (batch.push_inserted, batch.sms_inserted, batch.sms_not_inserted) == (2, 2, 0)
    assert PushMessage.objects.filter(status="INSERTED").exclude(remote_id="").count() == 4

    step = settings.SANDBOX_SMSHOSTING_STEP_SECONDS
    with time_machine.travel(timezone.now() + timedelta(seconds=3 * step + 1)):
        assert push_status_refresh() == 4
    assert push_send_counts(send)["by_status"] == {"DELIVERED": 3, "NOTDELIVERED": 1}
    delivered = PushMessage.objects.filter(status="DELIVERED").first()
    assert delivered.delivery_date is not None and delivered.sent_date is not None


def test_a_lost_answer_is_read_back_from_push_search_and_never_sent_twice(deliver, knobs, style):
    send = draft()
    push_send_estimate(send=send)
    knobs("smshosting", malformed_json=True, answers=style)
    with deliver():
        push_send_confirm(send=send)
    assert OutboxEntry.objects.get().outcome_unknown
    knobs("smshosting", malformed_json=False, answers=style)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()

    assert SmsMessage.objects.count() == 4
    assert RemoteCall.objects.filter(operation="push/send").count() == 1
    assert OutboxEntry.objects.get().state == OutboxState.DONE
    assert PushMessage.objects.filter(status__in=["DELIVERED", "NOTDELIVERED"]).count() == 4
    batch = PushBatch.objects.get()
    if style == "document":  # the document's search example has no `type`: not known
        assert (batch.push_inserted, batch.sms_inserted) == (None, None)
    else:
        assert (batch.push_inserted, batch.sms_inserted) == (2, 2)


def test_an_image_is_fetched_back_and_an_unknown_one_is_not_found(deliver, style):
    from tests.campaigns.images import image_upload

    send = draft(image=image_upload("promo.png"), text="", recipients=["3480000002"])
    send.only_push, send.sms_text = True, ""
    send.save()
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    push_status_refresh()
    message = PushMessage.objects.get()
    content, kind = smshosting_client().multimedia(message.multimedia_id)
    assert kind == "image/png" and content.startswith(b"\x89PNG")
    # The document's BAD_ID ("Parametro id non valido") is a refusal; the variant's unknown
    # code with "Immagine non trovata" is recognised by its words as not found.
    expected = ProviderNotFound if style == "variant" else ProviderRejected
    with pytest.raises(expected) as missing:
        smshosting_client().multimedia("Nope0000")
    assert missing.value.code == ("RESOURCE_ERROR" if style == "variant" else "BAD_ID")


def test_an_invitation_link_is_read(style):
    invitation = push_invitation_create(msisdn="+39 348 000 0003")
    assert invitation.url.startswith("cqui.it/")
