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
