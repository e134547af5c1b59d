"""A lead upload's results page (core/results.py): leads sent to Wolkvox, confirmed by it
(`total_registers`), refused (sent but not added, where Wolkvox said how many it added), in
chunks that failed, and left out by the consent gate; per day (the day each chunk was answered);
per shop where known (the shop of the card held under the lead's main number,
loyalty.selectors.card_shop_of_number).

One GROUP BY query over the upload's chunks, one reading their lead ids, then one GROUP BY over
the leads per SHOP_QUERY_PARAMETERS ids (a chunk's leads are usually one run of ids, looked up
as a range): a handful of queries for an upload of 100,000 leads, never one per lead."""

from __future__ import annotations

from collections import Counter
from functools import reduce
from operator import or_

from django.db.models import Count, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from callcenter.models import CallRecord, CallUpload, CallUploadChunk
from callcenter.services import records_of
from campaigns.models import Shop
from core.models import SyncStatus
from core.results import Measure, Results, ShopRow, results_days
from loyalty.selectors import card_shop_of_number

SHOP_QUERY_PARAMETERS = 5000  # ids (or range ends) per query: well under SQLite's limit
DAY_KEYS = ("sent", "confirmed", "refused")


def _measures() -> dict[str, Measure]:
    return {
        "leads": Measure("leads", _("leads")),
        "sent": Measure("sent", _("leads sent")),
        "confirmed": Measure("confirmed", _("leads confirmed by Wolkvox")),
        "refused": Measure("refused", _("refused by Wolkvox")),
        "failed": Measure("failed", _("in failed chunks")),
        "excluded": Measure("excluded", _("left out")),
    }


def call_upload_results(*, upload: CallUpload) -> Results:
    """The results of one upload, in the active language."""
    measures = _measures()
    synced = Q(sync_status=SyncStatus.SYNCED)
    day_rows = (
        CallUploadChunk.objects.filter(upload=upload)
        .exclude(sync_status=SyncStatus.PENDING)
        .annotate(day=TruncDate(Coalesce("synced_at", "last_sync_attempt_at")))
        .values("day")
        .annotate(
            sent=Sum("records_count", filter=synced, default=0),
            confirmed=Sum("total_registers", filter=synced, default=0),
            refused=Sum(
                F("records_count") - F("total_registers"),
                filter=synced & Q(total_registers__isnull=False),
                default=0,
            ),
            failed=Sum("records_count", filter=Q(sync_status=SyncStatus.FAILED), default=0),
        )
        .order_by()
    )
    per_day: dict = {}
    totals = Counter()
    for row in day_rows:
        figures = {key: row[key] for key in (*DAY_KEYS, "failed")}
        totals.update(figures)
        if row["day"] is not None:
            per_day.setdefault(row["day"], Counter()).update(figures)
    days = results_days(min(per_day, default=None), max(per_day, default=None))
    shops = _per_shop(upload)
    return Results(
        title=_("Results of %(upload)s") % {"upload": upload},
        totals=[
            (measures["leads"], upload.records_total),
            (measures["sent"], totals["sent"]),
            (measures["confirmed"], totals["confirmed"]),
            (measures["refused"], totals["refused"]),
            (measures["failed"], totals["failed"]),
            (measures["excluded"], sum((upload.excluded or {}).values())),
        ],
        days=days,
        day_measures=[measures[key] for key in DAY_KEYS],
        per_day={key: [per_day.get(day, {}).get(key, 0) for day in days] for key in DAY_KEYS},
        shop_measures=[measures["sent"]],
        shops=shops,
        shop_chart_measures=("sent",),
        day_title=_("Leads sent, confirmed and refused per day"),
        shop_title=_("Leads sent per shop of the card holder"),
        notes=[_("Per shop: the shop of the card held under the lead's main number, if any.")]
        + ([] if totals["sent"] else [_("No chunk answered yet.")]),
    )


def _per_shop(upload: CallUpload) -> list[ShopRow]:
    """Leads of the chunks Wolkvox accepted, per shop of the card under their number."""
    conditions = [
        records_of(ids)
        for ids in CallUploadChunk.objects.filter(
            upload=upload, sync_status=SyncStatus.SYNCED
        ).values_list("record_ids", flat=True)
        if ids
    ]
    counts = Counter()
    for group in _groups(conditions):
        rows = (
            CallRecord.objects.filter(reduce(or_, group))
            .annotate(shop_id=card_shop_of_number(OuterRef("tel1")))
            .values("shop_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts.update({row["shop_id"]: row["n"] for row in rows})
    names = dict(Shop.objects.filter(pk__in=[pk for pk in counts if pk]).values_list("pk", "code"))
    return sorted(
        (
            ShopRow(pk, names.get(pk) or _("unknown (no card)"), {"sent": n})
            for pk, n in counts.items()
        ),
        key=lambda r: (r.shop_id is None, -r.values["sent"], r.label),
    )


def _groups(conditions: list[Q]) -> list[list[Q]]:
    """The conditions in groups of at most SHOP_QUERY_PARAMETERS parameters."""
    groups: list[list[Q]] = []
    size = SHOP_QUERY_PARAMETERS
    for condition in conditions:
        weight = sum(len(v) if isinstance(v, list) else 1 for _k, v in condition.children)
        if size + weight > SHOP_QUERY_PARAMETERS:
            groups.append([])
            size = 0
        groups[-1].append(condition)
        size += weight
    return groups
