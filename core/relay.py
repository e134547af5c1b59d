"""Whether a commit must publish a delivery task, or a relay already queued will take its entry.

A delivery task is a relay (core.outbox.outbox_relay): it delivers the entry it was published
for, then keeps claiming its provider's due entries until none is left. Celery's own work per
message (the broker, the hand-over to a pool child, the ack) cost a worker more CPU than the
delivery itself, so one message for a queue of changes is what lets a burst of edits reach the
provider near this machine's ceiling, while a lone change still goes out at once.

The rule, per provider, kept in one row (`core.RelayRequest`, beside the provider slots):

- publishing sets `requested_at` unless a request is already there and fresh: then a relay is
  queued and has not started, and it will claim this entry, since its first claim comes after it
  starts, which is after this commit (`relay_request` returns None: nothing to publish);
- a relay clears the request as it starts, before its first claim (`relay_started`);
- a publish the broker refused takes its request back (`relay_request_withdraw`): the entry waits
  for the sweeper, as before, and the next commit tries again;
- a request older than `REQUEST_FRESH_SECONDS` counts as lost (a message the broker dropped):
  the next commit publishes again. While a relay only waits behind others in the queue, this
  adds at most one message a provider per that many seconds.

Written as SQL on the slots' connection (a SQLite file of its own on the embedded default),
outside any business transaction: every commit that queues an entry runs `relay_request`. It
reads first: during a burst a relay is almost always queued already, and a read takes no write
lock, where the conditional write it replaces took SQLite's (or a PostgreSQL row lock) to
change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from core.prepared import prepared_cursor
from core.routers import slots_connection

REQUEST_FRESH_SECONDS = 1.0

# Inserted on a provider's first request, then updated only while no fresh request is there:
# RETURNING says whether this statement wrote it (no row back: a relay is already queued).
_REQUEST_SQL = """
    INSERT INTO core_relayrequest (provider, requested_at) VALUES (%s, %s)
    ON CONFLICT (provider) DO UPDATE SET requested_at = excluded.requested_at
    WHERE core_relayrequest.requested_at IS NULL OR core_relayrequest.requested_at < %s
    RETURNING provider
"""
# A fresh request is there: a relay is queued and has not started (the write would change nothing).
_QUEUED_SQL = """
    SELECT 1 FROM core_relayrequest WHERE provider = %s AND requested_at >= %s
"""
_STARTED_SQL = """
    UPDATE core_relayrequest SET requested_at = NULL
    WHERE provider = %s AND requested_at IS NOT NULL
"""
_WITHDRAW_SQL = """
    UPDATE core_relayrequest SET requested_at = NULL WHERE provider = %s AND requested_at = %s
"""


def relay_request(provider: str) -> datetime | None:
    """Ask for a relay of `provider`: the request's time if the caller must publish one, None
    if a relay is already queued and has not started (it will claim the caller's entry)."""
    now = timezone.now()
    connection = slots_connection()
    adapt = connection.ops.adapt_datetimefield_value
    stale = now - timedelta(seconds=REQUEST_FRESH_SECONDS)
    with prepared_cursor(connection) as cursor:
        cursor.execute(_QUEUED_SQL, [provider, adapt(stale)])
        if cursor.fetchone():
            return None
        cursor.execute(_REQUEST_SQL, [provider, adapt(now), adapt(stale)])
        return now if cursor.fetchone() else None


def relay_started(provider: str) -> None:
    """A relay of `provider` starts: from now on, a commit publishes again."""
    with prepared_cursor(slots_connection()) as cursor:
        cursor.execute(_STARTED_SQL, [provider])


def relay_request_withdraw(provider: str, requested_at: datetime) -> None:
    """The broker refused the message: no relay is queued after all."""
    connection = slots_connection()
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            _WITHDRAW_SQL, [provider, connection.ops.adapt_datetimefield_value(requested_at)]
        )
