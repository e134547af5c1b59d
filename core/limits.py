"""Per-provider concurrency limits that hold across every worker process.

Each provider has N slot rows; taking one is a conditional UPDATE on a free (or expired) row,
which both SQLite (one writer at a time) and PostgreSQL (row lock, re-check after wait) make
atomic. Celery's own rate_limit is per worker and cannot do this."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import ProviderSlot


class SlotsBusy(Exception):
    """Every slot of the provider is taken; try again shortly."""


def provider_concurrency(provider: str) -> int:
    return max(1, int(settings.PROVIDER_CONCURRENCY.get(provider, 4)))


def _ensure_slots(provider: str, count: int) -> bool:
    """Create the provider's missing slot rows; True if there were any."""
    existing = ProviderSlot.objects.filter(provider=provider).count()
    if existing >= count:
        return False
    ProviderSlot.objects.bulk_create(
        [ProviderSlot(provider=provider, index=i) for i in range(count)],
        ignore_conflicts=True,
    )
    return True


def slot_acquire(*, provider: str, lease_seconds: int) -> tuple[int, str] | None:
    """Take one free slot; return (slot id, holder token), or None if all are busy."""
    count = provider_concurrency(provider)
    held = _take_free_slot(provider, count, lease_seconds)
    # The rows are made on first use; counting them only on a miss saves a query a delivery.
    if held is None and _ensure_slots(provider, count):
        held = _take_free_slot(provider, count, lease_seconds)
    return held


def _take_free_slot(provider: str, count: int, lease_seconds: int) -> tuple[int, str] | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    free = Q(holder="") | Q(lease_until__lt=now)
    for slot_id in (
        ProviderSlot.objects.filter(provider=provider, index__lt=count)
        .filter(free)
        .values_list("id", flat=True)
    ):
        with transaction.atomic():
            taken = (
                ProviderSlot.objects.filter(id=slot_id)
                .filter(free)
                .update(holder=token, lease_until=now + timedelta(seconds=lease_seconds))
            )
        if taken:
            return slot_id, token
    return None


def slot_release(*, slot_id: int, token: str) -> None:
    ProviderSlot.objects.filter(id=slot_id, holder=token).update(holder="", lease_until=None)


@contextmanager
def provider_slot(provider: str, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold one of the provider's slots for the duration of the block.

    Waits up to `wait_seconds` for a free slot, then raises SlotsBusy."""
    lease = settings.OUTBOX["LEASE_SECONDS"]
    deadline = time.monotonic() + wait_seconds
    while (held := slot_acquire(provider=provider, lease_seconds=lease)) is None:
        if time.monotonic() >= deadline:
            raise SlotsBusy(provider)
        time.sleep(0.05)
    try:
        yield
    finally:
        slot_release(slot_id=held[0], token=held[1])
