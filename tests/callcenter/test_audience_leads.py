"""Leads from a saved audience: its customers through the calls consent gate and the
do-not-call list, the report N in the audience / M with consent / K on the do-not-call list,
the admin page and the API through real requests, bad input, and who may use an audience."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from callcenter.models import CallCampaign, CallRecord, LeadSource
from callcenter.services import call_records_from_audience, call_upload_create
from loyalty.audiences import audience_save
from loyalty.models import ConsentState, Customer, DoNotCall
from sandbox.models import WolkvoxRecord
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Lead-Audience-2026!"


@pytest.fixture
def campaign():
    return CallCampaign.objects.create(remote_campaign_id="77", name="Richiamo Milano")


@pytest.fixture
def milano():
    """The audience "Milano": five card holders of PV-MI-L. Anna and Bruno may be called (no
    answer on call consent is no objection), Carla gave call consent but is on the do-not-call
    list, Dario withdrew call consent (and is on the list too), Elena gave call consent. A
    Roma card holder is not in the audience."""
    shop, roma = make_shop(code="PV-MI-L"), make_shop(code="PV-RM-L")
    people = {
        "Anna": "+393471000001",
        "Bruno": "+393471000002",
        "Carla": "+393471000003",
        "Dario": "+393471000004",
        "Elena": "+393471000005",
    }
    for name, number in people.items():
        make_card(shop=shop, msisdn=number)
        Customer.objects.filter(msisdn=number).update(name=name, surname="Rossi")
    make_card(shop=roma, msisdn="+393471000009")
    Customer.objects.filter(msisdn__in=[people["Carla"], people["Elena"]]).update(
        consent_calls=ConsentState.GIVEN
    )
    Customer.objects.filter(msisdn=people["Dario"]).update(consent_calls=ConsentState.WITHDRAWN)
    DoNotCall.objects.create(msisdn="393471000003")
    DoNotCall.objects.create(msisdn="393471000004")
    return audience_save(name="Milano", rules={"shops": [shop.pk]})


# --- the service ---------------------------------------------------------------------------------
def test_an_audience_becomes_leads_through_the_calls_gate(campaign, milano):
    report = call_records_from_audience(campaign=campaign, audience=milano)

    reach = report.reach
    assert (reach.in_audience, reach.with_consent, reach.do_not_call) == (5, 4, 1)
    assert reach.excluded == {"do_not_call": 1, "withdrawn": 1}
    assert (report.leads.created, report.leads.merged) == (3, 0)
    leads = {lead.tel1: lead for lead in CallRecord.objects.filter(campaign=campaign)}
    assert set(leads) == {"393471000001", "393471000002", "393471000005"}
    anna = leads["393471000001"]
    assert (anna.customer_name, anna.customer_last_name, anna.opt1) == ("Anna", "Rossi", "Milano")
    assert anna.source == LeadSource.VETRINA


def test_a_dry_run_counts_and_saves_nothing_and_a_second_run_merges(campaign, milano):
    report = call_records_from_audience(campaign=campaign, audience=milano, dry_run=True)
    assert report.leads.created == 3 and not CallRecord.objects.exists()
    call_records_from_audience(campaign=campaign, audience=milano)
    again = call_records_from_audience(campaign=campaign, audience=milano)
    assert (again.leads.created, again.leads.merged) == (0, 3)
    assert CallRecord.objects.count() == 3


def test_a_lead_already_in_the_campaign_is_filled_in_never_blanked(campaign, milano):
    CallRecord.objects.create(
        campaign=campaign,
        source=LeadSource.IMPORT,
        tel1="393471000001",
        customer_name="",
        email="anna@example.com",
        city="Milano",
    )
    report = call_records_from_audience(campaign=campaign, audience=milano)
    assert (report.leads.created, report.leads.merged) == (2, 1)
    anna = CallRecord.objects.get(tel1="393471000001")
    assert (anna.customer_name, anna.email, anna.city) == ("Anna", "anna@example.com", "Milano")


def test_consent_withdrawn_after_the_leads_were_made_still_keeps_them_from_wolkvox(
    campaign, milano, deliver
):
    call_records_from_audience(campaign=campaign, audience=milano)
    Customer.objects.filter(msisdn="+393471000002").update(consent_calls=ConsentState.WITHDRAWN)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    assert upload.excluded == {"withdrawn": 1}
    assert set(WolkvoxRecord.objects.values_list("tel1", flat=True)) == {
        "393471000001",
        "393471000005",
    }


# --- the admin -----------------------------------------------------------------------------------
def _user(username: str, role: str):
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=username)


@pytest.fixture
def marketing():
    client = Client()
    client.force_login(_user("anna", "marketing"))
    return client


def test_marketing_estimates_then_adds_an_audiences_leads_in_the_admin(
    marketing, campaign, milano, deliver
):
    campaign_page = marketing.get(
        reverse("admin:callcenter_callcampaign_change", args=[campaign.pk])
    ).content.decode()
    url = reverse("admin:callcenter_audience", args=[campaign.pk])
    assert url in campaign_page and "Lead da un pubblico" in campaign_page

    page = marketing.post(url, {"audience": milano.pk, "estimate": "1"}).content.decode()
    assert 'id="audience-reach"' in page
    for label, value in (
        ("nel pubblico", 5),
        ("con consenso alle chiamate", 4),
        ("nell'elenco da non chiamare", 1),
        ("lead da aggiungere", 3),
    ):
        assert f"<th>{label}</th><td>{value}</td>" in page, label
    assert not CallRecord.objects.exists()

    with deliver():  # a worker adds them, as a job whose page follows it
        response = marketing.post(url, {"audience": milano.pk, "add": "1"})
    assert response.status_code == 302 and "/admin/core/job/" in response["Location"]
    assert CallRecord.objects.filter(campaign=campaign).count() == 3
    shown = marketing.get(response["Location"]).content.decode()
    assert (
        "Pubblico “Milano”: 5 nel pubblico, 4 con consenso alle chiamate, 1 nell&#x27;elenco "
        "da non chiamare; 3 lead aggiunti, 0 uniti." in shown
    )


def test_the_admin_refuses_an_unknown_audience_naming_the_field(marketing, campaign, milano):
    response = marketing.post(
        reverse("admin:callcenter_audience", args=[campaign.pk]), {"audience": "999999", "add": "1"}
    )
    assert response.status_code == 200
    assert "audience" in response.context["form"].errors
    assert not CallRecord.objects.exists()


# --- the API -------------------------------------------------------------------------------------
def test_the_api_counts_then_adds_an_audiences_leads(api, campaign, milano):
    url = f"/api/v1/call-campaigns/{campaign.pk}/audience-leads/"
    counted = api.post(
        url, {"audience": milano.pk, "dry_run": True}, content_type="application/json"
    )
    assert counted.status_code == 200, counted.content
    assert counted.json() == {
        "audience": "Milano",
        "in_audience": 5,
        "with_consent": 4,
        "do_not_call": 1,
        "excluded": {"do_not_call": 1, "withdrawn": 1},
        "created": 3,
        "merged": 0,
        "dry_run": True,
    }
    assert not CallRecord.objects.exists()

    added = api.post(url, {"audience": milano.pk}, content_type="application/json")
    assert added.status_code == 201 and added.json()["created"] == 3
    assert CallRecord.objects.filter(campaign=campaign).count() == 3


def test_the_api_refuses_an_unknown_audience_naming_the_field(api, campaign, milano):
    response = api.post(
        f"/api/v1/call-campaigns/{campaign.pk}/audience-leads/",
        {"audience": 999999},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "Nessun pubblico" in str(response.json()["error"]["fields"]["audience"])
    assert not CallRecord.objects.exists()


def test_the_api_and_its_schema_document_the_action(api):
    schema = api.get("/api/schema/").content.decode()
    assert "/api/v1/call-campaigns/{id}/audience-leads/:" in schema


# --- who may -------------------------------------------------------------------------------------
def test_store_managers_and_auditors_cannot_make_leads_from_an_audience(
    campaign, milano, store_manager_client
):
    counter = store_manager_client("mario", "PV-MI-L")
    url = reverse("admin:callcenter_audience", args=[campaign.pk])
    assert counter.post(url, {"audience": milano.pk, "add": "1"}).status_code == 302  # login
    for user in (get_user_model().objects.get(username="mario"), _user("revisore", "auditor")):
        client = Client()
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
        response = client.post(
            f"/api/v1/call-campaigns/{campaign.pk}/audience-leads/",
            {"audience": milano.pk},
            content_type="application/json",
        )
        assert response.status_code in (403, 404), (user.username, response.status_code)
    auditor = Client()
    auditor.force_login(get_user_model().objects.get(username="revisore"))
    assert auditor.post(url, {"audience": milano.pk, "add": "1"}).status_code == 403
    assert not CallRecord.objects.exists()
