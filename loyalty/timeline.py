"""A customer's story across providers, newest first, each item with its provider status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from core.access import scope_queryset
from loyalty.models import ConsentEvent, Customer, FidelityCard, PointMovement

MAX_ITEMS = 100


@dataclass(frozen=True)
class TimelineItem:
    when: datetime
    kind: str
    text: str
    status: str


def customer_timeline(*, customer: Customer, user) -> list[TimelineItem]:
    """What `user` may reach of the customer's story (core.access), newest first."""
    from messaging.models import PushMessage

    items: list[TimelineItem] = []
    for card in scope_queryset(user, FidelityCard.objects.filter(customer=customer)).select_related(
        "shop"
    ):
        items.append(
            TimelineItem(
                card.created_at,
                _("card"),
                _("Card %(code)s enrolled at %(shop)s") % {"code": card, "shop": card.shop or "—"},
                card.get_sync_status_display(),
            )
        )
    for movement in scope_queryset(
        user, PointMovement.objects.filter(card__customer=customer)
    ).select_related("card")[:MAX_ITEMS]:
        items.append(
            TimelineItem(
                movement.date,
                _("points"),
                f"{movement.card}: {movement.get_action_display()} {movement.points:+d}",
                movement.get_sync_status_display(),
            )
        )
    number = str(customer.msisdn).lstrip("+")
    for message in scope_queryset(user, PushMessage.objects.filter(msisdn=number)).select_related(
        "send"
    )[:MAX_ITEMS]:
        items.append(
            TimelineItem(
                message.delivery_date
                or message.sent_date
                or message.send.confirmed_at
                or message.send.created_at,
                _("push"),
                message.send.name,
                f"{message.status} {message.status_detail}".strip(),
            )
        )
    from callcenter.models import CallRecord
    from messaging.models import CareRequest

    for lead in scope_queryset(user, CallRecord.objects.filter(tel1=number)).select_related(
        "campaign"
    )[:MAX_ITEMS]:
        items.append(
            TimelineItem(
                lead.uploaded_at or lead.created_at,
                _("call center"),
                _("Lead of %(campaign)s") % {"campaign": lead.campaign},
                _("uploaded to Wolkvox") if lead.uploaded_at else _("not uploaded yet"),
            )
        )

    for care in scope_queryset(user, CareRequest.objects.filter(customer=customer))[:MAX_ITEMS]:
        items.append(
            TimelineItem(
                care.created_at,
                _("care request"),
                f"{care.get_type_display()}: {care.subject}",
                " · ".join(filter(None, [care.status, care.get_sync_status_display()])),
            )
        )
    for event in scope_queryset(user, ConsentEvent.objects.filter(customer=customer))[:MAX_ITEMS]:
        items.append(
            TimelineItem(
                event.at,
                _("consent"),
                f"{event.get_channel_display()}: {event.get_state_display()} ({event.get_source_display()})",
                "",
            )
        )
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:MAX_ITEMS]
