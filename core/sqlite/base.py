"""Django's SQLite backend, waiting for the write lock in small steps.

On the embedded default the web server, the worker's processes, beat and the sandbox all write
to one SQLite file, and SQLite lets one writer in at a time. Its own busy handler sleeps 1, 2,
5, 10, 15, 20, 25, … 100 ms between tries, so under contention a write that needs the lock for
a millisecond waits tens: a benchmark of 2,000 shops spent most of its time asleep. Here SQLite
answers "busy" at once and the statement is tried again after 0.25 ms, doubling up to 4 ms,
with jitter, until the configured timeout.

Only statements run outside a transaction are tried again — a lone write, or the BEGIN
IMMEDIATE that opens every atomic block and takes the lock for the whole block — so a retry
never repeats half a transaction."""

from __future__ import annotations

import random
import sqlite3
import time

from django.db.backends.sqlite3 import base

FIRST_PAUSE = 0.00025
LONGEST_PAUSE = 0.004
SQLITE_BUSY_MS = 2
# Its own generator: waiting for a lock must not draw from the global one, which the soak test
# seeds to make the sandbox's fault dice repeatable.
_jitter = random.Random()  # noqa: S311 (jitter, not crypto)


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    deadline_seconds = 30.0

    def execute(self, query, params=None):
        return self._patiently(super().execute, query, params)

    def executemany(self, query, param_list):
        return self._patiently(super().executemany, query, param_list)

    def _patiently(self, run, *args):
        if self.connection.in_transaction:
            return run(*args)  # the transaction holds the lock (BEGIN IMMEDIATE)
        deadline = time.monotonic() + self.deadline_seconds
        pause = FIRST_PAUSE
        while True:
            try:
                return run(*args)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(pause * _jitter.uniform(0.5, 1.5))
            pause = min(pause * 2, LONGEST_PAUSE)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)  # the pragmas wait the full timeout
        # From here SQLite's own handler waits only briefly (a transaction's later statements);
        # the cursor does the patient waiting, in finer steps.
        conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        return conn

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=SQLiteCursorWrapper)
        cursor.deadline_seconds = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        return cursor
