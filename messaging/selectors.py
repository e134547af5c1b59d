"""Reads of messaging's records used by more than one caller (the admin's dashboard, …)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from messaging.models import PushMessage


def pushes_per_day(days: int = 14) -> list[dict[str, Any]]:
    """The dashboard's "Pushes per day": messages of the sends confirmed in the last `days`
    days, per day, with how many were delivered."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        PushMessage.objects.filter(send__confirmed_at__gte=since)
        .annotate(day=TruncDate("send__confirmed_at"))
        .values("day")
        .annotate(total=Count("id"), delivered=Count("id", filter=Q(status="DELIVERED")))
        .order_by("day")
    )
    peak = max((r["total"] for r in rows), default=0) or 1
    return [
        {
            **row,
            "rate": round(100 * row["delivered"] / row["total"]) if row["total"] else 0,
            "width": round(100 * row["total"] / peak),
        }
        for row in rows
    ]
