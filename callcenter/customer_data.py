"""The call center's part of a customer's data (core.customer_data): the leads with their number;
registered from CallcenterConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q
from django.utils.translation import gettext as _

from callcenter.models import RECORD_PHONE_FIELDS, RECORD_TEXT_FIELDS, CallRecord
from core.access import scope_queryset
from core.customer_data import (
    TIMELINE_MAX_ITEMS,
    CustomerErasure,
    TimelineItem,
)
from loyalty.models import Customer


def call_leads_export(customer: Customer, user) -> dict[str, Any]:
    leads = scope_queryset(user, CallRecord.objects.filter(tel1=customer.msisdn_digits))
    return {
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
            for lead in leads.select_related("campaign").order_by("id")
        ],
    }


def call_leads_erase(erasure: CustomerErasure) -> list[str]:
    """Wolkvox keeps the leads it was sent: said for the campaigns they may have reached."""
    if uploaded_to := _anonymise_call_leads(erasure.number, erasure.placeholder):
        return [
            _(
                "Wolkvox: the leads with this number sent to campaigns %(campaigns)s cannot be deleted or changed through its API (it can only add leads); ask Wolkvox."
            )
            % {"campaigns": ", ".join(uploaded_to)}
        ]
    return []


def _anonymise_call_leads(number: str, placeholder: str) -> list[str]:
    """Call-center leads: a lead whose main number (tel1) is this one loses every detail (names,
    address, options, email, recall, other numbers) and has the placeholder for tel1 — the
    consent gate never lets an erased customer's placeholder through, so it is not uploaded
    again; any other lead listing the number (tel2…tel10, tel_extra, recall_telephone) loses
    that number. Answers the campaigns (Wolkvox ids) to which any of these leads may have been
    sent: uploaded, or in an upload started after the lead was made."""
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


def call_leads_timeline(customer: Customer, user) -> list[TimelineItem]:
    leads = scope_queryset(user, CallRecord.objects.filter(tel1=customer.msisdn_digits))
    return [
        TimelineItem(
            lead.uploaded_at or lead.created_at,
            _("call center"),
            _("Lead of %(campaign)s") % {"campaign": lead.campaign},
            _("uploaded to Wolkvox") if lead.uploaded_at else _("not uploaded yet"),
        )
        for lead in leads.select_related("campaign")[:TIMELINE_MAX_ITEMS]
    ]
