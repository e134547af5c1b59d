"""What a send, an upload or a campaign achieved: the figures of its results page (totals, a
value per day, a row per shop), drawn with core/charts.py and shown by
templates/admin/results.html; the same figures as JSON for the API (`Results.as_json`).

Each app builds its own `Results` (messaging/results.py, callcenter/results.py,
campaigns/results.py). A figure one app reads from another it may not import (the points a
flyer campaign brought, which are loyalty's) comes through the registry below, filled from
`AppConfig.ready()` as the dashboard's is:

    results_register("campaign_points", read, permission="loyalty.view_pointmovement")
    rows = results_read("campaign_points", user, shop_ids=[...], start=..., end=...)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils.safestring import SafeString
from rest_framework import serializers

from core.charts import Bar, Line, bar_chart, line_chart

MAX_DAYS = 62  # a results chart shows at most this many days, from the first one


@dataclass(frozen=True)
class Measure:
    """One thing counted: its key (the JSON's) and its label (the page's)."""

    key: str
    label: str


@dataclass(frozen=True)
class ShopRow:
    """One shop's figures (`shop_id` None: the rows no shop could be found for)."""

    shop_id: int | None
    label: str
    values: Mapping[str, float]


@dataclass
class Results:
    """A results page: `totals` (a value per measure), `days` with a value per day of each
    measure in `day_measures`, and `shops` with a value for each of `shop_measures`."""

    title: str
    totals: list[tuple[Measure, float]]
    days: list[date] = field(default_factory=list)
    day_measures: list[Measure] = field(default_factory=list)
    per_day: Mapping[str, Sequence[float]] = field(default_factory=dict)
    shop_measures: list[Measure] = field(default_factory=list)
    shops: list[ShopRow] = field(default_factory=list)
    # The measure the shop chart draws, and (optionally) a second one drawn beside it.
    shop_chart_measures: tuple[str, ...] = ()
    day_title: str = ""
    shop_title: str = ""
    notes: list[str] = field(default_factory=list)

    def day_chart(self) -> SafeString | None:
        if not self.days or not self.day_measures:
            return None
        return line_chart(
            title=self.day_title,
            days=self.days,
            lines=[Line(m.label, self.per_day[m.key]) for m in self.day_measures],
        )

    def shop_chart(self) -> SafeString | None:
        if not self.shop_chart_measures:
            return None
        # Two measures: two bars per shop, told apart by their colour (the page's legend).
        bars = [
            Bar(row.label, row.values.get(key, 0), series=n)
            for row in self.shops
            for n, key in enumerate(self.shop_chart_measures)
        ]
        return bar_chart(title=self.shop_title, bars=bars)

    def day_rows(self) -> list[tuple[date, list[float]]]:
        return [
            (day, [self.per_day[m.key][i] for m in self.day_measures])
            for i, day in enumerate(self.days)
        ]

    def shop_table(self) -> list[tuple[str, list[float]]]:
        return [
            (row.label, [row.values.get(m.key, 0) for m in self.shop_measures])
            for row in self.shops
        ]

    def context(self) -> dict[str, Any]:
        """What templates/admin/results.html shows."""
        return {
            "results": self,
            "day_chart": self.day_chart(),
            "shop_chart": self.shop_chart(),
            "shop_legend": [
                (n, m.label)
                for m in self.shop_measures
                for n, key in enumerate(self.shop_chart_measures)
                if m.key == key
            ]
            if len(self.shop_chart_measures) > 1
            else [],
        }

    def as_json(self) -> dict[str, Any]:
        """The API's answer: totals, a row per day (zeros included), a row per shop."""
        return {
            "totals": {m.key: value for m, value in self.totals},
            "per_day": [
                {
                    "day": day.isoformat(),
                    **{m.key: self.per_day[m.key][i] for m in self.day_measures},
                }
                for i, day in enumerate(self.days)
            ],
            "per_shop": [
                {
                    "shop_id": row.shop_id,
                    "shop": row.label,
                    **{m.key: row.values.get(m.key, 0) for m in self.shop_measures},
                }
                for row in self.shops
            ],
        }


class ResultsSerializer(serializers.Serializer):
    """The schema of `Results.as_json()` (the `results` actions of the API)."""

    totals = serializers.DictField(child=serializers.FloatField())
    per_day = serializers.ListField(child=serializers.DictField())
    per_shop = serializers.ListField(child=serializers.DictField())


def results_days(first: date | None, last: date | None) -> list[date]:
    """Every day from `first` to `last`, days without figures included, at most MAX_DAYS;
    no days when there is nothing to show."""
    if first is None or last is None:
        return []
    last = min(max(last, first), first + timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- figures an app reads from another it may not import ----------------------------------
@dataclass(frozen=True)
class _Reader:
    read: Callable[..., Any]
    permission: str


_readers: dict[str, _Reader] = {}


def results_register(name: str, read: Callable[..., Any], *, permission: str) -> None:
    """`read(**kwargs)` answers figures for a results page, for users with `permission`."""
    _readers[name] = _Reader(read, permission)


def results_available(name: str, user) -> bool:
    """A reader is registered under `name` and `user` may see what it reads."""
    reader = _readers.get(name)
    return reader is not None and bool(reader.permission) and user.has_perm(reader.permission)


def results_read(name: str, user, **kwargs: Any) -> Any:
    """What the reader `name` answers; PermissionError when none is registered or the user
    may not see it (denied by default)."""
    if not results_available(name, user):
        raise PermissionError(name)
    return _readers[name].read(**kwargs)
