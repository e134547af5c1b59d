"""What the admin home shows a marketing manager at a glance: headline tiles, 30-day charts,
a per-shop comparison, the health of the sync with each provider.

The core shows the providers' health (its tile and its table); everything else is an app's own
read, registered from its `AppConfig.ready()` (a registry: the core imports no product app):

    dashboard_tile_register("cards", cards_tile, permission="loyalty.view_fidelitycard")
    dashboard_chart_register("points", points_per_day, title=_("Points…"), permission=...)
    dashboard_panel_register("uploads", recent_uploads, permission="callcenter.view_callupload")

A tile's read answers a `Tile` (a number, what it counts, the admin list it comes from, already
filtered); a chart's read answers `DaySeries` (a value per day, zeros included) or `Bars`. The
reads run at most once every CACHE_SECONDS (`dashboard_data()`); `dashboard_for(user)` then
keeps what the user may see (the model permission each piece names) and draws the charts
(core/charts.py) in the user's language. templates/admin/dashboard.html shows it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from core.access import user_is_shop_scoped
from core.charts import Bar, Line, bar_chart, line_chart
from core.models import BreakerState, OutboxEntry, OutboxState, ProviderBreaker, RemoteCall

PROVIDERS = (
    ("volantinopiu", "VolantinoPiù", "VOLANTINOPIU_BASE_URL"),
    ("amm", "AMM", "AMM_BASE_URL"),
    ("smshosting", "SMSHosting", "SMSHOSTING_BASE_URL"),
    ("wolkvox", "Wolkvox", "WOLKVOX_BASE_URL"),
    ("aisac", "Aisac", "AISAC_BASE_URL"),
)
CACHE_SECONDS = 30
CACHE_KEY = "vetrina-dashboard"
SERIES_DAYS = 30
RESERVED = ("providers", "at", "tiles", "charts")
PROVIDERS_PERMISSION = "core.view_outboxentry"


@dataclass(frozen=True)
class Tile:
    """A headline number and the admin list it comes from (`link`: filtered as counted)."""

    label: str
    value: int | float | str
    link: str
    note: str = ""  # may name values: "%(total)s cards in all"
    note_values: dict[str, Any] = field(default_factory=dict)  # numbers shown localized
    tone: str = ""  # "", "good", "warn" or "bad"


@dataclass(frozen=True)
class DaySeries:
    """Lines over the days `dashboard_days()` gives: `lines` are (label, a value per day)."""

    days: list[date]
    lines: list[tuple[str, list[float]]]
    link: str = ""


@dataclass(frozen=True)
class Bars:
    """A comparison (e.g. per shop): `bars` are (label, value, link), largest first."""

    bars: list[tuple[str, float, str]]
    link: str = ""


@dataclass(frozen=True)
class _Entry:
    read: Callable[[], Any]
    permission: str = ""
    title: str = ""
    options: dict = field(default_factory=dict)


_tiles: dict[str, _Entry] = {}
_charts: dict[str, _Entry] = {}
_panels: dict[str, Callable[[], Any]] = {}
_panel_permissions: dict[str, str] = {}


def _check_name(name: str) -> None:
    if name in RESERVED:
        raise ValueError(f"{name!r} is the core's own part of the dashboard")


def dashboard_tile_register(name: str, read: Callable[[], Tile], *, permission: str) -> None:
    """A headline tile, shown to users with `permission` (e.g. "loyalty.view_fidelitycard")."""
    _check_name(name)
    _tiles[name] = _Entry(read, permission)


def dashboard_chart_register(
    name: str, read: Callable[[], DaySeries | Bars], *, title: str, permission: str
) -> None:
    """A chart: `read()` answers a DaySeries (drawn as lines) or Bars (horizontal bars)."""
    _check_name(name)
    _charts[name] = _Entry(read, permission, title)


def dashboard_panel_register(name: str, rows: Callable[[], Any], *, permission: str = "") -> None:
    """`rows()` reads what the panel `name` shows (a list the template iterates); called when
    the dashboard is computed, at most once every CACHE_SECONDS."""
    _check_name(name)
    _panels[name] = rows
    _panel_permissions[name] = permission


def dashboard_panels() -> list[str]:
    """The names of everything the apps registered: tiles, charts and panels."""
    return list(dict.fromkeys([*_tiles, *_charts, *_panels]))


def dashboard_days(count: int = SERIES_DAYS) -> list[date]:
    """The last `count` days, today (local time) last."""
    today = timezone.localdate()
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def dashboard_since(count: int = SERIES_DAYS) -> datetime:
    """Local midnight of the first of `dashboard_days(count)`: what a series reads from."""
    return timezone.make_aware(datetime.combine(dashboard_days(count)[0], time.min))


def per_day(values: Mapping[date, float], days: Iterable[date]) -> list[float]:
    """A value for each day, zero on days without any."""
    return [values.get(day) or 0 for day in days]


def admin_list(url_name: str, **filters: Any) -> str:
    """An admin list's address with its filters (names of the list's own filters)."""
    url = reverse(f"admin:{url_name}")
    return f"{url}?{urlencode(filters)}" if filters else url


def dashboard_data() -> dict[str, Any]:
    """Everything the dashboard shows, for every user; cached briefly so a busy home page
    stays cheap."""
    data = cache.get(CACHE_KEY)
    if data is None:
        data = {
            "providers": sync_health(),
            "tiles": {name: entry.read() for name, entry in _tiles.items()},
            "charts": {name: entry.read() for name, entry in _charts.items()},
            **{name: rows() for name, rows in _panels.items()},
            "at": timezone.now(),
        }
        cache.set(CACHE_KEY, data, CACHE_SECONDS)
    return data


def dashboard_for(user) -> dict[str, Any]:
    """What `user` sees: the tiles, charts and panels of the models they may view (denied when
    a piece names no permission the user has), the charts drawn as SVG in their language.
    Nothing for a shop-scoped user (a store manager): every figure here is chain-wide."""
    scoped = user_is_shop_scoped(user)

    def allowed(permission: str) -> bool:
        return not scoped and bool(permission) and user.has_perm(permission)

    data = dashboard_data()
    tiles = [
        _shown(name, data["tiles"][name])
        for name, entry in _tiles.items()
        if allowed(entry.permission)
    ]
    providers = data["providers"] if allowed(PROVIDERS_PERMISSION) else None
    if providers is not None:
        tiles.append(_shown("providers", providers_tile(providers)))
    charts = [
        _chart(name, str(entry.title), data["charts"][name])
        for name, entry in _charts.items()
        if allowed(entry.permission)
    ]
    panels = {name: data[name] for name in _panels if allowed(_panel_permissions.get(name, ""))}
    return {
        "tiles": tiles,
        "charts": charts,
        "providers": providers,
        "panels": panels,
        "at": data["at"],
    }


def _shown(name: str, tile: Tile) -> dict[str, Any]:
    """A tile as the template shows it: numbers in the user's language."""

    def shown(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number_format(value, force_grouping=True)
        return value

    note = str(tile.note)
    if tile.note_values:
        note = note % {key: shown(value) for key, value in tile.note_values.items()}
    return {
        "name": name,
        "label": tile.label,
        "value": shown(tile.value),
        "link": tile.link,
        "note": note,
        "tone": tile.tone,
    }


def _chart(name: str, title: str, chart: DaySeries | Bars) -> dict[str, Any]:
    if isinstance(chart, DaySeries):
        svg = line_chart(
            title=title,
            days=chart.days,
            lines=[Line(str(label), values) for label, values in chart.lines],
        )
        kind = "line"
    else:
        svg = bar_chart(
            title=title, bars=[Bar(str(label), value, link) for label, value, link in chart.bars]
        )
        kind = "bar"
    return {"name": name, "title": title, "svg": svg, "link": chart.link, "kind": kind}


def providers_tile(providers: list[dict[str, Any]]) -> Tile:
    """How many providers answer normally (breaker closed); the others named, with their state."""
    tripped = [p for p in providers if p["breaker"] != BreakerState.CLOSED]
    failed = sum(p["failed"] for p in providers)
    if tripped:
        note = ", ".join(f"{p['name']}: {p['breaker_label']}" for p in tripped)
    elif failed:
        note = _("all circuit breakers closed; %(n)s failed entries")
    else:
        note = _("all circuit breakers closed")
    link = (
        admin_list("core_outboxentry_changelist", state__exact=OutboxState.FAILED)
        if failed and not tripped
        else admin_list("core_providercheck_changelist")
    )
    return Tile(
        label=_("Providers working"),
        value=f"{len(providers) - len(tripped)}/{len(providers)}",
        link=link,
        note=note,
        note_values={"n": failed} if failed and not tripped else {},
        tone="bad" if tripped else ("warn" if failed else "good"),
    )


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
