"""Which shops and records a store manager may reach at the counter. The rule itself lives in
core.access (shared with the admin and the API); this module picks what /store/ shows."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Shop
from core.access import scope_queryset, user_shop_ids
from core.roles import STORE_MANAGER
from loyalty.models import FidelityCard
from store.models import FlyerRequest

STORE_MANAGERS_GROUP = STORE_MANAGER.group


def store_shops(user) -> QuerySet[Shop]:
    """The active shops this user manages (none for anybody else)."""
    return Shop.objects.filter(pk__in=user_shop_ids(user)).order_by("code")


def store_cards(user) -> QuerySet[FidelityCard]:
    """Cards enrolled at this user's shops."""
    cards = FidelityCard.objects.filter(shop__in=store_shops(user))
    return scope_queryset(user, cards).select_related("customer", "program", "shop")


def store_flyer_requests(user) -> QuerySet[FlyerRequest]:
    """Flyer requests of this user's shops, newest first."""
    requests = FlyerRequest.objects.filter(shop__in=store_shops(user))
    return scope_queryset(user, requests).select_related("shop").order_by("-created_at")
