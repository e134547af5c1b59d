"""Loyalty's side of the audit trail (core/audit.py): the records it follows, a customer's
entries on their timeline, and the customer taken out of the trail when they are erased."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.utils.translation import gettext as _

from core.access import scope_queryset
from core.audit import (
    AuditEvent,
    audit_author,
    audit_changed_fields,
    audit_entries_of,
    audit_event,
    audit_register,
    audit_scrub,
    audit_what,
)
from core.customer_data import TIMELINE_MAX_ITEMS, TimelineItem
from loyalty.models import (
    Audience,
    Customer,
    CustomerTag,
    DoNotCall,
    FidelityCard,
    PointMovement,
    Reward,
)


def loyalty_audit_register() -> None:
    """From LoyaltyConfig.ready(): what marketing, the counter and the API change."""
    audit_register(Customer, m2m=("tags",))
    audit_register(CustomerTag)
    audit_register(Audience)
    # Not the balances: `points` follows the movements (each one an entry of its own), and
    # `remote_points` is AMM's figure, read back by the worker.
    audit_register(FidelityCard, exclude=("points", "remote_points"))
    # The reference and first-sent time are the sync's own bookkeeping.
    audit_register(PointMovement, exclude=("reference", "sent_at"))
    audit_register(Reward)
    audit_register(DoNotCall, exclude=("imported_at",))


def loyalty_audit_timeline(customer: Customer, user) -> list[TimelineItem]:
    """Who created or changed the customer, their cards and their movements (those `user`
    reaches, core.access), for whoever may read the audit trail."""
    if user is None or not user.has_perm("auditlog.view_logentry"):
        return []
    cards = scope_queryset(user, FidelityCard.objects.filter(customer=customer)).values("pk")
    movements = scope_queryset(user, PointMovement.objects.filter(card__customer=customer))
    entries = audit_entries_of(
        {
            Customer: [customer.pk],
            FidelityCard: cards,
            PointMovement: movements.values("pk"),
        }
    )[:TIMELINE_MAX_ITEMS]
    return [
        TimelineItem(
            entry.timestamp,
            _("audit trail"),
            _timeline_text(entry),
            "",
        )
        for entry in entries
    ]


def _timeline_text(entry) -> str:
    """ "anna: changed Sara Conti (surname, email)"; a creation or an event without its fields."""
    is_change = entry.action == LogEntry.Action.UPDATE and not entry.additional_data
    fields = audit_changed_fields(entry) if is_change else ""
    text = _("%(who)s: %(what)s %(record)s") % {
        "who": audit_author(entry),
        "what": audit_what(entry),
        "record": entry.object_repr,
    }
    return f"{text} ({fields})" if fields else text


def customer_audit_erase(*, customer: Customer, placeholder: str, user=None) -> None:
    """Part of the erasure (loyalty.privacy.customer_erase), in its transaction: the customer's
    number, email and details leave the trail (the entries stay, saying who changed which
    field and when), then the erasure itself is recorded, with who asked for it. `customer`
    still holds the details being erased."""
    number = customer.msisdn_digits
    national = str(getattr(customer.msisdn, "national_number", "") or "")
    audit_scrub(
        instance=customer,
        placeholder=placeholder,
        # The number as E.164 first, then its digits and national form wherever they stand.
        texts=[f"+{number}", number, national if len(national) >= 6 else "", customer.email],
    )
    customer.refresh_from_db()
    audit_event(instance=customer, event=AuditEvent.ERASED, user=user)
