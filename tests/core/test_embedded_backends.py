"""The embedded default's own backends: the SQLite backend whose writers queue for the write
lock (and wait in small steps for writers that do not queue), and the filesystem broker that
writes each message atomically."""

import contextlib
import json
import os
import signal
import sqlite3
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from core.broker import Channel, Transport
from core.sqlite import base as base_module
from core.sqlite.base import DatabaseWrapper, writer_queue


@pytest.fixture
def sqlite_file(tmp_path, django_db_blocker):
    """A Django connection through our backend to a file of its own, and a plain sqlite3
    connection to the same file that can hold the write lock."""
    path = tmp_path / "locks.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (n INTEGER)")
    settings = {
        **connection.settings_dict,
        "NAME": str(path),
        # The product's SQLite options, whatever the suite's own database is.
        "OPTIONS": {**django_settings.SQLITE_OPTIONS, "timeout": 2},
    }
    ours = DatabaseWrapper(settings, alias="locks")
    with django_db_blocker.unblock():
        yield ours, other
        ours.close()
    other.close()


def hold_the_write_lock(other: sqlite3.Connection, seconds: float) -> threading.Thread:
    other.execute("BEGIN IMMEDIATE")

    def release_later():
        time.sleep(seconds)
        other.execute("COMMIT")

    thread = threading.Thread(target=release_later)
    thread.start()
    return thread


def test_a_write_waits_for_the_lock_and_goes_through(sqlite_file):
    ours, other = sqlite_file
    thread = hold_the_write_lock(other, 0.3)
    started = time.monotonic()
    with ours.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [1])
    waited = time.monotonic() - started
    thread.join()
    assert waited >= 0.25
    assert other.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_transaction_waits_at_its_begin_and_then_holds_the_lock(sqlite_file):
    ours, other = sqlite_file
    thread = hold_the_write_lock(other, 0.2)
    with ours.cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE")  # what every atomic block of ours starts with
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [2])
        cursor.execute("COMMIT")
    thread.join()
    assert other.execute("SELECT n FROM t").fetchall() == [(2,)]


def test_a_lock_held_past_the_timeout_still_fails_with_database_locked(sqlite_file):
    ours, other = sqlite_file
    ours.settings_dict["OPTIONS"]["timeout"] = 0.2
    thread = hold_the_write_lock(other, 0.6)
    with pytest.raises(Exception, match="locked"), ours.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [3])
    thread.join()


def our_connection(path, timeout: float = 5) -> DatabaseWrapper:
    """Another connection of ours to the same file (each thread needs its own)."""
    settings = {
        **connection.settings_dict,
        "NAME": str(path),
        "OPTIONS": {**django_settings.SQLITE_OPTIONS, "timeout": timeout},
    }
    return DatabaseWrapper(settings, alias="locks")


def in_transaction_for(path, seconds: float, entered: threading.Event, n: int) -> None:
    """A transaction of ours that writes `n` and keeps its turn for `seconds`."""
    ours = our_connection(path)
    try:
        with ours.cursor():
            pass
        ours.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        with ours.cursor() as cursor:
            cursor.execute("INSERT INTO t (n) VALUES (%s)", [n])
        entered.set()
        time.sleep(seconds)
        ours.commit()
        ours.set_autocommit(True)
    finally:
        ours.close()


def writer_holding(path, seconds: float, n: int) -> threading.Thread:
    """A thread whose transaction has written `n` and keeps its turn for `seconds`."""
    entered = threading.Event()
    writer = threading.Thread(target=in_transaction_for, args=(path, seconds, entered, n))
    writer.start()
    assert entered.wait(5)
    return writer


def test_our_writers_queue_and_each_goes_in_when_the_last_is_done(sqlite_file, monkeypatch):
    """Two transactions and a lone write of ours, at once: each waits its turn in the queue
    (none sees "database is locked"), and none is tried again after a "busy"."""
    retries = []
    monkeypatch.setattr(base_module._jitter, "uniform", lambda *args: retries.append(args) or 1.0)
    ours, other = sqlite_file
    path = ours.settings_dict["NAME"]
    first = writer_holding(path, 0.3, 1)
    second_entered = threading.Event()  # not waited for: it queues behind the first
    second = threading.Thread(target=in_transaction_for, args=(path, 0, second_entered, 2))
    second.start()
    with ours.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [3])  # waits for both, or one
    first.join()
    second.join()
    assert sorted(n for (n,) in other.execute("SELECT n FROM t")) == [1, 2, 3]
    assert other.execute("SELECT n FROM t").fetchone() == (1,)  # the first went first
    assert retries == []


def test_an_atomic_block_takes_the_lock_with_its_first_statement(sqlite_file):
    """Opening the block locks nothing (another writer writes meanwhile); its first statement
    sends BEGIN IMMEDIATE, and from there the block holds the lock until it commits."""
    ours, other = sqlite_file
    with _atomic(ours):
        assert not ours.connection.in_transaction
        other.execute("INSERT INTO t (n) VALUES (1)")  # would wait 2 s and fail if it were held
        with ours.cursor() as cursor:
            cursor.execute("INSERT INTO t (n) VALUES (%s)", [2])
        assert ours.connection.in_transaction
        assert ours.queue_held is not None
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO t (n) VALUES (3)")  # SQLite's own lock: taken
    assert ours.queue_held is None
    assert sorted(n for (n,) in other.execute("SELECT n FROM t")) == [1, 2]


def test_an_atomic_block_that_sends_nothing_locks_nothing(sqlite_file):
    ours, _ = sqlite_file
    for outcome in ("commit", "rollback"):
        ours.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        assert ours.begin_pending and ours.queue_held is None
        ours.commit() if outcome == "commit" else ours.rollback()
        ours.set_autocommit(True)
        assert not ours.begin_pending and ours.queue_held is None
        assert not ours.connection.in_transaction


def test_a_block_rolled_back_after_its_first_statement_leaves_nothing(sqlite_file):
    ours, other = sqlite_file
    with pytest.raises(ZeroDivisionError), _atomic(ours):
        with ours.cursor() as cursor:
            cursor.execute("INSERT INTO t (n) VALUES (%s)", [4])
        1 / 0  # noqa: B018 (the block fails after its write)
    assert ours.queue_held is None
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
    other.execute("INSERT INTO t (n) VALUES (5)")  # the lock is free again


@contextlib.contextmanager
def _atomic(ours: DatabaseWrapper):
    """What transaction.atomic does to a connection it opens a block on, for a connection of
    ours that is not among the project's aliases."""
    with ours.cursor():
        pass  # connected
    ours.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield
    except BaseException:
        ours.rollback()
        raise
    else:
        ours.commit()
    finally:
        ours.set_autocommit(True)


def test_a_read_does_not_queue_behind_a_writer(sqlite_file):
    ours, _ = sqlite_file
    writer = writer_holding(ours.settings_dict["NAME"], 0.5, 1)
    started = time.monotonic()
    with ours.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)  # the writer has not committed
    assert time.monotonic() - started < 0.4
    writer.join()


def test_a_thread_waiting_past_the_timeout_fails_with_database_locked(sqlite_file):
    ours, _ = sqlite_file
    path = ours.settings_dict["NAME"]
    writer = writer_holding(path, 0.6, 1)
    impatient = our_connection(path, timeout=0.1)
    try:
        with pytest.raises(Exception, match="locked"), impatient.cursor() as cursor:
            cursor.execute("INSERT INTO t (n) VALUES (%s)", [2])
    finally:
        impatient.close()
    writer.join()


def test_a_process_that_dies_holding_its_turn_frees_it(sqlite_file):
    """The kernel drops a dead process's record lock: the next writer goes in at once."""
    ours, other = sqlite_file
    path = ours.settings_dict["NAME"]
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child takes its turn and is killed holding it
        try:
            writer_queue(path).enter(5)
            os.write(ready_write, b"x")
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_write)
    assert os.read(ready_read, 1) == b"x"
    os.close(ready_read)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    started = time.monotonic()
    with ours.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [1])
    assert time.monotonic() - started < 2
    assert other.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_process_waits_for_another_process_then_goes_in(sqlite_file):
    """Across processes the wait is in the kernel: the parent's write lands right after the
    child's turn ends, whatever the timeout of the threads' own lock."""
    ours, other = sqlite_file
    path = ours.settings_dict["NAME"]
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            queue = writer_queue(path)
            queue.enter(5)
            os.write(ready_write, b"x")
            time.sleep(0.4)
            queue.leave()
        finally:
            os._exit(0)
    os.close(ready_write)
    assert os.read(ready_read, 1) == b"x"
    os.close(ready_read)
    started = time.monotonic()
    with ours.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [1])
    waited = time.monotonic() - started
    os.waitpid(pid, 0)
    assert waited >= 0.2
    assert other.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_forked_child_does_not_inherit_its_parents_turn(sqlite_file):
    ours, _ = sqlite_file
    path = ours.settings_dict["NAME"]
    queue = writer_queue(path)
    queue.enter(5)
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # Its own queue, not the parent's held thread lock copied: it waits for the
                # parent in the kernel rather than for a lock nobody in it will ever release.
                code = 0 if writer_queue(path) is not queue else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        queue.leave()


def test_the_queue_file_is_as_open_as_the_database_file(sqlite_file):
    ours, _ = sqlite_file
    path = ours.settings_dict["NAME"]
    os.chmod(path, 0o660)  # before any writer of ours made the file's queue
    queue = writer_queue(path)
    queue.enter(5)
    queue.leave()
    assert os.stat(f"{path}.writelock").st_mode & 0o777 == 0o660 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_placeholders_are_converted_as_django_converts_them(sqlite_file):
    """The conversion is kept per statement text: the same result as Django's, every time."""
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper as DjangoCursor

    ours, _ = sqlite_file
    statements = [
        "INSERT INTO t (n) VALUES (%s)",
        "SELECT n FROM t WHERE n = %s AND 'a%%b' LIKE 'a%%'",
        "UPDATE t SET n = %s WHERE n IN (%s, %s)",
    ]
    with ours.cursor() as wrapper:
        cursor = wrapper.cursor
        for query in statements * 2:
            assert cursor.convert_query(query) == DjangoCursor.convert_query(cursor, query)
        named = "SELECT %(a)s, %(b)s"
        assert cursor.convert_query(named, param_names=["a", "b"]) == "SELECT :a, :b"
        wrapper.execute("SELECT n FROM t WHERE 'x%%' LIKE %s", ["x%"])
        assert wrapper.fetchall() == []


def test_a_broker_message_is_never_seen_half_written(tmp_path, monkeypatch):
    """The message appears under its queue name only once complete: a reader listing the
    folder while it is written sees nothing, then the whole message."""
    channel = Channel.__new__(Channel)
    channel.data_folder_out = str(tmp_path)
    seen_while_writing = []
    real_open = open

    def spying_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode:
            seen_while_writing.append(sorted(p.name for p in tmp_path.iterdir()))
        return handle

    monkeypatch.setattr("builtins.open", spying_open)
    channel._put("celery", {"body": "x" * 10_000})
    monkeypatch.undo()

    assert all(not name.endswith(".celery.msg") for names in seen_while_writing for name in names)
    (message,) = [p for p in tmp_path.iterdir()]
    assert message.name.endswith(".celery.msg") and not message.name.startswith(".")
    assert json.loads(message.read_text()) == {"body": "x" * 10_000}


def _channel(folder, *, polling_interval: float) -> Channel:
    """A channel on `folder`, its transport without a broker connection around it."""
    transport = Transport.__new__(Transport)
    transport.polling_interval, transport._listings = polling_interval, {}
    channel = Channel.__new__(Channel)
    channel.connection = transport
    channel.data_folder_in = channel.data_folder_out = str(folder)
    channel.store_processed = False
    return channel


def test_broker_messages_are_taken_in_order_listing_the_folder_once(tmp_path, monkeypatch):
    from queue import Empty

    channel = _channel(tmp_path, polling_interval=0.0)
    for n in range(3):
        channel._put("celery", {"n": n})
        time.sleep(0.002)  # names start with the time in ms
    listings = []
    real_listdir = __import__("os").listdir
    monkeypatch.setattr("os.listdir", lambda path: listings.append(path) or real_listdir(path))

    assert channel._get("celery") == {"n": 0}
    # Another worker takes the next one meanwhile; a new one arrives.
    (next_one,) = sorted(p for p in tmp_path.iterdir() if p.name.endswith(".msg"))[:1]
    next_one.unlink()
    channel._put("celery", {"n": 3})
    assert channel._get("celery") == {"n": 2}
    assert len(listings) == 1  # one listing for the messages it saw
    assert channel._get("celery") == {"n": 3}  # seen at the next listing
    with pytest.raises(Empty):
        channel._get("celery")


def test_one_broker_listing_serves_every_queue_within_a_polling_turn(tmp_path, monkeypatch):
    """A worker polls its remote-control queue too, which is always empty: it must not list
    the whole folder again for it at every turn."""
    from queue import Empty

    channel = _channel(tmp_path, polling_interval=0.2)
    remote_control = Channel.__new__(Channel)  # a channel of its own, on the same transport
    remote_control.__dict__.update(channel.__dict__)
    channel._put("celery", {"n": 1})
    channel._put("celery@host.celery.pidbox", {"command": "ping"})
    listings = []
    real_listdir = __import__("os").listdir
    monkeypatch.setattr("os.listdir", lambda path: listings.append(path) or real_listdir(path))

    assert channel._get("celery") == {"n": 1}
    # A dotted queue name, on the other channel, from the same listing.
    assert remote_control._get("celery@host.celery.pidbox") == {"command": "ping"}
    with pytest.raises(Empty):
        channel._get("celery")
    with pytest.raises(Empty):
        remote_control._get("celery@host.celery.pidbox")
    assert len(listings) == 1
    channel._put("celery", {"n": 2})
    time.sleep(0.1)  # the next polling turn lists again
    assert channel._get("celery") == {"n": 2}
    assert len(listings) == 2
