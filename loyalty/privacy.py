"""Privacy requests: everything Vetrina holds about a customer, and erasure (anonymisation).

The customer is this app's; the other apps' records about them (pushes, care requests, orders,
call-center leads) are their parts of the customer's data (core.customer_data), registered from
their `AppConfig.ready()`. This module holds loyalty's own part: consent history and cards."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import scope_queryset, user_is_shop_scoped
from core.customer_data import CustomerErasure, customer_data_erase, customer_data_export
from loyalty.audit import customer_audit_erase
from loyalty.models import ConsentEvent, ConsentState, Customer, FidelityCard, PointMovement


def customer_export(*, customer: Customer, user) -> dict[str, Any]:
    """One JSON-ready document with every record about the customer that `user` may reach
    (core.access): the whole of it for marketing; for a store manager only their shops' cards,
    those cards' movements, and the sends and orders of their shops. Each app's part adds its
    sections (core.customer_data)."""
    return {
        "exported_at": timezone.now().isoformat(),
        "scope": "shops" if user_is_shop_scoped(user) else "all",
        "customer": {
            "id": customer.pk,
            "msisdn": str(customer.msisdn),
            "name": customer.name,
            "surname": customer.surname,
            "email": customer.email,
            "created_at": customer.created_at.isoformat(),
            "consent": {
                "push_sms": customer.consent_push_sms,
                "whatsapp": customer.consent_whatsapp,
                "calls": customer.consent_calls,
            },
        },
        **customer_data_export(customer=customer, user=user),
    }


def loyalty_export(customer: Customer, user) -> dict[str, Any]:
    """Loyalty's part of the export: consent history, cards and their movements."""

    def reach[M](queryset: QuerySet[M]) -> QuerySet[M]:
        return scope_queryset(user, queryset)

    cards = reach(FidelityCard.objects.filter(customer=customer)).select_related("program", "shop")
    return {
        "consent_history": [
            {
                "channel": e.channel,
                "state": e.state,
                "source": e.source,
                "text_version": e.text_version,
                "at": e.at.isoformat(),
            }
            for e in reach(ConsentEvent.objects.filter(customer=customer)).order_by("at", "id")
        ],
        "fidelity_cards": [
            {
                "program": card.program.name,
                "code": card.code,
                "shop": card.shop.code if card.shop_id else None,
                "points": card.points,
                "active": card.active,
                "activation_date": card.activation_date.isoformat()
                if card.activation_date
                else None,
                "movements": [
                    {
                        "action": m.action,
                        "points": m.points,
                        "amount": str(m.amount) if m.amount is not None else None,
                        "reward_id": m.reward_id,
                        "note": m.note,
                        "date": m.date.isoformat(),
                    }
                    for m in reach(PointMovement.objects.filter(card=card)).order_by("date", "id")
                ],
            }
            for card in cards
        ],
    }


def customer_erase(*, customer: Customer, user=None) -> list[str]:
    """Anonymise the customer here and say, provider by provider, what stays there.

    None of the providers' documented APIs can delete a person: AMM has no call to delete a
    card or contact, SMSHosting none to delete sent messages, Wolkvox none to delete or change
    a lead it was sent (add_record only). Those are listed for the DPO to ask the providers
    directly; the point history stays, no longer linked to a person. Every app's part erases
    its own records (core.customer_data), all in one transaction."""
    number = customer.msisdn_digits
    placeholder = f"+999{customer.pk:09d}"  # unique, never a real number
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            msisdn=placeholder,
            name="",
            surname="",
            email="",
            consent_push_sms=ConsentState.WITHDRAWN,
            consent_whatsapp=ConsentState.WITHDRAWN,
            consent_calls=ConsentState.WITHDRAWN,
            erased_at=timezone.now(),
        )
        not_propagated = customer_data_erase(
            CustomerErasure(customer=customer, number=number, placeholder=placeholder.lstrip("+"))
        )
        # Last: the trail loses their details, and says who erased them.
        customer_audit_erase(customer=customer, placeholder=placeholder, user=user)
    customer.refresh_from_db()
    return not_propagated


def loyalty_erase(erasure: CustomerErasure) -> list[str]:
    """Loyalty's part of the erasure: consent events lose who recorded them, cards the copies
    of AMM's answers (which hold the number and contact), the customer their tags (what
    marketing said about them). AMM keeps the cards and contact."""
    customer = erasure.customer
    cards = list(FidelityCard.objects.filter(customer=customer).values_list("code", flat=True))
    ConsentEvent.objects.filter(customer=customer).update(by=None)
    Customer.tags.through.objects.filter(customer_id=customer.pk).delete()
    FidelityCard.objects.filter(customer=customer).update(remote_data=None)
    if not cards:
        return []
    return [
        _("AMM: cards %(codes)s and their contact cannot be deleted through AMM's API; ask AMM.")
        % {"codes": ", ".join(c for c in cards if c) or "—"}
    ]
