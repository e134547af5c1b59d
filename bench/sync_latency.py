"""sync_latency_p50_ms / sync_latency_p95_ms: what a marketing user waits between **Salva** and
*sincronizzato*. Shop changes are made at a steady pace (each one `shop_update`, as the admin's
form saves it), each to a different shop, while Celery beat runs the product's periodic work
(sweeps, status refreshes) beside the worker; a change's latency runs from the commit of its
transaction to the moment the VolantinoPiù sandbox stored the `updateShop` call it led to
(the sandbox record's `updated_at`, written by the sandbox's server process)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial

from django.db import transaction

from bench.environment import celery_beat
from bench.measure import percentile, wait_for_deliveries, wait_until
from bench.sync_overhead import shop_fields
from campaigns.models import Shop
from campaigns.services import shop_create, shop_update
from core.models import Operation, OutboxEntry, OutboxState
from sandbox.knobs import knob_reset
from sandbox.models import SandboxObject

PREFIX = "LAT"


def run(*, changes: int, per_second: float = 20.0) -> dict[str, float]:
    knob_reset(provider="volantinopiu")  # latency 0: what is measured is ours
    shops = [shop_create(**shop_fields(PREFIX, n)) for n in range(changes)]
    ids = [str(shop.pk) for shop in shops]
    entries = OutboxEntry.objects.filter(model_label="campaigns.shop", object_id__in=ids)
    wait_for_deliveries(
        lambda: not entries.exclude(state=OutboxState.DONE).exists(), timeout=300, interval=0.02
    )
    committed: dict[str, float] = {}
    with celery_beat():
        started = time.monotonic()
        for n, shop in enumerate(shops):
            # At the pace asked, not faster when late: a late change is not made sooner.
            time.sleep(max(0.0, started + n / per_second - time.monotonic()))
            with transaction.atomic():
                # Registered first, so it runs at the commit, before the outbox's publish.
                transaction.on_commit(partial(_note, committed, shop.code))
                shop_update(shop=shop, data={"address": f"Via Verdi {n}"})
        updates = entries.filter(operation=Operation.UPDATE)
        wait_until(
            lambda: updates.filter(state=OutboxState.DONE).count() >= changes,
            timeout=120 + changes / per_second,
        )
    stored = SandboxObject.objects.filter(
        provider="volantinopiu", kind="shop", natural_key__in=list(committed)
    ).values_list("natural_key", "updated_at")
    latencies = [(updated_at.timestamp() - committed[code]) * 1000 for code, updated_at in stored]
    if len(latencies) != changes:
        raise RuntimeError(f"{len(latencies)} of {changes} changes reached the sandbox")
    _forget(ids)
    return {
        "sync_latency_p50_ms": percentile(latencies, 0.50),
        "sync_latency_p95_ms": percentile(latencies, 0.95),
        "_sync_latency_max_ms": max(latencies),
    }


def _note(committed: dict[str, float], code: str) -> None:
    committed[code] = datetime.now(UTC).timestamp()


def _forget(ids: list[str]) -> None:
    """The shops made here are not the page benchmarks' chain."""
    OutboxEntry.objects.filter(model_label="campaigns.shop", object_id__in=ids).delete()
    Shop.objects.filter(pk__in=ids).delete()
