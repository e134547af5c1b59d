"""Writes every remote call to the call log, linked to the outbox entry being delivered.

Inside a delivery the calls are kept in memory and written with the delivery's outcome, in its
transaction: on SQLite every write transaction waits its turn for the one writer, so a log row
written on its own cost a delivery more than the row itself. Outside a delivery (a pull, a
status refresh) each call is written at once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.http import CallRecord
from core.models import RemoteCall
from core.rows import Statement, new_row_values, values_statement

logger = logging.getLogger("vetrina.calls")


class EntryCalls:
    """The calls one delivery of an outbox entry made, until `flush` writes them."""

    def __init__(self, entry_id: int) -> None:
        self.entry_id = entry_id
        self.rows: list[list] = []  # each call's row, as its INSERT's values

    def flush(self) -> None:
        """Write the calls kept so far (call it in the outcome's transaction)."""
        statement = self.statement()
        if statement is not None:
            statement.run()

    def statement(self) -> Statement | None:
        """The INSERT of the calls kept so far, ready to run in the outcome's transaction (its
        values converted before it opens); None if there were none. They are no longer kept."""
        rows, self.rows = self.rows, []
        if not rows:
            return None
        return values_statement(RemoteCall, rows)  # once per delivery: SQL built once


_current_calls: ContextVar[EntryCalls | None] = ContextVar("current_entry_calls", default=None)


@contextmanager
def calls_for_entry(calls: EntryCalls) -> Iterator[EntryCalls]:
    """Keep the remote calls made inside this block in `calls`, linked to its outbox entry."""
    token = _current_calls.set(calls)
    try:
        yield calls
    finally:
        _current_calls.reset(token)


def delivering_entry_id() -> int | None:
    """The outbox entry whose delivery is making the current call, if any (a relay delivers
    several entries in one task: the task's own argument does not say which)."""
    calls = _current_calls.get()
    return calls.entry_id if calls is not None else None


def remote_call_record(record: CallRecord) -> None:
    # A 2xx whose answer could not be read (a drift, a garbled body) is not a success.
    ok = record.status is not None and record.status < 300 and not record.error_code
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
    calls = _current_calls.get()
    values = {
        "provider": record.provider,
        "operation": record.operation[:64],
        "method": record.method,
        "path": record.path[:300],
        "status_code": record.status,
        "duration_ms": record.duration_ms,
        "error_code": record.error_code[:64],
        "error": record.error[:2000],
        "answer_shape": record.answer_shape[:2000],
        "ok": ok,
        "outbox_entry_id": calls.entry_id if calls else None,
    }
    if calls is None:
        RemoteCall(**values).save()
    else:  # its row's values, converted now (when it was made): no instance needed
        calls.rows.append(new_row_values(RemoteCall, values))
