"""Object-level access: which records a user may reach. The one place the admin, the API and the
store forms ask, so a rule never differs between them.

Marketing staff, auditors, API scripts and superusers see every shop's records (their model
permissions still decide what they may do). A store manager sees only records that belong to
their own active shops, whatever model permissions somebody may have given them: each model says
how it belongs to a shop with a `shop_scope` attribute (a lookup path to the shop, "" for the
shop itself); a model without one is not visible to store managers at all."""

from __future__ import annotations

from django.db.models import Model, QuerySet

from core.roles import UNSCOPED_GROUPS

NOT_SHOP_DATA = object()


def user_is_shop_scoped(user) -> bool:
    """True for a store manager (and nobody with a wider role)."""
    if not user.is_authenticated or user.is_superuser:
        return False
    if not hasattr(user, "store_manager"):
        return False
    cached = getattr(user, "_vetrina_unscoped", None)
    if cached is None:
        cached = user.groups.filter(name__in=UNSCOPED_GROUPS).exists()
        user._vetrina_unscoped = cached
    return not cached


def user_shop_ids(user) -> list[int]:
    """The active shops a store manager works in."""
    if not hasattr(user, "store_manager"):
        return []
    return list(user.store_manager.shops.filter(active=True).values_list("pk", flat=True))


def scope_queryset[M: Model](user, queryset: QuerySet[M]) -> QuerySet[M]:
    """The part of `queryset` this user may reach."""
    if not user_is_shop_scoped(user):
        return queryset
    path = getattr(queryset.model, "shop_scope", NOT_SHOP_DATA)
    if path is NOT_SHOP_DATA:
        return queryset.none()
    lookup = f"{path}__in" if path else "pk__in"
    shop_ids = user_shop_ids(user)
    if "__" in path:
        # Through a one-to-many (a customer's cards): filter by ids, so rows never repeat.
        ids = queryset.model._default_manager.filter(**{lookup: shop_ids}).values("pk")
        return queryset.filter(pk__in=ids)
    return queryset.filter(**{lookup: shop_ids})
