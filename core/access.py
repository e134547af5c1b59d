"""Object-level access: which records a user may reach. The one place the admin, the API and the
store forms ask, so a rule never differs between them.

Denied by default. Superusers and members of a wider role (marketing, auditors, API scripts)
see every shop's records (their model permissions still decide what they may do). Everybody
else is *shop-scoped*: they see only records of the active shops their store-manager profile
names — and nothing at all when they have no profile, no active shop, or are not logged in.
Nothing widens access because something is missing: a deleted profile, a deactivated shop or a
user taken out of a group narrows it at the next request.

Each model says how it belongs to a shop with a `shop_scope` attribute (a lookup path to the
shop, "" for the shop itself); a model without one is not visible to scoped users at all."""

from __future__ import annotations

from django.db.models import Model, QuerySet

from core.roles import UNSCOPED_GROUPS

NOT_SHOP_DATA = object()


def user_is_shop_scoped(user) -> bool:
    """True for everybody but active superusers and members of a wider role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return True
    if user.is_superuser:
        return False
    cached = getattr(user, "_vetrina_unscoped", None)
    if cached is None:
        cached = user.groups.filter(name__in=UNSCOPED_GROUPS).exists()
        user._vetrina_unscoped = cached
    return not cached


def user_shop_ids(user) -> list[int]:
    """The active shops a scoped user works in: none without a store-manager profile."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    profile = getattr(user, "store_manager", None)  # None when the profile was deleted
    if profile is None:
        return []
    return list(profile.shops.filter(active=True).values_list("pk", flat=True))


def user_has_no_reach(user) -> bool:
    """A scoped user with no active shop: sees nothing and may do nothing anywhere."""
    return user_is_shop_scoped(user) and not user_shop_ids(user)


def scope_queryset[M: Model](user, queryset: QuerySet[M]) -> QuerySet[M]:
    """The part of `queryset` this user may reach."""
    if not user_is_shop_scoped(user):
        return queryset
    path = getattr(queryset.model, "shop_scope", NOT_SHOP_DATA)
    shop_ids = user_shop_ids(user)
    if path is NOT_SHOP_DATA or not shop_ids:
        return queryset.none()
    lookup = f"{path}__in" if path else "pk__in"
    if "__" in path:
        # Through a one-to-many (a customer's cards): filter by ids, so rows never repeat.
        ids = queryset.model._default_manager.filter(**{lookup: shop_ids}).values("pk")
        return queryset.filter(pk__in=ids)
    return queryset.filter(**{lookup: shop_ids})
