"""Writes every remote call to the call log, linked to the outbox entry being delivered."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from core.http import CallRecord
from core.models import RemoteCall

logger = logging.getLogger("vetrina.calls")
_current_entry_id: ContextVar[int | None] = ContextVar("current_outbox_entry", default=None)


@contextmanager
def calls_for_entry(entry_id: int):
    """Link the remote calls made inside this block to an outbox entry."""
    token = _current_entry_id.set(entry_id)
    try:
        yield
    finally:
        _current_entry_id.reset(token)


def remote_call_record(record: CallRecord) -> None:
    ok = record.status is not None and record.status < 300
    logger.info(
        "%s %s %s %s → %s in %d ms %s",
        record.provider,
        record.operation,
        record.method,
        record.path,
        record.status or "-",
        record.duration_ms,
        record.error_code,
    )
    RemoteCall.objects.create(
        provider=record.provider,
        operation=record.operation[:64],
        method=record.method,
        path=record.path[:300],
        status_code=record.status,
        duration_ms=record.duration_ms,
        error_code=record.error_code[:64],
        error=record.error[:2000],
        ok=ok,
        outbox_entry_id=_current_entry_id.get(),
    )
