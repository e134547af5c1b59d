"""The points a flyer campaign brought, for its results page (campaigns/results.py, which may
not import loyalty: it reads this through core.results' registry, registered from
LoyaltyConfig.ready()).

Points redeemed are the points rewards took (REWARD movements, negative: shown positive), in
the shops given, by the movement's own shop. Two GROUP BY queries over one date range of the
(shop, date) index, however many movements."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDate

from core.results import results_register
from loyalty.models import MovementAction, PointMovement


def campaign_points_redeemed(
    *, shop_ids: list[int], before: datetime, start: datetime, end: datetime
) -> dict:
    """Points redeemed in `shop_ids`: per shop, during [start, end) and before [before, start);
    and per day over [before, end). Answers {"shops": {shop_id: {"during", "before"}},
    "days": {date: points}}."""
    movements = PointMovement.objects.filter(
        action=MovementAction.REWARD, shop_id__in=shop_ids, date__gte=before, date__lt=end
    )
    redeemed = -F("points")
    shops = {
        row["shop_id"]: {"during": row["during"], "before": row["before"]}
        for row in movements.values("shop_id")
        .annotate(
            during=Sum(redeemed, filter=Q(date__gte=start), default=0),
            before=Sum(redeemed, filter=Q(date__lt=start), default=0),
        )
        .order_by()
    }
    days: dict[date, int] = {
        row["day"]: row["points"]
        for row in movements.annotate(day=TruncDate("date"))
        .values("day")
        .annotate(points=Sum(redeemed, default=0))
        .order_by()
    }
    return {"shops": shops, "days": days}


def campaign_results_register() -> None:
    """From LoyaltyConfig.ready()."""
    results_register(
        "campaign_points", campaign_points_redeemed, permission="loyalty.view_pointmovement"
    )
