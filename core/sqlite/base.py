"""Django's SQLite backend, its writers queueing for the write lock instead of polling for it.

On the embedded default the web server, the worker's processes, beat and the sandbox all write
to SQLite files, and SQLite lets one writer in at a time. It has no queue: a writer that finds
the lock taken can only sleep and try again (its own busy handler sleeps 1, 2, 5, 10 … 100 ms;
ours tried after 0.25 ms, doubling to 4 ms), so the lock sat free while the next writer slept,
and every try cost a wake-up. Here every write of ours first takes a place in a queue kept by
the kernel, one per database file (`<file>.writelock`):

- inside a process its threads queue on a lock of their own (`threading.Lock`, with the
  database's timeout, after which "database is locked" is raised as SQLite would);
- across processes, the process whose thread got through takes a POSIX record lock on the file
  (`fcntl.lockf`): a blocked process sleeps in the kernel and is woken as the holder lets go.
  The kernel drops the lock of a process that dies, and answers a wait that would close a
  circle of processes with an error (EDEADLK) instead of hanging. Like PostgreSQL's own row
  locks (`lock_timeout` 0), a process waits for as long as the holder's transaction lasts:
  none of ours talks to a provider inside one (docs/sync.md).

A transaction takes its place before its `BEGIN IMMEDIATE` and leaves it after its COMMIT or
ROLLBACK; a statement outside a transaction takes it only if it writes. The `BEGIN IMMEDIATE` of
an atomic block is sent with the block's first statement, not when the block opens: what
Python does before that statement (a save building its INSERT, a service validating) runs while
the other writers write. With two cores shared by the web server, the worker, the sandbox and
the writers, a transaction holding the lock ran at a fraction of a core: in the sync
benchmark, the producers' transactions held the lock 3–4 ms each for about 1 ms of work, and
the lock was busy for nearly the whole pass (docs/benchmarks.md). Writers that do not
queue (the sqlite3 shell, another program) still hold SQLite's own lock now and then: for
them, SQLite answers "busy" at once and the statement is tried again after 0.25 ms, doubling up
to 4 ms, with jitter, until the timeout. Only statements run outside a transaction are tried
again — a lone write, or the BEGIN IMMEDIATE that opens every atomic block — so a retry never
repeats half a transaction."""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import threading
import time
from functools import lru_cache

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

FIRST_PAUSE = 0.00025
LONGEST_PAUSE = 0.004
SQLITE_BUSY_MS = 2
# Its own generator: waiting for a lock must not draw from the global one, which the soak test
# seeds to make the sandbox's fault dice repeatable.
_jitter = random.Random()  # noqa: S311 (jitter, not crypto)
# A statement outside a transaction that starts with one of these writes (or changes the
# schema): it queues. Anything else (a read, a PRAGMA) does not; a write missed here is still
# tried again patiently, as a non-queueing writer's would be.
_WRITING = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class WriterQueue:
    """This process's place in the queue of writers of one SQLite file."""

    def __init__(self, path: str, mode: int = 0o600) -> None:
        self.path = path
        self.mode = mode  # the database file's own, as SQLite gives its -wal and -shm files
        self.threads = threading.Lock()  # this process's writers, one at a time
        self.fd = -1

    def enter(self, timeout: float) -> None:
        """Wait for the turn of this thread; raise OperationalError ("database is locked") if
        another thread of this process holds it longer than `timeout` seconds."""
        if not self.threads.acquire(timeout=max(timeout, 0)):
            raise OperationalError("database is locked")
        try:
            if self.fd < 0:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self.mode)
            fcntl.lockf(self.fd, fcntl.LOCK_EX)  # waits in the kernel for the other processes
        except OSError as exc:  # EDEADLK: waiting would close a circle of processes
            self.threads.release()
            raise OperationalError(f"database is locked ({exc.strerror})") from exc
        except BaseException:
            self.threads.release()
            raise

    def leave(self) -> None:
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(database_path: str) -> WriterQueue:
    """The queue of `database_path`'s writers, shared by every connection of this process."""
    database = os.path.abspath(database_path)
    path = f"{database}.writelock"
    with _queues_lock:
        queue = _queues.get(path)
        if queue is None:
            try:  # every process that may write the database may take its turn
                mode = os.stat(database).st_mode & 0o666
            except OSError:
                mode = 0o600
            queue = _queues[path] = WriterQueue(path, mode)
        return queue


def _forget_queues() -> None:
    """In a forked child: the parent's locks are not the child's (a thread lock would be copied
    as held, and POSIX record locks are not inherited), so it queues afresh."""
    global _queues_lock
    _queues.clear()
    _queues_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_queues)


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    deadline_seconds = 30.0
    owner: DatabaseWrapper | None = None  # set by create_cursor: whose transaction, whose queue
    queues = False  # whether a write joins the queue: not for an in-memory database

    def execute(self, query, params=None):
        return self._queued(query, super().execute, query, params)

    def executemany(self, query, param_list):
        return self._queued(query, super().executemany, query, param_list)

    def _queued(self, query, run, *args):
        owner = self.owner
        if owner is not None and owner.begin_pending:
            owner.begin_now()  # the atomic block's first statement: its BEGIN goes first
        if (
            not self.queues
            or self.connection.in_transaction
            or owner.queue_held is not None
            or not query.lstrip()[:7].upper().startswith(_WRITING)
        ):
            return self._patiently(run, *args)
        owner.queue_enter(self.deadline_seconds)
        try:
            return self._patiently(run, *args)
        finally:
            owner.queue_leave()

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark(query)  # Django's conversion, done once per statement text
        return super().convert_query(query, param_names=param_names)

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


@lru_cache(maxsize=1024)
def _qmark(query: str) -> str:
    """A statement's `%s` placeholders as SQLite's `?`, as Django converts them (a regular
    expression over the whole text for every execution: 5–20 µs, for the delivery's and the
    ORM's statements alike, which repeat)."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class DatabaseWrapper(base.DatabaseWrapper):
    queue_held: WriterQueue | None = None  # while this connection has its turn to write
    begin_pending = False  # an atomic block is open and has sent no statement yet

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)  # the pragmas wait the full timeout
        # From here SQLite's own handler waits only briefly (a transaction's later statements);
        # the queue, and the cursor's retries, do the patient waiting.
        conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        return conn

    @property
    def timeout_seconds(self) -> float:
        return float(self.settings_dict["OPTIONS"].get("timeout", 5))

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=SQLiteCursorWrapper)
        cursor.deadline_seconds = self.timeout_seconds
        cursor.owner = self
        cursor.queues = not self.is_in_memory_db()  # one connection alone: nobody to queue with
        return cursor

    # --- the queue -------------------------------------------------------------------------
    def queue_enter(self, timeout: float) -> None:
        queue = writer_queue(self.settings_dict["NAME"])
        queue.enter(timeout)
        self.queue_held = queue

    def queue_leave(self) -> None:
        queue, self.queue_held = self.queue_held, None
        if queue is not None:
            queue.leave()

    def _start_transaction_under_autocommit(self):
        # Sent with the block's first statement (begin_now): until then nothing is locked.
        self.begin_pending = True

    def begin_now(self) -> None:
        """Queue for the lock and send the pending `BEGIN IMMEDIATE`."""
        self.begin_pending = False
        queued = self.queue_held is None and not self.is_in_memory_db()
        if queued:
            self.queue_enter(self.timeout_seconds)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            if queued:
                self.queue_leave()
            raise

    def _commit(self):
        self.begin_pending = False  # a block that sent nothing has nothing to commit
        try:
            return super()._commit()
        finally:
            self.queue_leave()

    def _rollback(self):
        self.begin_pending = False
        try:
            return super()._rollback()
        finally:
            self.queue_leave()

    def _close(self):
        self.begin_pending = False
        try:
            return super()._close()
        finally:
            self.queue_leave()  # SQLite rolls back what the closed connection left open
