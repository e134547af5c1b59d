"""Loyalty's part of the admin home (core/dashboard.py): cards issued, points this week, points
issued and redeemed per day, points issued per shop.

Each read aggregates one indexed date range (movements: `date`; cards: one pass over the
cards, counted, not fetched) with GROUP BY, so it stays cheap at a million movements."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dashboard import (
    Bars,
    DaySeries,
    Tile,
    admin_list,
    dashboard_chart_register,
    dashboard_days,
    dashboard_since,
    dashboard_tile_register,
    per_day,
)
from loyalty.models import FidelityCard, MovementAction, PointMovement

SHOPS_SHOWN = 12
MOVEMENTS = "loyalty_pointmovement_changelist"


def cards_tile() -> Tile:
    """Cards enrolled in the last 30 days, of all cards."""
    since = dashboard_since()
    counts = FidelityCard.objects.aggregate(
        total=Count("id"), recent=Count("id", filter=Q(created_at__gte=since))
    )
    return Tile(
        label=_("Cards issued in 30 days"),
        value=counts["recent"],
        note=_("%(total)s cards in all"),
        note_values={"total": counts["total"]},
        link=admin_list("loyalty_fidelitycard_changelist", created_at__gte=since),
    )


def points_week_tile() -> Tile:
    """Points given this week (since Monday), and last week's for comparison."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    this_week = timezone.make_aware(datetime.combine(monday, time.min))
    last_week = this_week - timedelta(days=7)
    sums = PointMovement.objects.filter(
        action=MovementAction.ADD, date__gte=last_week, points__gt=0
    ).aggregate(
        now=Sum("points", filter=Q(date__gte=this_week), default=0),
        before=Sum("points", filter=Q(date__lt=this_week), default=0),
    )
    return Tile(
        label=_("Points issued this week"),
        value=sums["now"],
        note=_("%(before)s last week"),
        note_values={"before": sums["before"]},
        link=admin_list(MOVEMENTS, action__exact=MovementAction.ADD, date__gte=this_week),
        tone="good" if sums["now"] >= sums["before"] else "",
    )


def points_per_day() -> DaySeries:
    """Points issued (positive movements) and redeemed (negative ones) per day, 30 days."""
    days = dashboard_days()
    rows = (
        PointMovement.objects.filter(date__gte=dashboard_since())
        .annotate(day=TruncDate("date"))
        .values("day")
        .annotate(
            issued=Sum("points", filter=Q(points__gt=0), default=0),
            redeemed=Sum("points", filter=Q(points__lt=0), default=0),
        )
        .order_by()
    )
    issued = {row["day"]: row["issued"] for row in rows}
    redeemed = {row["day"]: -row["redeemed"] for row in rows}
    return DaySeries(
        days=days,
        lines=[
            (_("points issued"), per_day(issued, days)),
            (_("points redeemed"), per_day(redeemed, days)),
        ],
        link=admin_list(MOVEMENTS, date__gte=dashboard_since()),
    )


def points_per_shop() -> Bars:
    """Points issued per shop in the last 30 days: the SHOPS_SHOWN shops that gave the most."""
    since = dashboard_since()
    rows = (
        PointMovement.objects.filter(date__gte=since, points__gt=0, shop__isnull=False)
        .values("shop_id", "shop__code")
        .annotate(issued=Sum("points"))
        .order_by("-issued", "shop__code")[:SHOPS_SHOWN]
    )
    return Bars(
        bars=[
            (
                row["shop__code"],
                row["issued"],
                admin_list(MOVEMENTS, shop__id__exact=row["shop_id"], date__gte=since),
            )
            for row in rows
        ],
        link=admin_list(MOVEMENTS, date__gte=since),
    )


def loyalty_dashboard_register() -> None:
    """From LoyaltyConfig.ready()."""
    dashboard_tile_register("cards", cards_tile, permission="loyalty.view_fidelitycard")
    dashboard_tile_register("points", points_week_tile, permission="loyalty.view_pointmovement")
    dashboard_chart_register(
        "points",
        points_per_day,
        title=_("Points issued and redeemed per day, last 30 days"),
        permission="loyalty.view_pointmovement",
    )
    dashboard_chart_register(
        "shops",
        points_per_shop,
        title=_("Points issued per shop, last 30 days"),
        permission="loyalty.view_pointmovement",
    )
