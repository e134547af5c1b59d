"""Services every synced model shares: push records to their provider again on demand."""

from __future__ import annotations

from collections.abc import Iterable

from core.models import Operation, SyncedModel, SyncStatus
from core.outbox import outbox_enqueue


def records_sync_now(*, objects: Iterable[SyncedModel]) -> int:
    """Queue the current state of each record for the provider (create if it has none yet)."""
    count = 0
    for obj in objects:
        outbox_enqueue(obj=obj, operation=Operation.UPDATE)
        count += 1
    return count


def records_retry_failed(*, objects: Iterable[SyncedModel]) -> int:
    """Queue again only the records whose last sync failed."""
    return records_sync_now(objects=[o for o in objects if o.sync_status == SyncStatus.FAILED])
