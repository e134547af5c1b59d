"""The admin home's dashboard in Chromium: tiles, charts drawn as SVG, the page's whole width,
nothing the content security policy blocks; a screenshot goes to the test artefacts."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from loyalty.models import FidelityCard, MovementAction, PointMovement
from messaging.models import PushBatch, PushMessage, PushSend, SendStatus
from messaging.smshosting import DELIVERED, NOTDELIVERED
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import pulled_program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"  # var/ is git-ignored


def _history():
    program = pulled_program()
    now = timezone.now()
    for code, per_day in (("PV-BR-MI", 40), ("PV-BR-RM", 25)):
        shop = make_shop(code=code)
        card = FidelityCard.objects.create(program=program, shop=shop, code=f"BR{code[-2:]}0001")
        PointMovement.objects.bulk_create(
            PointMovement(
                card=card,
                shop=shop,
                action=MovementAction.ADD if day % 6 else MovementAction.REWARD,
                points=per_day + day if day % 6 else -50,
                date=now - timedelta(days=day),
            )
            for day in range(0, 30, 2)
        )
    for day in (1, 5, 9):
        send = PushSend.objects.create(
            name=f"Promo {day}", status=SendStatus.SENT, confirmed_at=now - timedelta(days=day)
        )
        batch = PushBatch.objects.create(send=send, index=0, transaction_id=f"br-{send.pk}")
        PushMessage.objects.bulk_create(
            PushMessage(
                send=send,
                batch=batch,
                msisdn=f"3934700{i:05d}",
                status=DELIVERED if i % 9 else NOTDELIVERED,
            )
            for i in range(60 + 10 * day)
        )


def test_the_dashboard_shows_tiles_and_charts_across_the_page(admin_page, tmp_path):
    _history()
    from django.core.cache import cache

    cache.clear()
    admin_page.goto("/admin/")

    tiles = admin_page.locator("#dashboard-tiles .vd-tile")
    assert tiles.count() == 5
    for name in ("cards", "points", "pushes", "leads", "providers"):
        assert admin_page.locator(f"#tile-{name}").is_visible()
    assert admin_page.locator("#tile-providers .vd-value").inner_text() == "5/5"
    assert admin_page.locator("#tile-pushes .vd-label").inner_text().lower().startswith("push")
    # The stylesheet is applied (a static file: the policy needs no inline style).
    assert admin_page.locator("#tile-cards").evaluate("e => getComputedStyle(e).display") == "flex"

    charts = admin_page.locator("svg.vc-chart")
    assert charts.count() == 3
    for chart in ("points", "shops", "pushes"):
        svg = admin_page.locator(f"#chart-{chart} svg")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box["width"] > 400 and box["height"] > (25 if chart == "shops" else 100)
    assert admin_page.locator("#chart-points polyline").count() == 2
    assert admin_page.locator("#chart-points circle").count() == 60
    assert admin_page.locator("#chart-shops rect.vc-bar").count() == 2
    # Wider than the column of the app list: the dashboard uses the page's width.
    dashboard = admin_page.locator("#vetrina-dashboard").bounding_box()["width"]
    assert dashboard > admin_page.locator("#content-main").bounding_box()["width"] + 200

    shot = tmp_path / "dashboard.png"
    admin_page.screenshot(path=str(shot), full_page=True)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTEFACTS / "dashboard.png")
    assert shot.stat().st_size > 10_000

    # A tile opens its filtered list.
    admin_page.click("#tile-points")
    admin_page.wait_for_url("**/admin/loyalty/pointmovement/?*")
    assert "e=1" not in admin_page.url and "action__exact=ADD" in admin_page.url
