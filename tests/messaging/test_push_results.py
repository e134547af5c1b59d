"""A push send's results page (messaging/results.py): totals, per day, per shop, the chart, the
links to it, who may see it, and the same figures through the API."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Shop
from loyalty.models import Customer, FidelityCard, FidelityProgram
from messaging.models import PushBatch, PushMessage, PushSend, SendStatus
from messaging.results import push_send_results
from messaging.smshosting import DELIVERED, NOT_INSERTED, NOTDELIVERED, SENT
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Risultati-Push-2026!"
DAY = datetime(2026, 11, 10).date()


def _at(day, hour: int, minute: int = 0):
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
        hours=hour, minutes=minute
    )


def _card(shop, number: str, program) -> FidelityCard:
    customer = Customer.objects.get_or_create(msisdn="+" + number)[0]
    return FidelityCard.objects.create(program=program, customer=customer, shop=shop)


@pytest.fixture
def send():
    """Five recipients: two holders of cards of PV-A, one of PV-B, two without a card."""
    program = FidelityProgram.objects.create(remote_id="77", name="Carta", point_value=5)
    shop_a = Shop.objects.create(code="PV-A", address="Via A 1", city="Milano")
    shop_b = Shop.objects.create(code="PV-B", address="Via B 1", city="Roma")
    _card(shop_a, "393510000001", program)
    _card(shop_b, "393510000002", program)
    _card(shop_a, "393510000003", program)
    _card(shop_b, "393510000003", program)  # a later card elsewhere: the first one counts
    confirmed = _at(DAY, 10, 30)
    send = PushSend.objects.create(
        name="Sottocosto", status=SendStatus.SENT, confirmed_at=confirmed
    )
    batch = PushBatch.objects.create(send=send, index=0, transaction_id="t-0")
    for number, status, sent, delivered in (
        ("393510000001", DELIVERED, confirmed, _at(DAY, 10, 32)),
        ("393510000002", NOTDELIVERED, confirmed, None),
        ("393510000003", DELIVERED, confirmed, _at(DAY + timedelta(days=2), 9)),
        ("393510000009", NOT_INSERTED, None, None),  # never dated: the send's day
        ("393510000008", SENT, confirmed, None),  # still on its way
    ):
        PushMessage.objects.create(
            send=send,
            batch=batch,
            msisdn=number,
            status=status,
            sent_date=sent,
            delivery_date=delivered,
        )
    return send


def _user(username: str, role: str):
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=username)


def _client(username: str, role: str) -> Client:
    client = Client()
    client.force_login(_user(username, role))
    return client


def test_the_figures_are_right_per_day_with_the_days_between_and_per_shop(send):
    results = push_send_results(send=send).as_json()

    assert results["totals"] == {"recipients": 5, "delivered": 2, "failed": 2, "pending": 1}
    assert results["per_day"] == [
        {"day": "2026-11-10", "delivered": 1, "failed": 2},
        {"day": "2026-11-11", "delivered": 0, "failed": 0},
        {"day": "2026-11-12", "delivered": 1, "failed": 0},
    ]
    shops = {row["shop"]: row for row in results["per_shop"]}
    assert shops["PV-A"] == {
        "shop_id": Shop.objects.get(code="PV-A").pk,
        "shop": "PV-A",
        "recipients": 2,
        "delivered": 2,
        "failed": 0,
    }
    assert (shops["PV-B"]["recipients"], shops["PV-B"]["failed"]) == (1, 1)
    unknown = results["per_shop"][-1]
    assert unknown["shop_id"] is None and (unknown["recipients"], unknown["failed"]) == (2, 1)


def test_a_send_not_gone_out_has_empty_results():
    send = PushSend.objects.create(name="Bozza")
    results = push_send_results(send=send)
    assert results.as_json() == {
        "totals": {"recipients": 0, "delivered": 0, "failed": 0, "pending": 0},
        "per_day": [],
        "per_shop": [],
    }
    assert results.day_chart() is None and results.notes


def test_the_queries_do_not_grow_with_the_recipients(send, django_assert_max_num_queries):
    batch = send.batches.get()
    PushMessage.objects.bulk_create(
        PushMessage(send=send, batch=batch, msisdn=f"3935200{n:05d}", status=DELIVERED)
        for n in range(300)
    )
    with django_assert_max_num_queries(4):
        results = push_send_results(send=send)
    assert results.as_json()["totals"]["recipients"] == 305


def test_marketing_reaches_the_page_from_the_send_and_the_list_and_sees_the_charts(send):
    marketing = _client("anna", "marketing")
    url = reverse("admin:messaging_pushsend_results", args=[send.pk])
    assert (
        url
        in marketing.get(
            reverse("admin:messaging_pushsend_change", args=[send.pk])
        ).content.decode()
    )
    assert url in marketing.get(reverse("admin:messaging_pushsend_changelist")).content.decode()

    page = marketing.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="vc-chart vc-line"' in html and 'class="vc-chart vc-bar"' in html
    assert 'id="total-delivered"' in html and 'id="results-per-shop"' in html
    assert "PV-A" in html and "consegnati" in html.lower()  # Italian by default


def test_an_auditor_reads_it_and_nobody_else_does(send):
    url = reverse("admin:messaging_pushsend_results", args=[send.pk])
    assert _client("revisore", "auditor").get(url).status_code == 200
    # A store manager (and anybody logged out) is turned away from the admin.
    shop = Shop.objects.get(code="PV-A")
    call_command("createstoremanager", "mario", "--shop", shop.code, stdout=StringIO())
    mario = Client()
    mario.force_login(get_user_model().objects.get(username="mario"))
    assert mario.get(url).status_code == 302
    assert Client().get(url).status_code == 302
    missing = reverse("admin:messaging_pushsend_results", args=[send.pk + 1000])
    assert _client("anna", "marketing").get(missing).status_code == 404


def test_the_api_answers_the_same_figures(send, api):
    answer = api.get(f"/api/v1/push-sends/{send.pk}/results/")
    assert answer.status_code == 200
    assert answer.json() == push_send_results(send=send).as_json()


def test_the_api_refuses_a_store_managers_token(send):
    call_command("createstoremanager", "mario", "--shop", "PV-A", stdout=StringIO())
    client = Client()
    mario = get_user_model().objects.get(username="mario")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(mario)}"
    assert client.get(f"/api/v1/push-sends/{send.pk}/results/").status_code in (403, 404)
