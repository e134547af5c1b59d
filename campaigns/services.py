"""The only way to change campaigns data: the admin, the store forms and the API call these."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from campaigns.models import Shop
from campaigns.volantinopiu import SHOP_DATA_FIELDS
from core.models import Operation
from core.outbox import outbox_enqueue

SHOP_EDITABLE_FIELDS = SHOP_DATA_FIELDS


def shop_create(
    *,
    code: str,
    address: str,
    city: str,
    postal_code: str = "",
    province: str = "",
    latitude: Any = None,
    longitude: Any = None,
    email: str = "",
    url: str = "",
    description: str = "",
) -> Shop:
    """Create a shop and queue it for VolantinoPiù. Raises ValidationError on bad input."""
    shop = Shop(
        code=code,
        address=address,
        city=city,
        postal_code=postal_code,
        province=province,
        latitude=latitude,
        longitude=longitude,
        email=email,
        url=url,
        description=description,
    )
    shop.full_clean()
    with transaction.atomic():
        shop.save()
        outbox_enqueue(obj=shop, operation=Operation.CREATE)
    return shop


def shop_update(*, shop: Shop, data: dict[str, Any]) -> Shop:
    """Change some fields of a shop; queue an update only if something really changed."""
    unknown = set(data) - set(SHOP_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    stored = Shop.objects.get(pk=shop.pk)
    for name, value in data.items():
        setattr(shop, name, value)
    shop.full_clean()
    changed = [
        name for name in SHOP_EDITABLE_FIELDS if getattr(stored, name) != getattr(shop, name)
    ]
    if not changed:
        return shop
    with transaction.atomic():
        shop.save(update_fields=[*changed, "updated_at"])
        outbox_enqueue(obj=shop, operation=Operation.UPDATE)
    return shop


def shop_delete(*, shop: Shop) -> None:
    """Delete a shop here and, through the outbox, at VolantinoPiù."""
    with transaction.atomic():
        outbox_enqueue(obj=shop, operation=Operation.DELETE)
        shop.delete()
