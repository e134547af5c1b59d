"""/api/v1/push-sends/ and the admin wizard, through real requests."""

import pytest
from django.urls import reverse

from messaging.models import PushInvitation, PushSend, SendStatus
from messaging.services import push_send_confirm, push_send_create, push_send_estimate

pytestmark = pytest.mark.django_db
SEND_FIELDS = {
    "id",
    "recipients",
    "groups",
    "text",
    "image",
    "only_push",
    "sms_text",
    "sms_from",
    "sms_encoding",
    "send_at",
    "sandbox",
    "transaction_id",
    "status",
    "estimate",
    "counts",
}


def test_api_draft_estimate_send_and_messages(api, deliver):
    created = api.post(
        "/api/v1/push-sends/",
        {"recipients": ["3480000002", "3480000003"], "groups": [1], "text": "Offerta!"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) >= SEND_FIELDS and body["status"] == "draft"

    estimated = api.post(f"/api/v1/push-sends/{body['id']}/estimate/").json()
    assert estimated["status"] == "estimated"
    # 3480000002, and the group "Amici" (3480000002 again, and 3480000004); 3480000003 has no app
    assert estimated["estimate"]["push_count"] == 2

    with deliver():
        sent = api.post(f"/api/v1/push-sends/{body['id']}/send/")
    assert sent.status_code == 202
    detail = api.get(f"/api/v1/push-sends/{body['id']}/").json()
    assert detail["status"] == "sent" and detail["counts"]["total"] == 3
    messages = api.get(f"/api/v1/push-sends/{body['id']}/messages/").json()["results"]
    assert {m["msisdn"]: m["status"] for m in messages} == {
        "393480000002": "INSERTED",
        "393480000004": "INSERTED",
        "393480000003": "NOT_INSERTED",
    }


def test_api_send_without_estimate_is_refused(api):
    send = push_send_create(name="x", text="y", recipients=["3480000002"])
    response = api.post(f"/api/v1/push-sends/{send.pk}/send/")
    assert response.status_code == 400
    assert "Stima prima" in str(response.json())


def test_api_bad_draft_is_a_400_in_italian(api):
    response = api.post(
        "/api/v1/push-sends/",
        {"recipients": ["3480000002"], "only_push": False, "text": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "testo dell'SMS" in str(response.json())
    assert not PushSend.objects.exists()


def test_the_admin_wizard_estimates_then_sends(admin_client, deliver):
    response = admin_client.post(
        reverse("admin:messaging_pushsend_add"),
        {
            "name": "Promo admin",
            "recipients": "348 000 0002\n3480000004",
            "groups": "",
            "text": "Sconti!",
            "only_push": "on",
            "sms_encoding": "7BIT",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    send = PushSend.objects.get()
    page = admin_client.get(reverse("admin:messaging_pushsend_change", args=[send.pk]))
    assert "Calcola il preventivo" in page.content.decode()

    admin_client.post(reverse("admin:messaging_pushsend_estimate", args=[send.pk]))
    page = admin_client.get(
        reverse("admin:messaging_pushsend_change", args=[send.pk])
    ).content.decode()
    assert "Conferma e invia" in page and 'id="push-estimate"' in page
    assert "nessun consenso" not in page  # both numbers have push consent

    with deliver():
        admin_client.post(reverse("admin:messaging_pushsend_confirm", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    page = admin_client.get(
        reverse("admin:messaging_pushsend_change", args=[send.pk])
    ).content.decode()
    assert 'id="delivery-rate"' in page and 'name="text"' not in page
    assert "live_progress.js" in page
    counts = admin_client.get(reverse("admin:messaging_pushsend_counts", args=[send.pk])).json()
    assert (counts["total"], counts["status"]) == (2, "sent")


def test_invitation_links_for_who_push_could_not_reach(admin_client, deliver):
    send = push_send_create(
        name="x", text="y", recipients=["3480000002", "3480000003", "3480000005"]
    )
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    admin_client.post(reverse("admin:messaging_pushsend_invitations", args=[send.pk]))
    assert sorted(PushInvitation.objects.values_list("msisdn", flat=True)) == [
        "393480000003",
        "393480000005",
    ]
    assert all(
        url.startswith("cqui.it/") for url in PushInvitation.objects.values_list("url", flat=True)
    )
