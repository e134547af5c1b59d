"""Messaging's part of the admin home (core/dashboard.py): pushes delivered in the last 30
days, and pushes sent and delivered per day.

The sends of the period are found through their indexed creation date (a send is confirmed
after it is made), then their messages are counted per send and status through the
(send, status) index: two small GROUP BY queries, whatever the number of messages."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dashboard import (
    DaySeries,
    Tile,
    admin_list,
    dashboard_chart_register,
    dashboard_days,
    dashboard_since,
    dashboard_tile_register,
    per_day,
)
from messaging.models import PushMessage, PushSend
from messaging.smshosting import DELIVERED, NOT_INSERTED

# How long before its confirmation a send may have been drafted and still be counted.
DRAFTED_BEFORE = timedelta(days=14)


def _messages_per_day() -> tuple[Counter, Counter]:
    """Messages sent and delivered per day the sends were confirmed, last 30 days."""
    since = dashboard_since()
    day_of = {
        pk: timezone.localdate(confirmed)
        for pk, confirmed in PushSend.objects.filter(
            created_at__gte=since - DRAFTED_BEFORE, confirmed_at__gte=since
        ).values_list("pk", "confirmed_at")
    }
    sent, delivered = Counter(), Counter()
    if not day_of:
        return sent, delivered
    rows = (
        PushMessage.objects.filter(send_id__in=list(day_of))
        .values_list("send_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for send_id, status, n in rows:
        day = day_of[send_id]
        if status != NOT_INSERTED:
            sent[day] += n
        if status == DELIVERED:
            delivered[day] += n
    return sent, delivered


def pushes_per_day() -> DaySeries:
    days = dashboard_days()
    sent, delivered = _messages_per_day()
    return DaySeries(
        days=days,
        lines=[
            (_("pushes sent"), per_day(sent, days)),
            (_("pushes delivered"), per_day(delivered, days)),
        ],
        link=admin_list("messaging_pushsend_changelist", status__exact="sent"),
    )


def pushes_tile() -> Tile:
    sent, delivered = _messages_per_day()
    total_sent, total_delivered = sum(sent.values()), sum(delivered.values())
    rate = round(100 * total_delivered / total_sent) if total_sent else 0
    return Tile(
        label=_("Pushes delivered in 30 days"),
        value=total_delivered,
        note=_("%(rate)s%% of %(sent)s sent"),
        note_values={"rate": rate, "sent": total_sent},
        link=admin_list("messaging_pushmessage_changelist", status=DELIVERED),
        tone="good" if total_sent and rate >= 90 else ("bad" if total_sent and rate < 70 else ""),
    )


def messaging_dashboard_register() -> None:
    """From MessagingConfig.ready()."""
    dashboard_tile_register("pushes", pushes_tile, permission="messaging.view_pushmessage")
    dashboard_chart_register(
        "pushes",
        pushes_per_day,
        title=_("Pushes sent and delivered per day, last 30 days"),
        permission="messaging.view_pushsend",
    )
