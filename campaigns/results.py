"""A flyer campaign's results page (core/results.py): the points redeemed in its shops during
its dates against the four weeks before, per shop and per day.

Its shops: the campaign's own, and those of the other flyers of the same chain-wide campaign.
Its dates: FLYER_DAYS from the day it was sent (up to today while it runs), compared per week
with the BEFORE_DAYS before it. The points are loyalty's, which campaigns may not import: they
come through core.results' registry ("campaign_points", loyalty/campaign_results.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignKind, Shop
from core.access import scope_queryset
from core.results import Measure, Results, ShopRow, results_days, results_read

FLYER_DAYS = 14
BEFORE_DAYS = 28
READER = "campaign_points"


def campaign_shops(campaign: Campaign, user):
    """The shops the campaign ran in that `user` may see."""
    shops = Shop.objects.filter(pk=campaign.shop_id)
    if campaign.batch_id:
        siblings = Campaign.objects.filter(batch_id=campaign.batch_id, kind=CampaignKind.FLYER)
        shops = Shop.objects.filter(pk__in=siblings.values("shop_id"))
    return scope_queryset(user, shops).order_by("code")


def campaign_results(*, campaign: Campaign, user) -> Results:
    """The results of a flyer campaign, in the active language. PermissionError when `user`
    may not see the points (core.results.results_read)."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(campaign.date_send), time.min))
    before = start - timedelta(days=BEFORE_DAYS)
    end = min(start + timedelta(days=FLYER_DAYS), timezone.now())
    shops = list(campaign_shops(campaign, user).values_list("pk", "code"))
    figures = results_read(
        READER,
        user,
        shop_ids=[pk for pk, _code in shops],
        before=before,
        start=start,
        end=max(end, start),
    )
    weeks_during = max((end - start).total_seconds(), 0) / timedelta(days=7).total_seconds()
    weeks_before = BEFORE_DAYS / 7

    def per_week(points: int, weeks: float) -> float:
        return round(points / weeks, 1) if weeks else 0

    rows = []
    for pk, code in shops:
        shop = figures["shops"].get(pk, {"during": 0, "before": 0})
        rows.append(
            ShopRow(
                pk,
                code,
                {
                    "during": shop["during"],
                    "before": shop["before"],
                    "during_week": per_week(shop["during"], weeks_during),
                    "before_week": per_week(shop["before"], weeks_before),
                },
            )
        )
    during = sum(row.values["during"] for row in rows)
    before_points = sum(row.values["before"] for row in rows)
    during_week, before_week = per_week(during, weeks_during), per_week(before_points, weeks_before)
    measures = {
        "during": Measure("during", _("points redeemed during the campaign")),
        "before": Measure("before", _("points redeemed in the four weeks before")),
        "during_week": Measure("during_week", _("per week, during")),
        "before_week": Measure("before_week", _("per week, the four weeks before")),
        "change": Measure("change", _("change per week (%)")),
        "redeemed": Measure("redeemed", _("points redeemed")),
    }
    started = end > start
    change = (
        round(100 * (during_week - before_week) / before_week) if started and before_week else 0
    )
    days = results_days(timezone.localdate(before), timezone.localdate(end - timedelta(seconds=1)))
    notes = [
        _(
            "Campaign dates: %(first)s to %(last)s (%(days)d days from the send date), against "
            "%(before)s to %(before_last)s."
        )
        % {
            "first": date_format(timezone.localdate(start)),
            "last": date_format(timezone.localdate(start) + timedelta(days=FLYER_DAYS - 1)),
            "days": FLYER_DAYS,
            "before": date_format(timezone.localdate(before)),
            "before_last": date_format(timezone.localdate(start) - timedelta(days=1)),
        }
    ]
    if not started:
        notes.append(_("The campaign has not started yet: nothing to compare."))
    return Results(
        title=_("Results of %(campaign)s") % {"campaign": campaign.promo_name},
        totals=[
            (measures[key], value)
            for key, value in (
                ("during", during),
                ("before", before_points),
                ("during_week", during_week),
                ("before_week", before_week),
                ("change", change),
            )
        ],
        days=days,
        day_measures=[measures["redeemed"]],
        per_day={"redeemed": [figures["days"].get(day, 0) for day in days]},
        shop_measures=[measures[k] for k in ("during", "before", "during_week", "before_week")],
        shops=rows,
        shop_chart_measures=("during_week", "before_week"),
        day_title=_("Points redeemed per day in the campaign's shops"),
        shop_title=_("Points redeemed per week, per shop: during the campaign and before"),
        notes=notes,
    )
