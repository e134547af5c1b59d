"""sync_overhead_ratio: shops per second through the whole path (shop_create → outbox →
Celery worker → VolantinoPiù client → sandbox over HTTP) ÷ shops per second of a bare
requests.Session loop making the same addShop calls, same sandbox, same concurrency."""

from __future__ import annotations

import threading
import time

import requests
from django.conf import settings

from bench.measure import fan_out, wait_until
from campaigns.models import Shop
from campaigns.services import shop_create
from campaigns.volantinopiu import ShopData
from core.limits import provider_concurrency
from sandbox.knobs import knob_reset


def _fields(prefix: str, n: int) -> dict:
    return {
        "code": f"{prefix}-{n:06d}",
        "address": f"Via Roma {n}",
        "city": "Milano",
        "postal_code": "20121",
        "province": "MI",
    }


def bare_rate(count: int, concurrency: int, *, prefix: str = "BARE") -> float:
    """addShop calls per second from plain sessions (one per thread, like the client's pool)."""
    url = f"{settings.VOLANTINOPIU_BASE_URL}/addShop"
    headers = {
        "Authorization": f"Bearer {settings.VOLANTINOPIU_TOKEN}",
        "Accept": "application/json",
    }
    sessions: dict[int, requests.Session] = {}

    def call(n: int) -> None:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        body = ShopData(**_fields(prefix, n)).wire()
        response = session.post(url, json=body, headers=headers, timeout=30)
        response.raise_for_status()

    started = time.monotonic()
    fan_out(call, range(count), threads=concurrency)
    return count / (time.monotonic() - started)


def path_rate(count: int, concurrency: int, *, timeout: float) -> float:
    """Shops per second from the first shop_create to the last shop synced."""
    started = time.monotonic()
    fan_out(lambda n: shop_create(**_fields("SYNC", n)), range(count), threads=concurrency)
    synced = Shop.objects.filter(code__startswith="SYNC-", sync_status="synced")
    wait_until(lambda: synced.count() >= count, timeout=timeout, interval=0.05)
    return count / (time.monotonic() - started)


def run(*, shops: int) -> dict[str, float]:
    knob_reset(provider="volantinopiu")  # latency 0
    concurrency = provider_concurrency("volantinopiu")
    bare_rate(min(50, shops), concurrency, prefix="WARM")  # warm the server's processes up
    bare = bare_rate(shops, concurrency)
    path = path_rate(shops, concurrency, timeout=300)
    # Gone before the page benchmarks: their shop filters should list a chain's shops.
    Shop.objects.filter(code__startswith="SYNC-").delete()
    return {
        "sync_overhead_ratio": path / bare,
        "_sync_bare_shops_per_s": bare,
        "_sync_path_shops_per_s": path,
    }
