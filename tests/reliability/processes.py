"""Real processes for the process-fault tests: Celery workers and beat (and, where the machine
has it, a Redis server of the test's own), all on the test database and reaching the sandbox
that the test's live server hosts. Every process is bounded and stopped by the test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import close_old_connections, connection
from django.db.utils import DatabaseError

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_for(predicate: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Poll until `predicate` holds; a database that restarts meanwhile is reconnected."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return
        except DatabaseError:
            close_old_connections()
            connection.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")
        time.sleep(0.2)


def test_database_url() -> str:
    """The URL of the database this test runs on, for the processes it starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """Processes started for one test, with one environment; stopped (killed) at the end."""

    def __init__(self, *, sandbox_origin: str, broker_url: str, logs: Path):
        self.logs = logs
        self.processes: list[subprocess.Popen] = []
        # This process's environment holds the in-process sandbox's base URLs (the embedded
        # default's setdefault): leave them out so SANDBOX_ORIGIN decides.
        inherited = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
        self.env = {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "SANDBOX_ORIGIN": sandbox_origin.replace("//localhost:", "//127.0.0.1:"),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            # A dead worker's row is taken over after 3 s; beat sweeps every second.
            "OUTBOX_LEASE_SECONDS": "3",
            "OUTBOX_REENQUEUE_AFTER_SECONDS": "2",
            "OUTBOX_SWEEP_SECONDS": "1",
            "PUSH_STATUS_REFRESH_SECONDS": "3600",
            "PROVIDER_READ_TIMEOUT": "15",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen:
        return self.start(
            name,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={name}@%h",
        )

    def beat(self) -> subprocess.Popen:
        return self.start(
            "beat",
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=INFO",
            f"--schedule={self.logs / 'beat-schedule'}",
        )

    def actor(self, name: str, code: str) -> subprocess.Popen:
        """A user in another process: runs `code` with Django set up (tests.reliability.actors)."""
        return self.start(
            name,
            "-c",
            "import django; django.setup(); from tests.reliability import actors; " + code,
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=30)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def children_of(pid: int) -> list[int]:
    """The child processes of `pid` (the prefork pool's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class RedisServer:
    """A Redis server of the test's own, on a free port, that the test can stop and restart."""

    def __init__(self, logs: Path):
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.logs / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("Redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def redis_available() -> bool:
    return os.path.exists(REDIS_SERVER)
