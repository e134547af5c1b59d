"""A flyer campaign's results page (campaigns/results.py, the points from
loyalty/campaign_results.py through core.results' registry): points redeemed in its shops during
its dates against the four weeks before, per shop and per day, the chart, the link, who may see
it."""

from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignBatch, CampaignKind, Shop
from campaigns.results import BEFORE_DAYS, FLYER_DAYS, campaign_results
from core.results import results_read
from loyalty.models import Customer, FidelityCard, FidelityProgram, MovementAction, PointMovement

pytestmark = pytest.mark.django_db
PASSWORD = "Risultati-Volantino-2026!"


def _shop(code: str) -> Shop:
    return Shop.objects.create(code=code, address="Via Roma 1", city="Milano")


@pytest.fixture
def flyer():
    """A chain-wide flyer sent 20 days ago in PV-A and PV-B (its 14 days are over); PV-C is not
    in it. Rewards before, during and after, in and out of its shops."""
    shops = {code: _shop(code) for code in ("PV-A", "PV-B", "PV-C")}
    sent = timezone.now() - timedelta(days=20)
    start = timezone.make_aware(datetime.combine(timezone.localdate(sent), time.min))
    batch = CampaignBatch.objects.create(kind="flyer", promo_name="Volantino", date_send=sent)
    campaigns = [
        Campaign.objects.create(
            kind=CampaignKind.FLYER,
            shop=shops[code],
            batch=batch,
            date_send=sent,
            promo_name="Volantino",
            image_url="https://cdn.example.com/v.jpg",
            flyer_link="https://example.com/v.pdf",
        )
        for code in ("PV-A", "PV-B")
    ]
    program = FidelityProgram.objects.create(remote_id="77", name="Carta", point_value=5)
    card = FidelityCard.objects.create(
        program=program, customer=Customer.objects.create(msisdn="+393510000001")
    )
    for code, action, points, at in (
        ("PV-A", MovementAction.REWARD, -100, start + timedelta(days=1, hours=10)),  # during
        ("PV-A", MovementAction.ADD, 20, start + timedelta(days=1, hours=11)),  # not redeemed
        ("PV-A", MovementAction.REWARD, -50, start - timedelta(days=10)),  # before
        ("PV-B", MovementAction.REWARD, -40, start - timedelta(days=27)),  # before
        ("PV-B", MovementAction.REWARD, -30, start - timedelta(days=29)),  # too early
        ("PV-B", MovementAction.REWARD, -60, start + timedelta(days=FLYER_DAYS, hours=1)),  # after
        ("PV-C", MovementAction.REWARD, -70, start + timedelta(days=2)),  # another shop
    ):
        PointMovement.objects.create(
            card=card, shop=shops[code], action=action, points=points, date=at
        )
    return campaigns[0]


def _client(username: str, role: str) -> Client:
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _superuser():
    return get_user_model().objects.create_superuser("capo", "c@example.com", PASSWORD)


def test_points_redeemed_during_against_the_four_weeks_before_per_shop(flyer):
    results = campaign_results(campaign=flyer, user=_superuser()).as_json()

    assert results["totals"] == {
        "during": 100,
        "before": 90,
        "during_week": 50.0,  # 100 in two weeks
        "before_week": 22.5,  # 90 in four weeks
        "change": 122,
    }
    assert results["per_shop"] == [
        {
            "shop_id": Shop.objects.get(code="PV-A").pk,
            "shop": "PV-A",
            "during": 100,
            "before": 50,
            "during_week": 50.0,
            "before_week": 12.5,
        },
        {
            "shop_id": Shop.objects.get(code="PV-B").pk,
            "shop": "PV-B",
            "during": 0,
            "before": 40,
            "during_week": 0,
            "before_week": 10.0,
        },
    ]
    # Every day of the six weeks, the days without rewards included.
    days = results["per_day"]
    assert len(days) == BEFORE_DAYS + FLYER_DAYS
    assert sum(d["redeemed"] for d in days) == 190
    assert [d["redeemed"] for d in days if d["redeemed"]] == [40, 50, 100]


def test_a_flyer_not_sent_yet_compares_nothing():
    shop = _shop("PV-N")
    campaign = Campaign.objects.create(
        kind=CampaignKind.FLYER,
        shop=shop,
        date_send=timezone.now() + timedelta(days=3),
        promo_name="Prossimo",
        image_url="https://cdn.example.com/v.jpg",
        flyer_link="https://example.com/v.pdf",
    )
    results = campaign_results(campaign=campaign, user=_superuser())
    assert results.as_json()["totals"]["during"] == 0
    assert results.as_json()["totals"]["change"] == 0  # not "-100 %": nothing to compare yet
    assert "La campagna non è ancora iniziata: niente da confrontare." in results.notes


def test_the_queries_do_not_grow_with_the_movements(flyer, django_assert_max_num_queries):
    user = _superuser()
    card = FidelityCard.objects.get()
    PointMovement.objects.bulk_create(
        PointMovement(
            card=card,
            shop=flyer.shop,
            action=MovementAction.REWARD,
            points=-1,
            date=flyer.date_send + timedelta(hours=n % 48),
        )
        for n in range(300)
    )
    with django_assert_max_num_queries(3):
        results = campaign_results(campaign=flyer, user=user)
    assert results.as_json()["totals"]["during"] == 400


def test_marketing_opens_it_from_the_campaign_and_sees_the_chart(flyer):
    marketing = _client("anna", "marketing")
    url = reverse("admin:campaigns_campaign_results", args=[flyer.pk])
    change = marketing.get(reverse("admin:campaigns_campaign_change", args=[flyer.pk]))
    assert url in change.content.decode()

    page = marketing.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="vc-chart vc-bar"' in html and "vc-bar vc-s1" in html  # during and before
    assert 'class="vc-chart vc-line"' in html and 'id="total-change"' in html
    assert "PV-A" in html and "PV-C" not in html


def test_a_template_campaign_has_no_such_page(flyer):
    template = Campaign.objects.create(
        kind=CampaignKind.TEMPLATE,
        shop=flyer.shop,
        date_send=flyer.date_send,
        promo_name="Sottocosto",
        image_url="https://cdn.example.com/v.jpg",
        link="https://example.com/p",
        template_name="promo",
    )
    marketing = _client("anna", "marketing")
    url = reverse("admin:campaigns_campaign_results", args=[template.pk])
    change = marketing.get(reverse("admin:campaigns_campaign_change", args=[template.pk]))
    assert url not in change.content.decode()
    assert marketing.get(url).status_code == 404


def test_an_auditor_reads_it_a_store_manager_does_not(flyer):
    url = reverse("admin:campaigns_campaign_results", args=[flyer.pk])
    assert _client("revisore", "auditor").get(url).status_code == 200
    call_command("createstoremanager", "mario", "--shop", "PV-A", stdout=StringIO())
    mario = Client()
    mario.force_login(get_user_model().objects.get(username="mario"))
    assert mario.get(url).status_code == 302
    assert Client().get(url).status_code == 302


def test_the_points_are_refused_to_who_may_not_see_movements(flyer):
    """Denied by default: the registry answers only users with loyalty's view permission."""
    user = get_user_model().objects.create_user("curioso", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    with pytest.raises(PermissionError):
        results_read(
            "campaign_points",
            user,
            shop_ids=[flyer.shop_id],
            before=flyer.date_send,
            start=flyer.date_send,
            end=flyer.date_send,
        )
    with pytest.raises(PermissionError):
        results_read("no_such_reader", _superuser())
