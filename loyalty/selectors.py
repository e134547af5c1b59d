"""Reads of loyalty's records used by more than one caller (the admin's dashboard, …)."""

from __future__ import annotations

from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat

from loyalty.audiences import audience_rules_customers
from loyalty.models import Audience, Customer, FidelityCard


def audience_customers(audience: Audience) -> QuerySet[Customer]:
    """The customers an audience picks now (loyalty.audiences), each once, erased ones never.
    Consent is not a rule: each channel applies its own gate to this queryset (e.g.
    `.filter(consent_push_sms="given")`), and `.count()` answers within the benchmark's bound."""
    return audience_rules_customers(audience.rules)


def card_shop_of_number(number: F | OuterRef) -> Subquery:
    """The shop of the first card (with a shop) of the customer with this number, for rows
    that keep a number as pushes and leads do (international digits, no "+"): a subquery to
    annotate them with, e.g. `.annotate(shop_id=card_shop_of_number(OuterRef("msisdn")))`,
    then GROUP BY it. Each row is one look-up through the customers' unique number and the
    cards' customer index; None when nobody holds a card under that number."""
    return Subquery(
        FidelityCard.objects.filter(
            customer__msisdn=Concat(Value("+"), number, output_field=CharField()),
            shop__isnull=False,
        )
        .order_by("id")
        .values("shop_id")[:1]
    )
