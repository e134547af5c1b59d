"""The admin home's dashboard (core/dashboard.py): tiles, 30-day charts, the per-shop comparison,
the providers' health; each piece for the users who may see its records."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.utils import timezone

from callcenter.models import CallCampaign, CallUpload, UploadStatus
from core.dashboard import dashboard_data, dashboard_days, dashboard_for
from core.models import BreakerState, ProviderBreaker, RemoteCall
from core.roles import API_SCRIPT, STORE_MANAGER
from loyalty.dashboard import points_per_day, points_per_shop, points_week_tile
from loyalty.models import MovementAction, PointMovement
from messaging.dashboard import pushes_per_day, pushes_tile
from messaging.models import PushBatch, PushMessage, PushSend, SendStatus
from messaging.smshosting import DELIVERED, NOT_INSERTED, NOTDELIVERED
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def days_ago(n: int, hour: int = 11):
    day = timezone.localdate() - timedelta(days=n)
    return timezone.make_aware(
        timezone.datetime.combine(day, timezone.datetime.min.time())
    ).replace(hour=hour)


def movement(card, points: int, when, shop=None, action=MovementAction.ADD):
    return PointMovement.objects.create(
        card=card, points=points, date=when, shop=shop or card.shop, action=action
    )


def pushed(n_delivered: int, n_failed: int, n_refused: int, confirmed_at) -> PushSend:
    send = PushSend.objects.create(name="Promo", status=SendStatus.SENT, confirmed_at=confirmed_at)
    batch = PushBatch.objects.create(send=send, index=0, transaction_id=f"t-{send.pk}")
    statuses = [DELIVERED] * n_delivered + [NOTDELIVERED] * n_failed + [NOT_INSERTED] * n_refused
    PushMessage.objects.bulk_create(
        PushMessage(send=send, batch=batch, msisdn=f"39347{i:07d}", status=status)
        for i, status in enumerate(statuses)
    )
    return send


@pytest.fixture
def history(deliver):
    """Two shops' cards, movements over 40 days, pushes and an upload."""
    with deliver():
        milano, roma = make_shop(code="PV-DASH-MI"), make_shop(code="PV-DASH-RM")
        card_mi, card_rm = make_card(shop=milano), make_card(shop=roma)
    movement(card_mi, 50, days_ago(3))
    movement(card_mi, 20, days_ago(0))
    movement(card_mi, -10, days_ago(0), action=MovementAction.REWARD)
    movement(card_rm, 7, days_ago(0))
    movement(card_rm, 999, days_ago(35))  # before the charts' 30 days
    pushed(8, 1, 1, confirmed_at=days_ago(2))
    pushed(3, 1, 0, confirmed_at=days_ago(0))
    campaign = CallCampaign.objects.create(remote_campaign_id="77", name="Riattivazione")
    CallUpload.objects.create(
        campaign=campaign, status=UploadStatus.DONE, records_total=40, records_confirmed=38
    )
    return {"milano": milano, "roma": roma}


def test_the_admin_home_is_the_dashboard(admin_client, history, django_assert_max_num_queries):
    RemoteCall.objects.create(
        provider="amm",
        operation="x",
        method="GET",
        path="/x",
        status_code=500,
        duration_ms=1,
        ok=False,
    )

    with django_assert_max_num_queries(30):
        page = admin_client.get("/admin/").content.decode()

    assert 'id="vetrina-dashboard"' in page and "core/dashboard.css" in page
    for block in (
        "tile-cards",
        "tile-points",
        "tile-pushes",
        "tile-leads",
        "tile-providers",
        "chart-points",
        "chart-shops",
        "chart-pushes",
        "sync-health",
        "call-uploads",
    ):
        assert f'id="{block}"' in page, block
    assert page.count('<svg class="vc-chart') == 3
    assert "Sincronizzazione con i fornitori" in page and "sandbox" in page
    assert "Punti emessi per negozio, ultimi 30 giorni" in page
    assert "PV-DASH-MI" in page and "PV-DASH-RM" in page
    dashboard = page.split('id="vetrina-dashboard"')[1]
    assert "cdn" not in page and "https://" not in dashboard.split('id="sync-health"')[0]
    assert "<script" not in dashboard.split("</div>\n</div>")[0]

    with django_assert_max_num_queries(12):  # the figures come from the cache now
        admin_client.get("/admin/")


def test_the_tiles_count_what_they_say(admin_user, history):
    tiles = {tile["name"]: tile for tile in dashboard_for(admin_user)["tiles"]}

    assert tiles["cards"]["value"] == "2"  # both enrolled today
    assert tiles["points"]["value"] == str(points_week_tile().value)
    assert points_week_tile().value == 27 + (
        50 if days_ago(3).weekday() < days_ago(0).weekday() else 0
    )
    assert tiles["pushes"]["value"] == "11"
    assert tiles["pushes"]["note"] == "85% di 13 inviati"  # 11 of 13 (the refused one not sent)
    assert tiles["leads"]["value"] == "38"
    assert tiles["providers"]["value"] == "5/5"
    assert tiles["providers"]["tone"] == "good"


def test_an_open_breaker_turns_the_providers_tile_red_and_names_it(admin_user):
    ProviderBreaker.objects.create(provider="amm", state=BreakerState.OPEN)

    tile = next(t for t in dashboard_for(admin_user)["tiles"] if t["name"] == "providers")

    assert tile["value"] == "4/5" and tile["tone"] == "bad"
    assert "AMM: " in tile["note"]
    assert tile["link"] == "/admin/core/providercheck/"


def test_the_series_have_a_value_for_each_of_the_30_days_zeros_included(history):
    points = points_per_day()
    days = dashboard_days()
    assert points.days == days and len(days) == 30 and days[-1] == timezone.localdate()
    issued, redeemed = (values for _label, values in points.lines)
    assert issued[-1] == 27 and redeemed[-1] == 10
    assert issued[-4] == 50 and redeemed[-4] == 0
    assert sum(issued) == 77  # the movement of 35 days ago is not in it
    assert issued.count(0) == 28

    pushes = pushes_per_day()
    sent, delivered = (values for _label, values in pushes.lines)
    assert (sent[-3], delivered[-3]) == (9, 8)
    assert (sent[-1], delivered[-1]) == (4, 3)
    assert sum(sent) == 13 and sent.count(0) == 28


def test_the_shops_are_compared_by_points_issued_in_30_days(history):
    bars = points_per_shop().bars
    assert [(label, value) for label, value, _link in bars] == [
        ("PV-DASH-MI", 70),
        ("PV-DASH-RM", 7),
    ]


def test_each_link_opens_its_filtered_list(admin_client, admin_user, history):
    shown = dashboard_for(admin_user)
    links = [tile["link"] for tile in shown["tiles"]] + [chart["link"] for chart in shown["charts"]]
    links += [link for _label, _value, link in points_per_shop().bars]
    assert len(links) == 10
    for link in links:
        response = admin_client.get(link)
        assert response.status_code == 200, link  # an unknown filter redirects with ?e=1

    # The filters are the ones counted: this week's points, one shop's movements.
    page = admin_client.get(points_per_shop().bars[1][2]).content.decode()
    assert page.count('class="field-points') == 1
    page = admin_client.get(pushes_tile().link).content.decode()
    assert page.count('class="field-msisdn') == 11


def test_a_user_sees_only_the_tiles_of_what_they_may_view(django_user_model):
    user = django_user_model.objects.create_user("tiles", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_fidelitycard"))
    user.groups.add(Group.objects.get(name=API_SCRIPT.group))  # unscoped, no other permission
    user.groups.get().permissions.clear()

    user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per instance
    shown = dashboard_for(user)

    assert [tile["name"] for tile in shown["tiles"]] == ["cards"]
    assert shown["charts"] == [] and shown["providers"] is None and shown["panels"] == {}


def test_without_core_permissions_the_providers_health_is_not_shown(client, django_user_model):
    user = django_user_model.objects.create_user(
        "script-staff", password="pw-1234567!", is_staff=True
    )
    user.groups.add(Group.objects.get(name=API_SCRIPT.group))  # the marketing apps, not core
    client.force_login(user)

    page = client.get("/admin/").content.decode()

    assert 'id="tile-cards"' in page and 'id="chart-points"' in page
    assert 'id="tile-providers"' not in page and 'id="sync-health"' not in page


def test_store_managers_see_no_dashboard(client, django_user_model, history):
    user = django_user_model.objects.create_user("negozio", password="pw-1234567!", is_staff=True)
    user.groups.add(Group.objects.get(name=STORE_MANAGER.group))
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 302 and "vetrina-dashboard" not in response.content.decode()
    # Not even if a template asked: their view permissions reach no chain-wide figure.
    assert user.has_perm("loyalty.view_fidelitycard")
    shown = dashboard_for(user)
    assert shown["tiles"] == [] and shown["charts"] == [] and shown["providers"] is None


def test_the_figures_are_read_once_every_30_seconds(admin_user, history, django_assert_num_queries):
    dashboard_data()
    with django_assert_num_queries(0):
        dashboard_data()
