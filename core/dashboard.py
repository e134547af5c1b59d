"""What the admin home shows a marketing manager at a glance.

The core shows the health of the sync with each provider; every other panel is an app's own
read, registered from its `AppConfig.ready()` (a registry: the core imports no product app):

    dashboard_panel_register("pushes", pushes_per_day)   # messaging/apps.py

`dashboard_data()` answers `{"providers": [...], "<panel>": <its rows>, ..., "at": <when>}`;
the template (templates/admin/dashboard.html) shows each panel by its name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q
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
RESERVED = ("providers", "at")
_panels: dict[str, Callable[[], Any]] = {}


def dashboard_panel_register(name: str, rows: Callable[[], Any]) -> None:
    """`rows()` reads what the panel `name` shows (a list the template iterates); called when
    the dashboard is computed, at most once every CACHE_SECONDS."""
    if name in RESERVED:
        raise ValueError(f"{name!r} is the core's own part of the dashboard")
    _panels[name] = rows


def dashboard_panels() -> list[str]:
    return list(_panels)


def dashboard_data() -> dict[str, Any]:
    """Everything the dashboard shows; cached briefly so a busy home page stays cheap."""
    data = cache.get("vetrina-dashboard")
    if data is None:
        data = {
            "providers": sync_health(),
            **{name: rows() for name, rows in _panels.items()},
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
