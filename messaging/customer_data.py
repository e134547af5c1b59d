"""Messaging's part of a customer's data (core.customer_data): the pushes sent to their number,
invitations, WhatsApp care requests and orders; registered from MessagingConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import scope_queryset
from core.customer_data import (
    TIMELINE_MAX_ITEMS,
    CustomerErasure,
    TimelineItem,
)
from loyalty.models import Customer
from loyalty.services import msisdn_normalise
from messaging.care import customer_aisac_activity
from messaging.models import (
    CareRequest,
    Order,
    PushBatch,
    PushInvitation,
    PushMessage,
    PushSend,
    message_detail_label,
    message_status_label,
)


def messaging_export(customer: Customer, user) -> dict[str, Any]:
    def reach[M](queryset: QuerySet[M]) -> QuerySet[M]:
        return scope_queryset(user, queryset)

    number = customer.msisdn_digits
    return {
        "push_messages": [
            {
                "send": m.send.name,
                "status": m.status,
                "type": m.type,
                "sent_date": m.sent_date.isoformat() if m.sent_date else None,
                "delivery_date": m.delivery_date.isoformat() if m.delivery_date else None,
            }
            for m in reach(PushMessage.objects.filter(msisdn=number))
            .select_related("send")
            .order_by("id")
        ],
        "push_invitations": [
            {"url": i.url, "created_at": i.created_at.isoformat()}
            for i in reach(PushInvitation.objects.filter(msisdn=number))
        ],
        "care_requests": [
            {
                "type": r.type,
                "subject": r.subject,
                "message": r.message,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
            }
            for r in reach(CareRequest.objects.filter(customer=customer)).order_by("id")
        ],
        "orders": [
            {
                "number": o.number,
                "shop": o.shop.code,
                "total": str(o.total),
                "created_at": o.created_at.isoformat(),
                "lines": [
                    {"sku": line.sku, "name": line.name, "quantity": line.quantity}
                    for line in o.lines.all()
                ],
            }
            for o in reach(Order.objects.filter(customer=customer))
            .select_related("shop")
            .prefetch_related("lines")
            .order_by("id")
        ],
    }


def messaging_erase(erasure: CustomerErasure) -> list[str]:
    """The number leaves the pushes sent to it (the placeholder takes its place), the send lists
    and their stored answers; invitations go. SMSHosting keeps its log of the messages."""
    number, placeholder = erasure.number, erasure.placeholder
    kept = []
    if PushMessage.objects.filter(msisdn=number).exists():
        kept.append(
            _(
                "SMSHosting: its log of the messages sent to this number cannot be deleted through its API; ask SMSHosting."
            )
        )
    PushMessage.objects.filter(msisdn=number).update(msisdn=placeholder)
    PushInvitation.objects.filter(msisdn=number).delete()
    _scrub_push_lists(number, placeholder)
    return kept


def _scrub_push_lists(number: str, placeholder: str) -> None:
    """Replace the number in push send lists, batches and their stored answers."""

    def same(raw) -> bool:
        try:
            return msisdn_normalise(str(raw)).as_e164.lstrip("+") == number
        except ValidationError:
            return False

    tail = number[-9:]
    for send in PushSend.objects.filter(recipients__icontains=tail):
        send.recipients = [placeholder if same(r) else r for r in send.recipients]
        send.save(update_fields=["recipients"])
    for batch in PushBatch.objects.filter(recipients__icontains=tail):
        batch.recipients = [placeholder if r == number else r for r in batch.recipients]
        data = batch.remote_data or {}
        for message in data.get("sms", []):
            if message.get("to") == number:
                message["to"] = placeholder
        batch.remote_data = data or None
        batch.save(update_fields=["recipients", "remote_data"])


def messaging_timeline(customer: Customer, user) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    for message in scope_queryset(
        user, PushMessage.objects.filter(msisdn=customer.msisdn_digits)
    ).select_related("send")[:TIMELINE_MAX_ITEMS]:
        items.append(
            TimelineItem(
                message.delivery_date
                or message.sent_date
                or message.send.confirmed_at
                or message.send.created_at,
                _("push"),
                message.send.name,
                " · ".join(
                    filter(
                        None,
                        [
                            message_status_label(message.status),
                            message_detail_label(message.status_detail),
                        ],
                    )
                ),
            )
        )
    for care in scope_queryset(user, CareRequest.objects.filter(customer=customer))[
        :TIMELINE_MAX_ITEMS
    ]:
        items.append(
            TimelineItem(
                care.created_at,
                _("care request"),
                f"{care.get_type_display()}: {care.subject}",
                " · ".join(filter(None, [care.status, care.get_sync_status_display()])),
            )
        )
    return items


@admin.display(description=gettext_lazy("flows and charges"))
def aisac_activity(customer: Customer) -> str:
    """The customer page's "WhatsApp (Aisac)" section: their flows and charges, read from Aisac."""
    return render_to_string(
        "admin/loyalty/customer/aisac.html",
        {"activity": customer_aisac_activity(customer=customer)},
    )
