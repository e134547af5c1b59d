"""Privacy requests: everything Vetrina holds about a customer, and erasure (anonymisation)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import ConsentEvent, ConsentState, Customer, FidelityCard, PointMovement


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """One JSON-ready document with every record about the customer, by app."""
    from messaging.models import PushInvitation, PushMessage

    number = str(customer.msisdn).lstrip("+")
    cards = FidelityCard.objects.filter(customer=customer).select_related("program", "shop")
    return {
        "exported_at": timezone.now().isoformat(),
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
        "consent_history": [
            {
                "channel": e.channel,
                "state": e.state,
                "source": e.source,
                "text_version": e.text_version,
                "at": e.at.isoformat(),
            }
            for e in ConsentEvent.objects.filter(customer=customer).order_by("at", "id")
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
                    for m in PointMovement.objects.filter(card=card).order_by("date", "id")
                ],
            }
            for card in cards
        ],
        "push_messages": [
            {
                "send": m.send.name,
                "status": m.status,
                "type": m.type,
                "sent_date": m.sent_date.isoformat() if m.sent_date else None,
                "delivery_date": m.delivery_date.isoformat() if m.delivery_date else None,
            }
            for m in PushMessage.objects.filter(msisdn=number).select_related("send").order_by("id")
        ],
        "push_invitations": [
            {"url": i.url, "created_at": i.created_at.isoformat()}
            for i in PushInvitation.objects.filter(msisdn=number)
        ],
    }


def customer_erase(*, customer: Customer, user=None) -> list[str]:
    """Anonymise the customer here and say, provider by provider, what stays there.

    None of the providers' documented APIs can delete a person: AMM has no call to delete a
    card or contact, SMSHosting none to delete sent messages. Those are listed for the DPO to
    ask the providers directly; the point history stays, no longer linked to a person."""
    from messaging.models import PushInvitation, PushMessage

    number = str(customer.msisdn).lstrip("+")
    cards = list(FidelityCard.objects.filter(customer=customer).values_list("code", flat=True))
    not_propagated = []
    if cards:
        not_propagated.append(
            _(
                "AMM: cards %(codes)s and their contact cannot be deleted through AMM's API; ask AMM."
            )
            % {"codes": ", ".join(c for c in cards if c) or "—"}
        )
    if PushMessage.objects.filter(msisdn=number).exists():
        not_propagated.append(
            _(
                "SMSHosting: its log of the messages sent to this number cannot be deleted through its API; ask SMSHosting."
            )
        )
    with transaction.atomic():
        placeholder = f"+999{customer.pk:09d}"  # unique, never a real number
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
        PushMessage.objects.filter(msisdn=number).update(msisdn=placeholder.lstrip("+"))
        PushInvitation.objects.filter(msisdn=number).delete()
        ConsentEvent.objects.filter(customer=customer).update(by=None)
        # Copies of the number or contact kept from providers' answers and send lists.
        FidelityCard.objects.filter(customer=customer).update(remote_data=None)
        _scrub_push_lists(number, placeholder.lstrip("+"))
    customer.refresh_from_db()
    return not_propagated


def _scrub_push_lists(number: str, placeholder: str) -> None:
    """Replace the number in push send lists, batches and their stored answers."""
    from loyalty.services import msisdn_normalise
    from messaging.models import PushBatch, PushSend

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
