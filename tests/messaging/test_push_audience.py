"""A push to a saved audience: its customers through the push consent gate, the estimate's
reach (N in the audience, M with consent; the do-not-call list is not a push rule), the admin
and the API through real requests, bad input, and who may use an audience."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from loyalty.audiences import audience_save
from loyalty.models import ConsentState, Customer, DoNotCall
from messaging.models import PushMessage, PushSend, SendStatus
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Push-Audience-2026!"


@pytest.fixture
def milano():
    """The audience "Milano": card holders of PV-MI-P. 3480000002 and 3480000004 gave push
    consent (the conftest); 3480000006 gave it too but is on the do-not-call list (a phone-call
    rule: they still get the push); 3470000008 never gave it, 3470000010 withdrew it. A Roma
    card holder with consent is not in the audience."""
    shop, roma = make_shop(code="PV-MI-P"), make_shop(code="PV-RM-P")
    for number in ("3480000002", "3480000004", "3480000006", "3470000008", "3470000010"):
        make_card(shop=shop, msisdn="+39" + number)
    make_card(shop=roma, msisdn="+393480000012")
    Customer.objects.filter(msisdn="+393470000010").update(consent_push_sms=ConsentState.WITHDRAWN)
    DoNotCall.objects.create(msisdn="393480000006")
    return audience_save(name="Milano", rules={"shops": [shop.pk]})


# --- the service ---------------------------------------------------------------------------------
def test_an_audience_send_reaches_its_customers_with_push_consent_only(milano, deliver):
    send = push_send_create(name="Milano", text="Offerta!", audience=milano)
    send = push_send_estimate(send=send)

    assert send.resolved_count == 3
    assert send.excluded == {"no_consent": 1, "withdrawn": 1}
    assert send.audience_reach == {
        "audience_id": milano.pk,
        "audience": "Milano",
        "in_audience": 5,
        "with_consent": 3,
        "do_not_call": None,  # the do-not-call list is about calls: nobody left out of a push
        "recipients": 3,
    }
    with deliver():
        push_send_confirm(send=send)
    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    assert set(PushMessage.objects.filter(send=send).values_list("msisdn", flat=True)) == {
        "393480000002",
        "393480000004",
        "393480000006",
    }


def test_the_audience_is_resolved_again_when_the_send_goes(milano, deliver):
    send = push_send_estimate(send=push_send_create(name="x", text="y", audience=milano))
    Customer.objects.filter(msisdn="+393480000004").update(consent_push_sms=ConsentState.WITHDRAWN)
    with deliver():
        push_send_confirm(send=send)
    send.refresh_from_db()
    assert send.resolved_count == 2
    assert send.audience_reach["with_consent"] == 2
    assert send.excluded == {"no_consent": 1, "withdrawn": 2}


def test_a_sent_push_keeps_who_it_reached_when_its_audience_is_deleted(milano, deliver):
    send = push_send_estimate(send=push_send_create(name="x", text="y", audience=milano))
    with deliver():
        push_send_confirm(send=send)
    milano.delete()
    send.refresh_from_db()
    assert send.audience is None
    assert send.audience_reach["audience"] == "Milano" and send.resolved_count == 3
    assert send.messages.count() == 3


def test_an_audience_with_nobody_to_reach_says_so(milano):
    Customer.objects.update(consent_push_sms=ConsentState.WITHDRAWN)
    send = push_send_create(name="x", text="y", audience=milano)
    with pytest.raises(ValidationError) as caught:
        push_send_estimate(send=send)
    assert "Nessuno nel pubblico “Milano”" in " ".join(caught.value.messages)
    assert "5 nel pubblico, 0 con consenso" in " ".join(caught.value.messages)


@pytest.mark.parametrize("given", ["recipients", "groups", "shops"])
def test_an_audience_together_with_a_list_is_refused(milano, given):
    other = {
        "recipients": {"recipients": ["3480000002"]},
        "groups": {"groups": [1]},
        "shops": {"shops": list(milano.rules["shops"])},
    }[given]
    with pytest.raises(ValidationError) as caught:
        push_send_create(name="x", text="y", audience=milano, **other)
    assert "audience" in caught.value.message_dict
    assert not PushSend.objects.exists()


# --- the API -------------------------------------------------------------------------------------
def test_the_api_sends_to_an_audience_and_its_estimate_shows_the_reach(api, milano, deliver):
    created = api.post(
        "/api/v1/push-sends/",
        {"name": "Milano", "text": "Offerta!", "audience": milano.pk},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["audience"] == milano.pk
    send_id = created.json()["id"]

    estimate = api.post(f"/api/v1/push-sends/{send_id}/estimate/").json()["estimate"]
    assert estimate["recipients"] == 3
    assert estimate["audience"] == {
        "audience_id": milano.pk,
        "audience": "Milano",
        "in_audience": 5,
        "with_consent": 3,
        "do_not_call": None,
        "recipients": 3,
    }
    with deliver():
        assert api.post(f"/api/v1/push-sends/{send_id}/send/").status_code == 202
    assert api.get(f"/api/v1/push-sends/{send_id}/").json()["counts"]["total"] == 3


def test_the_api_refuses_an_unknown_audience_naming_the_field(api, milano):
    response = api.post(
        "/api/v1/push-sends/",
        {"text": "x", "audience": 999999},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "Nessun pubblico" in str(response.json()["error"]["fields"]["audience"])
    assert not PushSend.objects.exists()


def test_the_api_refuses_an_audience_with_numbers_naming_the_field(api, milano):
    response = api.post(
        "/api/v1/push-sends/",
        {"text": "x", "audience": milano.pk, "recipients": ["3480000002"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "Un pubblico sostituisce" in str(response.json()["error"]["fields"]["audience"])
    assert not PushSend.objects.exists()


# --- the admin -----------------------------------------------------------------------------------
def _user(username: str, role: str):
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=username)


@pytest.fixture
def marketing():
    client = Client()
    client.force_login(_user("anna", "marketing"))
    return client


def _form(**values) -> dict:
    return {
        "name": "Promo",
        "recipients": "",
        "groups": "",
        "text": "Sconti!",
        "only_push": "on",
        "sms_encoding": "7BIT",
        **values,
    }


def test_marketing_sends_to_an_audience_in_the_admin_and_sees_the_reach(marketing, milano, deliver):
    add = marketing.get(reverse("admin:messaging_pushsend_add")).content.decode()
    assert 'name="audience"' in add and ">Milano</option>" in add

    response = marketing.post(
        reverse("admin:messaging_pushsend_add"), _form(audience=str(milano.pk))
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    send = PushSend.objects.get()
    assert send.audience == milano
    marketing.post(reverse("admin:messaging_pushsend_estimate", args=[send.pk]))
    page = marketing.get(reverse("admin:messaging_pushsend_change", args=[send.pk])).content
    page = page.decode()
    assert 'id="push-audience-reach"' in page
    assert "5 nel pubblico, 3 con consenso push/SMS" in page
    assert "non esclude nessuno da un push" in page

    with deliver():
        marketing.post(reverse("admin:messaging_pushsend_confirm", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    page = marketing.get(reverse("admin:messaging_pushsend_change", args=[send.pk])).content
    assert "5 nel pubblico, 3 con consenso push/SMS" in page.decode()


def test_the_admin_form_names_the_audience_when_a_list_is_given_too(marketing, milano):
    response = marketing.post(
        reverse("admin:messaging_pushsend_add"),
        _form(audience=str(milano.pk), recipients="3480000002"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Un pubblico sostituisce" in " ".join(errors["audience"])
    assert not PushSend.objects.exists()


def test_the_admin_refuses_an_unknown_audience(marketing, milano):
    response = marketing.post(reverse("admin:messaging_pushsend_add"), _form(audience="999999"))
    assert response.status_code == 200
    assert "audience" in response.context["adminform"].form.errors
    assert not PushSend.objects.exists()


# --- who may -------------------------------------------------------------------------------------
def test_store_managers_cannot_send_to_an_audience(milano, store_manager_client):
    counter = store_manager_client("mario", "PV-MI-P")
    assert counter.get(reverse("admin:messaging_pushsend_add")).status_code == 302  # to login
    mario = get_user_model().objects.get(username="mario")
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(mario)}"
    response = client.post(
        "/api/v1/push-sends/",
        {"text": "x", "audience": milano.pk},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not PushSend.objects.exists()


def test_auditors_read_audiences_but_cannot_send_to_one(milano):
    auditor = _user("revisore", "auditor")
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(auditor)}"
    response = client.post(
        "/api/v1/push-sends/",
        {"text": "x", "audience": milano.pk},
        content_type="application/json",
    )
    assert response.status_code == 403
    client.force_login(auditor)
    assert client.get(reverse("admin:messaging_pushsend_add")).status_code == 403
    assert not PushSend.objects.exists()


# --- the demo ------------------------------------------------------------------------------------
def test_the_demo_has_a_push_to_an_audience_with_its_reach(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data", "--no-password", stdout=StringIO())
    send = PushSend.objects.get(audience__name="Clienti VIP con almeno 5 punti")
    assert send.status == SendStatus.ESTIMATED
    # Giulia and Sara are VIP with points; Sara gave no push consent.
    assert (send.audience_reach["in_audience"], send.audience_reach["with_consent"]) == (2, 1)
    assert send.resolved_count == 1
