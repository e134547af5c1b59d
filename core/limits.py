"""Per-provider concurrency limits that hold across every worker process.

Each provider has N slot rows; taking one is a conditional UPDATE on a free (or expired) row,
which both SQLite (one writer at a time) and PostgreSQL (row lock, re-check after wait) make
atomic. Celery's own rate_limit is per worker and cannot do this. The holder token is the
receipt: releasing is an UPDATE of the row it holds."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import ProviderSlot
from core.prepared import prepared_cursor
from core.routers import slots_atomic, slots_connection


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


def slot_acquire(*, provider: str, lease_seconds: int) -> str | None:
    """Take one free slot; return the holder token, or None if all are busy."""
    count = provider_concurrency(provider)
    token = _take_first_free(provider, count, lease_seconds) or _take_any_free(
        provider, count, lease_seconds
    )
    # The rows are made on first use; counting them only on a miss saves a query a delivery.
    if token is None and _ensure_slots(provider, count):
        token = _take_any_free(provider, count, lease_seconds)
    return token


def slot_looks_free(*, provider: str) -> bool:
    """A read (no write lock taken): worth trying `slot_acquire`? For a delivery waiting its
    turn, which would otherwise try a write, then two reads, a hundred times a second.

    Written as SQL, not built by the ORM: a waiting delivery asks this hundreds of times a
    second, and compiling the query cost ten times more than running it (its CPU is taken
    from the chunks in flight and being prepared)."""
    count = provider_concurrency(provider)
    connection = slots_connection()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with prepared_cursor(connection) as cursor:
        cursor.execute(_LOOKS_FREE_SQL, [now, provider, count])
        rows, free = cursor.fetchone()
    return (free or 0) > 0 or rows < count


_LOOKS_FREE_SQL = """
    SELECT COUNT(*), SUM(CASE WHEN holder = '' OR lease_until < %s THEN 1 ELSE 0 END)
    FROM core_providerslot WHERE provider = %s AND "index" < %s
"""


def _free(now) -> Q:
    return Q(holder="") | Q(lease_until__lt=now)


def _take_first_free(provider: str, count: int, lease_seconds: int) -> str | None:
    """One statement: the first free slot, if no one took it meanwhile. SQL, like
    `slot_looks_free`: every delivery runs it, and the ORM took longer to build it than the
    database to run it."""
    token, now = uuid.uuid4().hex, timezone.now()
    connection = slots_connection()
    adapt = connection.ops.adapt_datetimefield_value
    lease_until, now = adapt(now + timedelta(seconds=lease_seconds)), adapt(now)
    with prepared_cursor(connection) as cursor:
        cursor.execute(_TAKE_FIRST_FREE_SQL, [token, lease_until, provider, count, now, now])
        return token if cursor.rowcount else None


# On PostgreSQL a worker that waited for another's row lock re-checks "free" and misses: it
# then tries the other slots (_take_any_free).
_TAKE_FIRST_FREE_SQL = """
    UPDATE core_providerslot SET holder = %s, lease_until = %s
    WHERE id = (
        SELECT id FROM core_providerslot
        WHERE provider = %s AND "index" < %s AND (holder = '' OR lease_until < %s)
        ORDER BY "index" LIMIT 1
    ) AND (holder = '' OR lease_until < %s)
"""


def _take_any_free(provider: str, count: int, lease_seconds: int) -> str | None:
    """Try each free slot in turn: on PostgreSQL two workers may have aimed at the same first
    free slot, and the one that waited for the other's row lock finds it taken."""
    token, now = uuid.uuid4().hex, timezone.now()
    for slot_id in (
        ProviderSlot.objects.filter(provider=provider, index__lt=count)
        .filter(_free(now))
        .values_list("id", flat=True)
    ):
        with slots_atomic():
            taken = (
                ProviderSlot.objects.filter(id=slot_id)
                .filter(_free(now))
                .update(holder=token, lease_until=now + timedelta(seconds=lease_seconds))
            )
        if taken:
            return token
    return None


def slot_release(*, token: str) -> None:
    with prepared_cursor(slots_connection()) as cursor:
        cursor.execute(_RELEASE_SQL, [token])


_RELEASE_SQL = "UPDATE core_providerslot SET holder = '', lease_until = NULL WHERE holder = %s"
