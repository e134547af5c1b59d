"""A push send's results page (core/results.py): recipients, delivered, failed and still on
their way; per day (a message counts on the day it was delivered, else on the day it was last
sent or inserted, else on the day the send was confirmed); per shop (the shop of the
recipient's fidelity card, loyalty.selectors.card_shop_of_number).

Three GROUP BY queries over the send's messages, through the (send, status) index, and one
for the shops' names: the same few queries for 10 recipients or 50,000."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Shop
from core.results import Measure, Results, ShopRow, results_days
from loyalty.selectors import card_shop_of_number
from messaging.models import PushMessage, PushSend
from messaging.smshosting import DELIVERED, NOSENT, NOT_INSERTED, NOTDELIVERED

FAILED = (NOT_INSERTED, NOSENT, NOTDELIVERED)  # the rest (accepted, queued, sent) may still arrive


def _measures() -> dict[str, Measure]:
    return {
        "recipients": Measure("recipients", _("recipients")),
        "delivered": Measure("delivered", _("delivered")),
        "failed": Measure("failed", _("undelivered")),
        "pending": Measure("pending", _("on their way")),
    }


def push_send_results(*, send: PushSend) -> Results:
    """The results of one send, in the active language."""
    measures = _measures()
    messages = PushMessage.objects.filter(send=send)
    by_status = {
        row["status"]: row["n"]
        for row in messages.values("status").annotate(n=Count("id")).order_by()
    }
    recipients = sum(by_status.values())
    delivered = by_status.get(DELIVERED, 0)
    failed = sum(by_status.get(status, 0) for status in FAILED)
    totals = {
        "recipients": recipients,
        "delivered": delivered,
        "failed": failed,
        "pending": recipients - delivered - failed,
    }

    day_rows = (
        messages.annotate(day=TruncDate(Coalesce("delivery_date", "sent_date", "insert_date")))
        .values("day")
        .annotate(
            delivered=Count("id", filter=Q(status=DELIVERED)),
            failed=Count("id", filter=Q(status__in=FAILED)),
        )
        .order_by()
    )
    confirmed_day = timezone.localdate(send.confirmed_at) if send.confirmed_at else None
    per_day: dict = {}
    for row in day_rows:
        day = row["day"] or confirmed_day  # a message SMSHosting never dated: the send's day
        if day is None:
            continue
        figures = per_day.setdefault(day, {"delivered": 0, "failed": 0})
        figures["delivered"] += row["delivered"]
        figures["failed"] += row["failed"]
    days = results_days(min(per_day, default=None), max(per_day, default=None))

    shop_rows = list(
        messages.annotate(shop_id=card_shop_of_number(OuterRef("msisdn")))
        .values("shop_id")
        .annotate(
            recipients=Count("id"),
            delivered=Count("id", filter=Q(status=DELIVERED)),
            failed=Count("id", filter=Q(status__in=FAILED)),
        )
        .order_by()
    )
    names = dict(
        Shop.objects.filter(pk__in=[r["shop_id"] for r in shop_rows if r["shop_id"]]).values_list(
            "pk", "code"
        )
    )
    shops = sorted(
        (
            ShopRow(
                row["shop_id"],
                names.get(row["shop_id"]) or _("no card"),
                {key: row[key] for key in ("recipients", "delivered", "failed")},
            )
            for row in shop_rows
        ),
        key=lambda r: (r.shop_id is None, -r.values["recipients"], r.label),
    )
    return Results(
        title=_("Results of %(send)s") % {"send": send},
        totals=[(measures[key], value) for key, value in totals.items()],
        days=days,
        day_measures=[measures["delivered"], measures["failed"]],
        per_day={
            key: [per_day.get(day, {}).get(key, 0) for day in days]
            for key in ("delivered", "failed")
        },
        shop_measures=[measures["recipients"], measures["delivered"], measures["failed"]],
        shops=shops,
        shop_chart_measures=("delivered",),
        day_title=_("Messages delivered and failed per day"),
        shop_title=_("Messages delivered per shop of the recipient's card"),
        notes=[] if recipients else [_("Nothing sent yet: the results fill in once it goes out.")],
    )
