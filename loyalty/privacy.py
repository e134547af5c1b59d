"""Privacy requests: everything Vetrina holds about a customer, and erasure (anonymisation)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import scope_queryset, user_is_shop_scoped
from loyalty.models import ConsentEvent, ConsentState, Customer, FidelityCard, PointMovement


def customer_export(*, customer: Customer, user) -> dict[str, Any]:
    """One JSON-ready document with every record about the customer that `user` may reach
    (core.access): the whole of it for marketing; for a store manager only their shops' cards,
    those cards' movements, and the sends and orders of their shops."""
    from callcenter.models import CallRecord
    from messaging.models import CareRequest, Order, PushInvitation, PushMessage

    number = str(customer.msisdn).lstrip("+")

    def reach[M](queryset: QuerySet[M]) -> QuerySet[M]:
        return scope_queryset(user, queryset)

    cards = reach(FidelityCard.objects.filter(customer=customer)).select_related("program", "shop")
    scoped = user_is_shop_scoped(user)
    return {
        "exported_at": timezone.now().isoformat(),
        "scope": "shops" if scoped else "all",
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
        "call_center_leads": [
            {
                "campaign": lead.campaign.name,
                "source": lead.source,
                "name": lead.customer_name,
                "surname": lead.customer_last_name,
                "email": lead.email,
                "uploaded_at": lead.uploaded_at.isoformat() if lead.uploaded_at else None,
                "created_at": lead.created_at.isoformat(),
            }
            for lead in reach(CallRecord.objects.filter(tel1=number))
            .select_related("campaign")
            .order_by("id")
        ],
    }


def customer_erase(*, customer: Customer, user=None) -> list[str]:
    """Anonymise the customer here and say, provider by provider, what stays there.

    None of the providers' documented APIs can delete a person: AMM has no call to delete a
    card or contact, SMSHosting none to delete sent messages, Wolkvox none to delete or change
    a lead it was sent (add_record only). Those are listed for the DPO to ask the providers
    directly; the point history stays, no longer linked to a person."""
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
        if uploaded_to := _anonymise_call_leads(number, placeholder.lstrip("+")):
            not_propagated.append(
                _(
                    "Wolkvox: the leads with this number sent to campaigns %(campaigns)s cannot be deleted or changed through its API (it can only add leads); ask Wolkvox."
                )
                % {"campaigns": ", ".join(uploaded_to)}
            )
    customer.refresh_from_db()
    return not_propagated


def _anonymise_call_leads(number: str, placeholder: str) -> list[str]:
    """Call-center leads: a lead whose main number (tel1) is this one loses every detail (names,
    address, options, email, recall, other numbers) and has the placeholder for tel1 — the
    consent gate never lets an erased customer's placeholder through, so it is not uploaded
    again; any other lead listing the number (tel2…tel10, tel_extra, recall_telephone) loses
    that number. Answers the campaigns (Wolkvox ids) to which any of these leads may have been
    sent: uploaded, or in an upload started after the lead was made."""
    from django.db.models import F, Q

    from callcenter.models import RECORD_PHONE_FIELDS, RECORD_TEXT_FIELDS, CallRecord

    secondary = [name for name in RECORD_PHONE_FIELDS if name != "tel1"]
    anywhere = Q(tel1=number)
    for name in secondary:
        anywhere |= Q(**{name: number})
    leads = CallRecord.objects.filter(anywhere)
    uploaded_to = sorted(
        set(
            leads.filter(
                Q(uploaded_at__isnull=False) | Q(campaign__uploads__created_at__gte=F("created_at"))
            ).values_list("campaign__remote_campaign_id", flat=True)
        )
    )
    ids = list(leads.values_list("pk", flat=True))
    CallRecord.objects.filter(pk__in=ids, tel1=number).update(
        tel1=placeholder,
        email="",
        recall_date=None,
        **dict.fromkeys(RECORD_TEXT_FIELDS, ""),
        **dict.fromkeys(secondary, ""),
    )
    for name in secondary:
        CallRecord.objects.filter(pk__in=ids, **{name: number}).update(**{name: ""})
    return uploaded_to


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
