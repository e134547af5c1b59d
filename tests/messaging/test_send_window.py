"""Scheduled pushes and the send window: SMSHosting's `date`, a send outside the window
postponed to the next opening, marketing's override with a reason, the counter's refusal."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import responses
import time_machine
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.settings import base
from messaging.models import PushBatch, PushSend, SendStatus
from messaging.services import (
    push_send_confirm,
    push_send_create,
    push_send_date,
    push_send_estimate,
)
from messaging.smshosting import PushRequest, SmsHostingClient
from sandbox.models import SmsMessage
from tests.campaigns.factories import make_shop
from tests.messaging.test_smshosting_client import BASE, SEND_ANSWER, form
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")
SUNDAY_NOON = datetime(2026, 12, 13, 12, 0, tzinfo=ROME)
MONDAY_9 = datetime(2026, 12, 14, 9, 0, tzinfo=ROME)
WEDNESDAY_10 = datetime(2026, 12, 9, 10, 0, tzinfo=ROME)


@pytest.fixture(autouse=True)
def chain_window(settings):
    """The chain's default window: Mon–Sat 9–20, Italian holidays."""
    for name in ("DAYS", "START", "END", "HOLIDAYS"):
        setattr(settings, f"SEND_WINDOW_{name}", getattr(base, f"SEND_WINDOW_{name}"))


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def estimated(**fields) -> PushSend:
    send = push_send_create(name="Promo", text="Sconti!", recipients=["3480000002"], **fields)
    return push_send_estimate(send=send)


def marketing_api(username: str = "anna") -> tuple[Client, object]:
    user = get_user_model().objects.create_user(username, password="pw-123456!x", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketing"))
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    return client, user


# --- the wire ------------------------------------------------------------------------------------
def test_the_scheduled_date_is_smshostings_date_field_in_its_format():
    client = SmsHostingClient(base_url=BASE, auth_key="KEY", auth_secret="SECRET")
    with responses.RequestsMock() as api:
        api.post(f"{BASE}/push/send", json=SEND_ANSWER)
        client.send(PushRequest(to=["393481234567"], text="Ciao", send_at=MONDAY_9))
        client.send(PushRequest(to=["393481234567"], text="Ciao"))
        scheduled, immediate = form(api.calls[0]), form(api.calls[1])
    assert scheduled["date"] == "2026-12-14T09:00:00+0100"  # yyyy-MM-ddTHH:mm:ssZ
    assert "date" not in immediate  # "Se non viene specificato … inviato immediatamente"


# --- scheduling ----------------------------------------------------------------------------------
def test_a_push_scheduled_inside_the_window_goes_with_its_date(api, deliver):
    with at(WEDNESDAY_10):
        created = api.post(
            "/api/v1/push-sends/",
            {
                "recipients": ["3480000002"],
                "text": "Domani!",
                "send_at": "2026-12-10T11:00:00+01:00",
            },
            content_type="application/json",
        ).json()
        api.post(f"/api/v1/push-sends/{created['id']}/estimate/")
        with deliver():
            sent = api.post(f"/api/v1/push-sends/{created['id']}/send/")
    assert sent.status_code == 202
    body = sent.json()
    assert body["send_at"] == "2026-12-10T11:00:00+01:00" and body["window_reason"] == ""
    [message] = SmsMessage.objects.all()  # the sandbox keeps it until then
    assert message.send_date == datetime(2026, 12, 10, 11, 0, tzinfo=ROME)


def test_a_send_outside_the_window_is_scheduled_at_the_next_opening(api, deliver):
    with at(SUNDAY_NOON):
        send = estimated()
        with deliver():
            response = api.post(f"/api/v1/push-sends/{send.pk}/send/")
    assert response.status_code == 202
    body = api.get(f"/api/v1/push-sends/{send.pk}/").json()
    assert body["status"] == "sent"
    assert body["send_at"] == "2026-12-14T09:00:00+01:00"
    assert "Fuori dalla finestra di invio" in body["window_reason"]
    assert body["window_override_reason"] == "" and body["window_override_by"] is None
    [message] = SmsMessage.objects.all()
    assert message.send_date == MONDAY_9


def test_a_push_scheduled_outside_the_window_moves_to_the_next_opening(deliver):
    with at(WEDNESDAY_10):
        send = estimated(send_at=datetime(2026, 12, 10, 21, 30, tzinfo=ROME))  # Thursday night
        with deliver():
            send = push_send_confirm(send=send)
    assert send.send_at == datetime(2026, 12, 11, 9, 0, tzinfo=ROME)
    assert "dalle 20:00 in poi" in send.window_reason
    assert SmsMessage.objects.get().send_date == datetime(2026, 12, 11, 9, 0, tzinfo=ROME)


def test_a_batch_retried_after_the_window_closed_waits_for_the_next_opening():
    with at(datetime(2026, 12, 12, 19, 55, tzinfo=ROME)):  # Saturday, open
        send = estimated()
        assert push_send_date(send) is None  # now
    with at(datetime(2026, 12, 12, 20, 30, tzinfo=ROME)):  # a retry after closing
        assert push_send_date(send) == MONDAY_9


@pytest.mark.parametrize(
    ("send_at", "words"),
    [
        ("2026-12-01T10:00:00+01:00", "futuro"),  # in the past
        ("2027-12-10T10:00:00+01:00", "365 giorni"),  # beyond the limit
    ],
)
def test_a_bad_schedule_is_a_400_on_send_at_and_nothing_is_saved(api, send_at, words):
    with at(WEDNESDAY_10):
        response = api.post(
            "/api/v1/push-sends/",
            {"recipients": ["3480000002"], "text": "x", "send_at": send_at},
            content_type="application/json",
        )
    assert response.status_code == 400
    assert words in str(response.json()["error"]["fields"]["send_at"])
    assert not PushSend.objects.exists()


# --- the override --------------------------------------------------------------------------------
def test_marketing_sends_outside_the_window_with_a_reason_that_is_logged(deliver):
    client, anna = marketing_api()
    with at(SUNDAY_NOON):
        send = estimated()
        with deliver():
            response = client.post(
                f"/api/v1/push-sends/{send.pk}/send/",
                {"window_override": True, "window_override_reason": "Allerta meteo: chiusi"},
                content_type="application/json",
            )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["send_at"] is None and body["window_override_by"] == "anna"
    assert body["window_override_reason"] == "Allerta meteo: chiusi"
    assert "anna" in body["window_reason"]
    assert SmsMessage.objects.get().send_date == SUNDAY_NOON  # now, no date
    entries = LogEntry.objects.get_for_object(PushSend.objects.get()).filter(actor=anna)
    assert any(
        (e.changes or {}).get("window_override_reason", [None, None])[1] == "Allerta meteo: chiusi"
        for e in entries
    )
    assert any((e.additional_data or {}).get("outside_window") is True for e in entries)


def test_an_override_without_a_reason_is_a_400_and_nothing_goes(api):
    with at(SUNDAY_NOON):
        send = estimated()
        response = api.post(
            f"/api/v1/push-sends/{send.pk}/send/",
            {"window_override": True, "window_override_reason": "  "},
            content_type="application/json",
        )
    assert response.status_code == 400
    assert "Indica perché" in str(response.json()["error"]["fields"]["window_override_reason"])
    send.refresh_from_db()
    assert send.status == SendStatus.ESTIMATED and not PushBatch.objects.exists()


def test_the_counter_cannot_override_the_window(store_manager_client):
    make_shop(code="PV-MINE")
    store_manager_client("mario", "PV-MINE")
    mario = get_user_model().objects.get(username="mario")
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(mario)}"
    with at(SUNDAY_NOON):
        send = estimated()
        response = client.post(
            f"/api/v1/push-sends/{send.pk}/send/",
            {"window_override": True, "window_override_reason": "Svendita"},
            content_type="application/json",
        )
        assert response.status_code == 403
        with pytest.raises(PermissionDenied):
            push_send_confirm(
                send=send, user=mario, window_override=True, window_override_reason="Svendita"
            )
    send.refresh_from_db()
    assert send.status == SendStatus.ESTIMATED and not PushBatch.objects.exists()


# --- the admin -----------------------------------------------------------------------------------
def test_the_admin_shows_the_window_and_marketing_overrides_it(admin_client, deliver):
    with at(SUNDAY_NOON):
        send = estimated()
        page = admin_client.get(
            reverse("admin:messaging_pushsend_change", args=[send.pk])
        ).content.decode()
        assert 'id="push-window"' in page and "Fuori dalla finestra di invio" in page
        assert 'name="window_override"' in page
        with deliver():
            admin_client.post(
                reverse("admin:messaging_pushsend_confirm", args=[send.pk]),
                {"window_override": "1", "window_override_reason": "Apertura straordinaria"},
            )
    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.send_at is None
    assert send.window_override_reason == "Apertura straordinaria"
    assert send.window_override_by.username == "admin"


def test_the_admin_confirm_outside_the_window_postpones_and_says_so(admin_client, deliver):
    with at(SUNDAY_NOON):
        send = estimated()
        with deliver():
            response = admin_client.post(
                reverse("admin:messaging_pushsend_confirm", args=[send.pk]), follow=True
            )
    page = response.content.decode()
    assert "Confermato e rinviato" in page and 'id="push-scheduled"' in page
    send.refresh_from_db()
    assert send.send_at == MONDAY_9 and send.window_override_reason == ""
    assert timezone.localtime(send.send_at) - SUNDAY_NOON == timedelta(hours=21)
