"""Which shops and cards a store manager may reach: one place, used by every /store/ view."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Shop
from loyalty.models import FidelityCard

STORE_MANAGERS_GROUP = "Store managers"


def store_shops(user) -> QuerySet[Shop]:
    """The active shops this user manages (none for anybody else)."""
    if not user.is_authenticated or not hasattr(user, "store_manager"):
        return Shop.objects.none()
    return user.store_manager.shops.filter(active=True).order_by("code")


def store_cards(user) -> QuerySet[FidelityCard]:
    """Cards enrolled at this user's shops."""
    return FidelityCard.objects.filter(shop__in=store_shops(user)).select_related(
        "customer", "program", "shop"
    )
