import pytest

from core.models import RemoteCall
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


def test_the_admin_home_is_the_dashboard(admin_client, deliver, django_assert_max_num_queries):
    from django.core.cache import cache

    from loyalty.services import movement_add

    cache.clear()
    with deliver():
        shop = make_shop(code="PV-DASH")
        card = make_card(shop=shop)
        movement_add(card=card, points=40, shop=shop)
    RemoteCall.objects.create(
        provider="amm",
        operation="x",
        method="GET",
        path="/x",
        status_code=500,
        duration_ms=1,
        ok=False,
    )

    with django_assert_max_num_queries(25):
        page = admin_client.get("/admin/").content.decode()
    assert 'id="vetrina-dashboard"' in page
    for block in (
        "sync-health",
        "pushes-per-day",
        "cards-per-shop",
        "points-per-week",
        "call-uploads",
    ):
        assert f'id="{block}"' in page
    assert "Sincronizzazione con i fornitori" in page and "sandbox" in page
    assert "PV-DASH" in page and "+40" in page
    assert (
        "cdn" not in page
        and "https://" not in page.split('id="vetrina-dashboard"')[1].split("</div>")[0]
    )
    cache.clear()
