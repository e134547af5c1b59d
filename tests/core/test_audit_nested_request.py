"""The author of an entry written after a provider call in the same request: the test suite's
sandbox answers in-process (tests/sandbox_transport.py), a request inside the request, and its
passage through the audit middleware must not leave the outer request's saves authorless."""

from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from messaging.models import PushSend, SendStatus
from tests.loyalty.factories import consenting

pytestmark = pytest.mark.django_db
PASSWORD = "Audit-Nested-2026!"


def test_the_estimate_asked_in_the_admin_is_its_users_step_not_the_systems():
    consenting("393480000002")
    call_command(
        "createuser", "anna", "--role", "marketing", "--password", PASSWORD, stdout=StringIO()
    )
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": "anna", "password": PASSWORD})
    created = client.post(
        reverse("admin:messaging_pushsend_add"),
        {
            "name": "Promo",
            "recipients": "3480000002",
            "groups": "",
            "text": "Sconti!",
            "only_push": "on",
            "sms_encoding": "7BIT",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    send = PushSend.objects.get()

    # SMSHosting's push/estimate is called, then the send saved: both in anna's request.
    client.post(reverse("admin:messaging_pushsend_estimate", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == SendStatus.ESTIMATED
    estimated = [
        entry
        for entry in LogEntry.objects.get_for_object(send)
        if (entry.changes or {}).get("status") == ["draft", "estimated"]
    ]
    assert [entry.actor.username for entry in estimated if entry.actor] == ["anna"]
    assert len(estimated) == 1

    page = client.get(reverse("admin:messaging_pushsend_history", args=[send.pk])).content.decode()
    assert "sistema" not in page and page.count('<td class="audit-author">anna</td>') == 2
