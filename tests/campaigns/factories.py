import itertools

from campaigns.services import shop_create

_codes = itertools.count(1)


def shop_fields(**overrides) -> dict:
    number = next(_codes)
    return {
        "code": f"PV{number:04d}",
        "address": f"Via Roma {number}",
        "city": "Milano",
        "postal_code": "20121",
        "province": "MI",
        "latitude": "45.464211",
        "longitude": "9.191383",
        "email": f"pv{number}@example.com",
        "url": "https://example.com/negozi",
        "description": f"Punto vendita {number}",
        **overrides,
    }


def make_shop(**overrides):
    return shop_create(**shop_fields(**overrides))


def make_media(**overrides):
    from campaigns.services import media_create
    from tests.campaigns.images import image_upload

    return media_create(file=overrides.pop("file", None) or image_upload(), **overrides)


def campaign_fields(shop, **overrides) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    kind = overrides.get("kind", "template")
    fields = {
        "kind": kind,
        "shop": shop,
        "date_send": (timezone.now() + timedelta(days=7)).replace(microsecond=0),
        "promo_name": "Sottocosto di primavera",
        "image_url": "https://cdn.example.com/volantino.jpg",
    }
    if kind == "flyer":
        fields["flyer_link"] = "https://example.com/volantino.pdf"
    else:
        fields["link"] = "https://example.com/promo"
        fields["template_name"] = "promo_settimanale"
    fields.update(overrides)
    return fields


def make_campaign(shop, **overrides):
    from campaigns.services import campaign_create

    return campaign_create(**campaign_fields(shop, **overrides))
