"""A customer's story across providers, newest first, each item with its provider status.

Every app adds its items (core.customer_data): this module holds loyalty's own (cards, points,
consent changes, and who changed the customer, their cards and movements: loyalty/audit.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.access import scope_queryset
from core.customer_data import TIMELINE_MAX_ITEMS, TimelineItem, customer_data_timeline
from loyalty.audit import loyalty_audit_timeline
from loyalty.models import ConsentEvent, Customer, FidelityCard, PointMovement


def customer_timeline(*, customer: Customer, user) -> list[TimelineItem]:
    """What `user` may reach of the customer's story (core.access), newest first."""
    return customer_data_timeline(customer=customer, user=user)


def loyalty_timeline(customer: Customer, user) -> list[TimelineItem]:
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
    ).select_related("card")[:TIMELINE_MAX_ITEMS]:
        items.append(
            TimelineItem(
                movement.date,
                _("points"),
                f"{movement.card}: {movement.get_action_display()} {movement.points:+d}",
                movement.get_sync_status_display(),
            )
        )
    for event in scope_queryset(user, ConsentEvent.objects.filter(customer=customer))[
        :TIMELINE_MAX_ITEMS
    ]:
        items.append(
            TimelineItem(
                event.at,
                _("consent"),
                f"{event.get_channel_display()}: {event.get_state_display()} ({event.get_source_display()})",
                "",
            )
        )
    items.extend(loyalty_audit_timeline(customer, user))
    return items
