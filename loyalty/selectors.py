"""Reads of loyalty's records used by more than one caller (the admin's dashboard, …)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from loyalty.models import FidelityCard, PointMovement


def points_per_shop_week(weeks: int = 8) -> list[dict[str, Any]]:
    """The dashboard's "Points issued and redeemed per shop, by week" (last `weeks` weeks)."""
    since = timezone.now() - timedelta(weeks=weeks)
    rows = list(
        PointMovement.objects.filter(date__gte=since, shop__isnull=False)
        .annotate(week=TruncWeek("date"))
        .values("week", "shop__code")
        .annotate(
            issued=Sum("points", filter=Q(points__gt=0), default=0),
            redeemed=Sum("points", filter=Q(points__lt=0), default=0),
        )
        .order_by("-week", "shop__code")
    )
    peak = max((max(r["issued"], -r["redeemed"]) for r in rows), default=0) or 1
    for row in rows:
        row["redeemed"] = -row["redeemed"]
        row["issued_width"] = round(100 * row["issued"] / peak)
        row["redeemed_width"] = round(100 * row["redeemed"] / peak)
    return rows


def cards_per_shop() -> list[dict[str, Any]]:
    """The dashboard's "Cards enrolled per shop": the 20 shops with the most cards."""
    rows = list(
        FidelityCard.objects.filter(shop__isnull=False)
        .values("shop__code", "shop__city")
        .annotate(cards=Count("id"))
        .order_by("-cards")[:20]
    )
    peak = max((r["cards"] for r in rows), default=0) or 1
    for row in rows:
        row["width"] = round(100 * row["cards"] / peak)
    return rows
