"""Cursors whose statements PostgreSQL prepares once per connection.

A delivery runs the same dozen statements for every entry (the claim, the breaker, its record,
the call log, the outcome, the followers, the next claim). Django binds parameters on the
client and prepares nothing, so PostgreSQL parsed and planned each of them again every time: a
third of what a delivery cost the database in the sync benchmark, the relay's claim alone
planned in 0.3–0.6 ms. The statements written once as SQL (`core.rows`, the outbox's claim and
followers, the breaker, the slots, the relay requests) run through `prepared_cursor`, which on
PostgreSQL binds on the server and prepares them; everything else keeps Django's client-side
binding (switching the whole ORM to server-side binding broke queries whose parameters have no
type PostgreSQL can infer). Elsewhere, and with DATABASE_PREPARED_STATEMENTS off (a pooler in
transaction mode cannot keep a connection's prepared statements), it is Django's own cursor.
See docs/sync.md, "The relay"."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of `connection` (use it as Django's: `with prepared_cursor(c) as cursor:`)
    whose statements are prepared on PostgreSQL. Debug logging, query counting and Django's
    error wrapping apply as to any cursor."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        return connection.cursor()
    # What BaseDatabaseWrapper.cursor() does, with a cursor class of our own.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _preparing_cursor_class()(connection.connection)
        _register_timezone(connection, cursor)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return connection.make_debug_cursor(cursor)
        return connection.make_cursor(cursor)


@cache
def _preparing_cursor_class() -> type:
    # Imported here: the PostgreSQL backend imports psycopg, which the embedded default
    # never needs to load.
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Binds on the server and prepares every statement on its first run (psycopg keeps
        them per connection, the 100 most recent, and forgets them after a ROLLBACK)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def _register_timezone(connection: BaseDatabaseWrapper, cursor) -> None:
    """As Django's create_cursor: read timestamps in the connection's time zone."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)
