"""sync_overhead_ratio: shops per second through the whole path (shop_create → outbox →
Celery worker → VolantinoPiù client → sandbox over HTTP) ÷ shops per second of a bare
requests.Session loop making the same addShop calls, same sandbox, same concurrency.

A third figure, the ceiling, bounds what any delivery design could reach on this machine: the
same `shop_create` calls and the same bare calls (in a process of their own, as the worker's
are) at the same time, with nothing delivering — no claim, no outcome, no call log, no Celery
consumer. `sync_ceiling_ratio` is it ÷ the bare rate; `sync_overhead_of_ceiling` is the path ÷
the ceiling (= sync_overhead_ratio ÷ sync_ceiling_ratio), the share of what this machine allows
that the delivery reaches. The three are taken in turns (`ROUNDS`), a share of the shops each."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from functools import partial
from unittest import mock

import requests
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from bench.environment import REPO
from bench.measure import fan_out, wait_for_deliveries
from campaigns.models import Shop
from campaigns.services import shop_create
from campaigns.volantinopiu import ShopData
from core.limits import provider_concurrency
from core.models import OutboxEntry
from core.relay import relay_started
from core.tasks import outbox_deliver_task
from sandbox.knobs import knob_reset


def shop_fields(prefix: str, n: int) -> dict:
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
        body = ShopData(**shop_fields(prefix, n)).wire()
        response = session.post(url, json=body, headers=headers, timeout=30)
        response.raise_for_status()

    started = time.monotonic()
    fan_out(call, range(count), threads=concurrency)
    return count / (time.monotonic() - started)


def path_rate(
    count: int, concurrency: int, *, timeout: float, prefix: str = "SYNC"
) -> tuple[float, int]:
    """Shops per second from the first shop_create to the last shop synced, and how many
    messages the producers published (the relays ask for help from the worker's processes)."""
    published = []
    delay = outbox_deliver_task.delay

    def counted(*args):
        published.append(args)
        return delay(*args)

    started = timezone.now()
    with mock.patch.object(outbox_deliver_task, "delay", counted):
        fan_out(lambda n: shop_create(**shop_fields(prefix, n)), range(count), threads=concurrency)
    synced = Shop.objects.filter(code__startswith=f"{prefix}-", sync_status="synced")
    wait_for_deliveries(lambda: synced.count() >= count, timeout=timeout, interval=0.1)
    # Until the last shop's own synced_at, which the worker wrote as it recorded the outcome
    # (one clock, one machine), not until a poll noticed: the polls neither add their interval
    # to the path nor need to be frequent (each is a count, CPU the path would share).
    last = synced.aggregate(last=Max("synced_at"))["last"]
    return count / (last - started).total_seconds(), len(published)


# The ceiling's entries are published as usual (core.publish, its relay requests included), but
# to a queue no worker reads: publishing is part of what shop_create costs, delivering them is
# what the ceiling leaves out. With no relay ever starting, its producers publish the fewest
# messages they can: the ceiling is the highest the path could reach.
ASIDE_QUEUE = "bench-aside"


def ceiling_rate(count: int, concurrency: int, *, prefix: str = "CALL") -> float:
    """Shops per second when shop_create and bare addShop calls run at once, nothing delivering."""
    calls = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-m", "bench.bare_calls", str(count), str(concurrency), prefix],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if calls.stdout.readline().strip() != "ready":
            raise RuntimeError("The bare calls' process did not start")
        publish_aside = partial(_publish_aside, queue=ASIDE_QUEUE)
        with mock.patch.object(outbox_deliver_task, "delay", publish_aside):
            started = time.monotonic()
            calls.stdin.write("go\n")
            calls.stdin.flush()
            fan_out(
                lambda n: shop_create(**shop_fields("CEIL", n)), range(count), threads=concurrency
            )
            if not calls.stdout.readline().strip():
                raise RuntimeError("The bare calls' process failed")
            elapsed = time.monotonic() - started
    finally:
        calls.kill()
        calls.wait()
    _purge(ASIDE_QUEUE)
    relay_started("volantinopiu")  # the purged relay's request must not hold back the path's
    made = Shop.objects.filter(code__startswith="CEIL-")
    ids = [str(pk) for pk in made.values_list("pk", flat=True)]
    OutboxEntry.objects.filter(model_label="campaigns.shop", object_id__in=ids).delete()
    made.delete()
    return count / elapsed


def _publish_aside(*args, queue: str) -> None:
    outbox_deliver_task.apply_async(args, queue=queue)


def _purge(queue: str) -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


# The three rates are taken in turn, a share of the shops each, ROUNDS times, and each is its
# shops over its seconds in all. Measured once each, one after the other, a ratio of two of
# them took whatever this shared host did in between: the same code gave ceiling ratios of
# 0.85 and 1.00 in two full runs (the bare loop slow in one). In turns, a slow minute of the
# host falls on all three alike.
ROUNDS = 4


def run(*, shops: int) -> dict[str, float]:
    knob_reset(provider="volantinopiu")  # latency 0
    concurrency = provider_concurrency("volantinopiu")
    bare_rate(min(50, shops), concurrency, prefix="WARM")  # warm the server's processes up
    share = max(1, shops // ROUNDS)
    seconds = {"bare": 0.0, "ceiling": 0.0, "path": 0.0}
    messages = 0
    for round_ in range(ROUNDS):
        rates = {
            "bare": bare_rate(share, concurrency, prefix=f"BARE{round_}"),
            "ceiling": ceiling_rate(share, concurrency, prefix=f"CALL{round_}"),
        }
        rates["path"], published = path_rate(
            share, concurrency, timeout=300, prefix=f"SYNC{round_}"
        )
        messages += published
        for name, rate in rates.items():
            seconds[name] += share / rate
        shown = ", ".join(f"{name} {rate:.0f}" for name, rate in rates.items())
        print(f"… round {round_ + 1} of {ROUNDS}: {shown} shops/s", file=sys.stderr, flush=True)
    bare, ceiling, path = (ROUNDS * share / seconds[name] for name in ("bare", "ceiling", "path"))
    # Gone before the page benchmarks: their shop filters should list a chain's shops.
    Shop.objects.filter(code__startswith="SYNC").delete()
    return {
        "sync_overhead_ratio": path / bare,
        "_sync_bare_shops_per_s": bare,
        "_sync_path_shops_per_s": path,
        "_sync_path_messages_published": messages,
        "_sync_ceiling_shops_per_s": ceiling,
        "sync_ceiling_ratio": ceiling / bare,
        # How much of what this machine allows the delivery reaches (1: delivery costs nothing).
        "sync_overhead_of_ceiling": path / ceiling,
    }
