"""What the admin home shows a marketing manager at a glance (read-only selectors)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from core.models import BreakerState, OutboxEntry, OutboxState, ProviderBreaker, RemoteCall

PROVIDERS = (
    ("volantinopiu", "VolantinoPiù", "VOLANTINOPIU_BASE_URL"),
    ("amm", "AMM", "AMM_BASE_URL"),
    ("smshosting", "SMSHosting", "SMSHOSTING_BASE_URL"),
    ("wolkvox", "Wolkvox", "WOLKVOX_BASE_URL"),
    ("aisac", "Aisac", "AISAC_BASE_URL"),
)
CACHE_SECONDS = 30


def dashboard_data() -> dict[str, Any]:
    """Everything the dashboard shows; cached briefly so a busy home page stays cheap."""
    data = cache.get("vetrina-dashboard")
    if data is None:
        data = {
            "providers": sync_health(),
            "pushes": pushes_per_day(),
            "points": points_per_shop_week(),
            "cards": cards_per_shop(),
            "uploads": recent_uploads(),
            "at": timezone.now(),
        }
        cache.set("vetrina-dashboard", data, CACHE_SECONDS)
    return data


def sync_health() -> list[dict[str, Any]]:
    since = timezone.now() - timedelta(hours=24)
    queue = dict(
        OutboxEntry.objects.filter(state__in=(OutboxState.PENDING, OutboxState.IN_FLIGHT))
        .values_list("provider")
        .annotate(n=Count("id"))
    )
    failed = dict(
        OutboxEntry.objects.filter(state=OutboxState.FAILED)
        .values_list("provider")
        .annotate(n=Count("id"))
    )
    last_ok = dict(
        OutboxEntry.objects.filter(state=OutboxState.DONE)
        .values_list("provider")
        .annotate(at=Max("completed_at"))
    )
    calls = {
        row["provider"]: row
        for row in RemoteCall.objects.filter(created_at__gte=since)
        .values("provider")
        .annotate(
            total=Count("id"),
            errors=Count("id", filter=Q(ok=False)),
            # Answers the client could not read (core.errors.ContractDrift).
            drifts=Count("id", filter=Q(error_code="CONTRACT_DRIFT")),
        )
    }
    breakers = {b.provider: b for b in ProviderBreaker.objects.all()}
    rows = []
    for code, name, url_setting in PROVIDERS:
        stats = calls.get(code, {"total": 0, "errors": 0, "drifts": 0})
        breaker = breakers.get(code)
        rows.append(
            {
                "code": code,
                "name": name,
                "pending": queue.get(code, 0),
                "failed": failed.get(code, 0),
                "last_success": last_ok.get(code),
                "calls": stats["total"],
                "error_rate": round(100 * stats["errors"] / stats["total"])
                if stats["total"]
                else 0,
                "sandbox": "/sandbox/" in getattr(settings, url_setting, ""),
                "drifts": stats["drifts"],
                "breaker": breaker.state if breaker else BreakerState.CLOSED,
                "breaker_label": breaker.get_state_display()
                if breaker
                else BreakerState.CLOSED.label,
                "breaker_since": breaker.since if breaker and breaker.state != "closed" else None,
                "breaker_error": breaker.last_error
                if breaker and breaker.state != "closed"
                else "",
            }
        )
    return rows


def pushes_per_day(days: int = 14) -> list[dict[str, Any]]:
    from messaging.models import PushMessage

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


def points_per_shop_week(weeks: int = 8) -> list[dict[str, Any]]:
    from loyalty.models import PointMovement

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
    from loyalty.models import FidelityCard

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


def recent_uploads(limit: int = 8) -> list[Any]:
    from callcenter.models import CallUpload

    return list(CallUpload.objects.select_related("campaign").order_by("-created_at")[:limit])
