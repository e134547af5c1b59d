"""Consent per channel, the one consent gate, the do-not-call list, timeline and privacy."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loyalty.consent import consent_gate, consent_set
from loyalty.donotcall import do_not_call_import
from loyalty.models import Channel, ConsentEvent, ConsentState, Customer, DoNotCall
from loyalty.services import customer_get_or_create
from messaging.models import PushMessage
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from messaging.smshosting import SmsHostingClient
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna():
    return customer_get_or_create(msisdn="+393480000002", name="Anna")


def test_a_consent_change_is_kept_in_the_history_and_a_repeat_is_not(anna, admin_user):
    assert consent_set(
        customer=anna, channel=Channel.PUSH_SMS, given=True, source="store", user=admin_user
    )
    assert not consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="api")
    assert consent_set(customer=anna, channel=Channel.PUSH_SMS, given=False, source="api")

    anna.refresh_from_db()
    assert anna.consent_push_sms == ConsentState.WITHDRAWN
    history = list(
        ConsentEvent.objects.order_by("at", "id").values_list("state", "source", "text_version")
    )
    assert history == [("given", "store", "2026-01"), ("withdrawn", "api", "2026-01")]


def test_the_gate_for_push_needs_consent_given(anna):
    customer_get_or_create(msisdn="+393480000004")  # unknown
    withdrawn = customer_get_or_create(msisdn="+393480000006")
    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="admin")
    consent_set(customer=withdrawn, channel=Channel.PUSH_SMS, given=False, source="admin")

    result = consent_gate(
        channel=Channel.PUSH_SMS,
        numbers=["348 000 0002", "+393480000002", "3480000004", "3480000006", "3480000008", "12"],
    )
    assert result.allowed == ["393480000002"]
    assert dict(result.excluded) == {
        "duplicate": 1,
        "no_consent": 2,  # 0004 unknown, 0008 not a customer
        "withdrawn": 1,
        "invalid_number": 1,
    }


def test_the_gate_for_calls_keeps_external_leads_but_not_the_do_not_call_list(anna):
    consent_set(customer=anna, channel=Channel.CALLS, given=False, source="admin")
    DoNotCall.objects.create(msisdn="393480000004")
    result = consent_gate(channel=Channel.CALLS, numbers=["3480000002", "3480000004", "3480000008"])
    assert result.allowed == ["393480000008"]  # an outside lead, on no list: callable
    assert dict(result.excluded) == {"withdrawn": 1, "do_not_call": 1}


def test_whatsapp_has_its_own_consent(anna):
    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="admin")
    assert consent_gate(channel=Channel.WHATSAPP, numbers=["3480000002"]).allowed == []


def test_a_customer_without_push_consent_never_appears_in_a_push_request(
    anna, deliver, monkeypatch
):
    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="admin")
    customer_get_or_create(msisdn="+393480000004")  # no consent
    sent_to = []
    real_send = SmsHostingClient.send

    def spy(self, request):
        sent_to.extend(request.to)
        return real_send(self, request)

    monkeypatch.setattr(SmsHostingClient, "send", spy)
    send = push_send_create(name="x", text="y", recipients=["3480000002", "3480000004"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    assert sent_to == ["393480000002"]
    send.refresh_from_db()
    assert send.excluded == {"no_consent": 1}


def test_a_withdrawal_takes_effect_for_sends_confirmed_afterwards(anna, deliver):
    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="admin")
    bob = customer_get_or_create(msisdn="+393480000004")
    consent_set(customer=bob, channel=Channel.PUSH_SMS, given=True, source="admin")
    send = push_send_create(name="x", text="y", recipients=["3480000002", "3480000004"])
    push_send_estimate(send=send)
    assert send.resolved_count == 2

    consent_set(customer=bob, channel=Channel.PUSH_SMS, given=False, source="aisac")
    with deliver():
        push_send_confirm(send=send)
    assert list(PushMessage.objects.values_list("msisdn", flat=True)) == ["393480000002"]


def test_the_do_not_call_import_adds_good_rows_and_reports_bad_ones():
    csv = "numero;data\n3471234567;2026-01-31\n+39 347 765 4321;31/01/2026\nabc;2026-01-01\n3470000001;ieri\n"
    result = do_not_call_import(file=SimpleUploadedFile("rpo.csv", csv.encode()))
    assert result.imported == 2
    assert [line for line, _reason in result.errors] == [4, 5]
    assert set(DoNotCall.objects.values_list("msisdn", flat=True)) == {
        "393471234567",
        "393477654321",
    }


def test_the_do_not_call_import_page(admin_client):
    upload = SimpleUploadedFile("rpo.csv", b"3471234567\nnot-a-number\n")
    page = admin_client.post("/admin/loyalty/donotcall/import/", {"file": upload}).content.decode()
    assert "1 numeri aggiunti" in page and "not-a-number" in page
    assert DoNotCall.objects.count() == 1


def test_the_customer_page_shows_consent_history_and_a_timeline(admin_client, deliver, anna):
    from callcenter.models import CallCampaign, CallRecord

    with deliver():
        make_card(customer=anna)
    campaign = CallCampaign.objects.create(remote_campaign_id="9", name="Richiamo")
    CallRecord.objects.create(campaign=campaign, source="vetrina", tel1="393480000002")
    admin_client.post(
        f"/admin/loyalty/customer/{anna.pk}/change/",
        {
            "name": "Anna",
            "surname": "",
            "email": "",
            "push_sms": "1",
            "whatsapp": "",
            "calls": "0",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )
    anna.refresh_from_db()
    assert (anna.consent_push_sms, anna.consent_calls) == ("given", "withdrawn")
    page = admin_client.get(f"/admin/loyalty/customer/{anna.pk}/change/").content.decode()
    assert "vetrina-timeline" in page and "Carta" in page and "consenso" in page
    assert "Lead di Richiamo" in page


def test_export_and_erase_through_the_api(api, deliver, anna):
    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="store")
    with deliver():
        make_card(customer=anna, code="CARD_ANNA01")
    exported = api.get(f"/api/v1/customers/{anna.pk}/export/").json()
    assert exported["customer"]["name"] == "Anna"
    assert exported["fidelity_cards"][0]["code"] == "CARD_ANNA01"
    assert exported["consent_history"][0]["source"] == "store"
    json.dumps(exported)

    erased = api.post(f"/api/v1/customers/{anna.pk}/erase/").json()
    assert erased["erased"] and "CARD_ANNA01" in erased["not_erased_at_providers"][0]
    anna.refresh_from_db()
    assert (anna.name, anna.consent_push_sms, anna.erased_at is not None) == ("", "withdrawn", True)
    assert not Customer.objects.filter(msisdn="+393480000002").exists()
    from loyalty.models import FidelityCard

    assert FidelityCard.objects.get().remote_data is None  # AMM's copy of the contact


def test_erasure_scrubs_the_number_from_push_lists(deliver, anna):
    from loyalty.privacy import customer_erase
    from messaging.models import PushBatch, PushSend

    consent_set(customer=anna, channel=Channel.PUSH_SMS, given=True, source="store")
    send = push_send_create(name="x", text="y", recipients=["+39 348 000 0002"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    customer_erase(customer=anna)
    batch = PushBatch.objects.get()
    everything = (
        str(PushSend.objects.get().recipients) + str(batch.recipients) + str(batch.remote_data)
    )
    assert "3480000002" not in everything


def test_consent_through_the_api(api, anna):
    response = api.patch(
        f"/api/v1/customers/{anna.pk}/",
        {"consent_push_sms": True, "consent_calls": False},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["consent_push_sms"], body["consent_whatsapp"], body["consent_calls"]) == (
        True,
        None,
        False,
    )
    assert ConsentEvent.objects.filter(source="api").count() == 2


def test_the_admin_export_downloads_json(admin_client, anna):
    response = admin_client.get(f"/admin/loyalty/customer/{anna.pk}/export/")
    assert response["Content-Disposition"] == f'attachment; filename="customer-{anna.pk}.json"'
    assert json.loads(response.content)["customer"]["msisdn"] == "+393480000002"
