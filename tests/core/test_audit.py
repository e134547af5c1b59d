"""The audit trail (core/audit.py, issue 24): who created, changed, sent, withdrew, approved or
erased what, and when — through the admin, the API and the services — with the record's
"Cronologia" in the admin, the customer's timeline, erasure scrubbing and retention."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Shop
from core.audit import SECRET_WORDS, SYNC_FIELDS, AuditEvent, audit_changes, audit_entries_for
from core.tasks import retention_purge_task
from loyalty.models import Customer, CustomerTag, DoNotCall
from loyalty.privacy import customer_erase
from loyalty.services import customer_get_or_create
from messaging.models import PushSend, SendStatus
from store.models import FlyerRequest, FlyerRequestStatus
from tests.campaigns.factories import make_campaign, make_shop
from tests.campaigns.images import image_upload
from tests.loyalty.factories import consenting
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Una-password-lunga-2026!"


def user_with_role(username: str, group: str | None, *, staff: bool = True):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=staff)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def event_entries(instance, event: AuditEvent) -> list[LogEntry]:
    return [
        e for e in audit_entries_for(instance) if (e.additional_data or {}).get("event") == event
    ]


# --- what is tracked -----------------------------------------------------------------------
def test_every_app_registers_the_records_marketing_works_on():
    labels = {model._meta.label for model in auditlog.get_models()}
    assert labels >= {
        "campaigns.Shop",
        "campaigns.Media",
        "campaigns.Campaign",
        "campaigns.CampaignBatch",
        "loyalty.Customer",
        "loyalty.CustomerTag",
        "loyalty.Audience",
        "loyalty.FidelityCard",
        "loyalty.PointMovement",
        "loyalty.Reward",
        "loyalty.DoNotCall",
        "messaging.PushSend",
        "callcenter.CallCampaign",
        "callcenter.CallUpload",
        "store.FlyerRequest",
        "store.StoreManager",
    }


def test_no_registered_model_tracks_sync_bookkeeping_or_anything_named_like_a_secret():
    for model in auditlog.get_models():
        excluded = set(auditlog.get_model_fields(model)["exclude_fields"])
        names = {field.name for field in model._meta.get_fields()}
        assert names & set(SYNC_FIELDS) <= excluded, model
        assert {n for n in names if any(w in n for w in SECRET_WORDS)} <= excluded, model


# --- the author: admin, API, worker --------------------------------------------------------
def test_an_admin_change_records_its_author_and_the_fields_that_changed(deliver):
    anna = user_with_role("anna", "Marketing")
    client = logged_in(anna)
    with deliver():
        response = client.post(
            "/admin/loyalty/customer/add/",
            {
                "msisdn": "+393480000007",
                "name": "Elsa",
                "surname": "Neri",
                "email": "",
                "push_sms": "1",
                "whatsapp": "",
                "calls": "",
                "consent_events-TOTAL_FORMS": "0",
                "consent_events-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    elsa = Customer.objects.get()
    response = client.post(
        f"/admin/loyalty/customer/{elsa.pk}/change/",
        {
            "name": "Elsa",
            "surname": "Neri Bassi",
            "email": "elsa@example.com",
            "push_sms": "1",
            "whatsapp": "",
            "calls": "",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    entries = list(audit_entries_for(elsa))
    assert {entry.actor for entry in entries} == {anna}
    assert entries[-1].action == LogEntry.Action.CREATE
    change = entries[0]
    assert change.action == LogEntry.Action.UPDATE
    assert change.changes == {
        "surname": ["Neri", "Neri Bassi"],
        "email": ["", "elsa@example.com"],
    }


def test_an_api_change_records_the_tokens_user_and_the_worker_adds_no_entry(
    client, django_capture_on_commit_callbacks
):
    script = user_with_role("gestionale", "API scripts", staff=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(script)}"
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/shops/",
            {
                "code": "PV-AUD-1",
                "address": "Via Dante 1",
                "city": "Milano",
                "postal_code": "20121",
                "province": "MI",
            },
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    shop = Shop.objects.get(code="PV-AUD-1")
    assert shop.sync_status == "synced" and shop.remote_id  # the worker wrote them back
    with django_capture_on_commit_callbacks(execute=True):
        patched = client.patch(
            f"/api/v1/shops/{shop.pk}/", {"city": "Lodi"}, content_type="application/json"
        )
    assert patched.status_code == 200, patched.content

    entries = list(audit_entries_for(shop))
    # One for the creation, one for the change: the deliveries' sync_status, remote_id,
    # attempts and remote data are not entries, nor part of one.
    assert [entry.action for entry in entries] == [LogEntry.Action.UPDATE, LogEntry.Action.CREATE]
    assert {entry.actor for entry in entries} == {script}
    assert entries[0].changes == {"city": ["Milano", "Lodi"]}
    assert not set(entries[1].changes) & {*SYNC_FIELDS, "updated_at"}
    token = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    assert token not in json.dumps(list(LogEntry.objects.values_list("changes", flat=True)))


def test_a_change_made_outside_a_request_is_the_systems():
    shop = make_shop()
    (entry,) = audit_entries_for(shop)
    assert entry.actor is None


def test_tagging_a_customer_is_in_their_trail():
    customer = customer_get_or_create(msisdn="+393471234571", name="Ugo")
    customer.tags.add(CustomerTag.objects.create(name="VIP"))
    entry = audit_entries_for(customer).first()
    assert entry.changes == {"tags": {"type": "m2m", "operation": "add", "objects": ["VIP"]}}
    assert [(c.field, c.new) for c in audit_changes(entry)] == [("Etichette", "aggiunti: VIP")]


# --- actions that are not plain saves ------------------------------------------------------
def test_a_push_send_records_who_sent_it(admin_client, deliver):
    admin = get_user_model().objects.get(username="admin")
    consenting("393480000002", "393480000004")
    created = admin_client.post(
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
    assert created.status_code == 302
    send = PushSend.objects.get()
    admin_client.post(reverse("admin:messaging_pushsend_estimate", args=[send.pk]))
    with deliver():
        admin_client.post(reverse("admin:messaging_pushsend_confirm", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == SendStatus.SENT

    (sent,) = event_entries(send, AuditEvent.SENT)
    assert sent.actor == admin
    assert sent.additional_data == {"event": "sent", "recipients": 2, "batches": 1}
    # The numbers themselves are never in the trail.
    assert "3480000002" not in json.dumps(
        [e.changes for e in audit_entries_for(send)], ensure_ascii=False
    )


def test_withdrawing_a_campaign_records_who_withdrew_it(admin_client, deliver):
    admin = get_user_model().objects.get(username="admin")
    with deliver():
        campaign = make_campaign(make_shop())
    campaign_pk = campaign.pk
    with deliver():
        response = admin_client.post(
            reverse("admin:campaigns_campaign_withdraw", args=[campaign_pk])
        )
    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=campaign_pk).exists()
    entries = LogEntry.objects.filter(
        content_type__model="campaign", object_id=campaign_pk
    ).order_by("timestamp", "pk")
    withdrawn, deleted = entries[len(entries) - 2 :]
    assert (withdrawn.additional_data["event"], withdrawn.actor) == ("withdrawn", admin)
    assert (deleted.action, deleted.actor) == (LogEntry.Action.DELETE, admin)


def test_approving_a_flyer_request_records_who_approved_it(admin_client, deliver):
    admin = get_user_model().objects.get(username="admin")
    shop = make_shop()
    mario = user_with_role("mario", "Store managers", staff=False)
    flyer_request = FlyerRequest.objects.create(
        shop=shop,
        promo_name="Sottocosto",
        date_send=timezone.now() + timedelta(days=3),
        image=image_upload(),
        flyer_link="https://example.com/v.pdf",
        requested_by=mario,
    )
    with deliver():
        response = admin_client.post(
            reverse("admin:store_flyerrequest_change", args=[flyer_request.pk]),
            {"decision_note": "", "_approve": "1"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    flyer_request.refresh_from_db()
    assert flyer_request.status == FlyerRequestStatus.APPROVED
    (approved,) = event_entries(flyer_request, AuditEvent.APPROVED)
    assert approved.actor == admin
    assert approved.additional_data["campaign"] == flyer_request.campaign_id


# --- erasure -------------------------------------------------------------------------------
def test_an_erasure_is_recorded_and_scrubs_the_customer_from_the_trail(client):
    anna = user_with_role("anna", "Marketing")
    client.force_login(anna)
    customer = customer_get_or_create(
        msisdn="+393471234567", name="Giulia", surname="Ferrari", email="giulia@example.com"
    )
    customer.surname = "Ferraris"
    customer.save()
    DoNotCall.objects.create(msisdn="393471234567")

    response = client.post(f"/admin/loyalty/customer/{customer.pk}/erase/")
    assert response.status_code == 200

    everything = json.dumps(
        list(LogEntry.objects.values("object_repr", "changes", "changes_text", "additional_data")),
        ensure_ascii=False,
        default=str,
    )
    for personal in ("Giulia", "Ferrari", "giulia@example.com", "3471234567"):
        assert personal not in everything
    entries = list(audit_entries_for(customer))
    erased, *before = entries
    assert (erased.additional_data, erased.actor) == ({"event": "erased"}, anna)
    # Who changed which field, and when, stays; the values do not.
    assert before[0].changes == {"surname": ["***", "***"]}
    assert before[-1].actor is None  # made by a script: scrubbing wrote no author into it
    assert {entry.object_repr for entry in entries} == {f"+999{customer.pk:09d}"}


def test_erasing_through_the_api_records_the_tokens_user(client):
    script = user_with_role("gestionale", "API scripts", staff=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(script)}"
    customer = customer_get_or_create(msisdn="+393471234568", name="Rita")
    response = client.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert response.status_code == 200, response.content
    (erased,) = event_entries(customer, AuditEvent.ERASED)
    assert erased.actor == script


def test_customer_erase_called_directly_keeps_its_user():
    anna = user_with_role("anna", "Marketing")
    customer = customer_get_or_create(msisdn="+393471234569", name="Lia")
    customer_erase(customer=customer, user=anna)
    (erased,) = event_entries(customer, AuditEvent.ERASED)
    assert erased.actor == anna


# --- retention -----------------------------------------------------------------------------
def test_beat_forgets_entries_older_than_the_audit_retention():
    assert settings.AUDIT_RETENTION_DAYS == 730
    old, recent = make_shop(), make_shop()
    LogEntry.objects.filter(object_id=old.pk, content_type__model="shop").update(
        timestamp=timezone.now() - timedelta(days=731)
    )
    LogEntry.objects.filter(object_id=recent.pk, content_type__model="shop").update(
        timestamp=timezone.now() - timedelta(days=729)
    )

    report = retention_purge_task.apply().get()

    assert report["audit_trail"] == 1
    assert not audit_entries_for(old).exists()
    assert audit_entries_for(recent).count() == 1


# --- where people read it ------------------------------------------------------------------
def test_the_history_page_is_the_cronologia_of_the_record(deliver):
    anna = user_with_role("anna", "Marketing")
    client = logged_in(anna)
    shop = make_shop(city="Milano")
    client.post(
        reverse("admin:campaigns_shop_change", args=[shop.pk]),
        {
            **{
                name: getattr(shop, name) or ""
                for name in (
                    "code",
                    "address",
                    "postal_code",
                    "province",
                    "latitude",
                    "longitude",
                    "email",
                    "url",
                    "description",
                )
            },
            "city": "Bergamo",
            "active": "on",
        },
    )
    change_page = client.get(reverse("admin:campaigns_shop_change", args=[shop.pk]))
    history_url = reverse("admin:campaigns_shop_history", args=[shop.pk])
    assert history_url in change_page.content.decode()
    assert ">Cronologia<" in change_page.content.decode()

    page = client.get(history_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cronologia di" in text
    assert "anna" in text and "sistema" in text  # her change; the creation by a script
    assert "Città" in text and "Milano → Bergamo" in text
    assert "modificato" in text and "creato" in text


def test_the_history_page_is_read_by_auditors_and_refused_to_others():
    shop = make_shop()
    url = reverse("admin:campaigns_shop_history", args=[shop.pk])
    auditor = logged_in(user_with_role("rita", "Auditors"))
    assert auditor.get(url).status_code == 200
    # Staff who may change shops but not read the audit trail.
    scripts = logged_in(user_with_role("gestionale", "API scripts"))
    assert scripts.get(reverse("admin:campaigns_shop_change", args=[shop.pk])).status_code == 200
    assert scripts.get(url).status_code == 403
    # No role at all, or the counter's: the admin turns them away before any record.
    for username, group in (("nessuno", None), ("banco", "Store managers")):
        response = logged_in(user_with_role(username, group)).get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url


def test_the_whole_trail_is_listed_read_only_in_italian():
    make_shop()
    client = logged_in(user_with_role("rita", "Auditors"))
    page = client.get("/admin/auditlog/logentry/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cronologia delle modifiche" in text and "Negozio: " in text and "creato" in text
    assert 'href="/admin/auditlog/logentry/add/"' not in text
    entry = LogEntry.objects.get()
    detail = client.get(f"/admin/auditlog/logentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/").status_code == 403
    assert LogEntry.objects.count() == 1


def test_the_customer_timeline_shows_who_changed_the_customer():
    anna = user_with_role("anna", "Marketing")
    customer = customer_get_or_create(msisdn="+393471234570", name="Sara")
    client = logged_in(anna)
    client.post(
        f"/admin/loyalty/customer/{customer.pk}/change/",
        {
            "name": "Sara",
            "surname": "Conti",
            "email": "",
            "push_sms": "",
            "whatsapp": "",
            "calls": "",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )
    page = client.get(f"/admin/loyalty/customer/{customer.pk}/change/").content.decode()
    assert "anna: modificato" in page and "(Cognome)" in page
    assert "sistema: creato" in page
