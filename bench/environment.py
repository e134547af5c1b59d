"""The throwaway world a benchmark run lives in: its own SQLite database and var dir under a
temporary directory (or a PostgreSQL database and a Redis broker it is given), settings
pointing every provider at a sandbox served over real HTTP on 127.0.0.1 by gunicorn in a
subprocess, and Celery worker processes, as the product runs them. The broker's polling
interval is the product's own: the latency a user waits depends on it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER_START_SECONDS = 30
SERVER_STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(
    workdir: Path, port: int, *, database_url: str = "", broker_url: str = ""
) -> dict[str, str]:
    """Environment for this process and the server: set before Django is imported. Without
    URLs, the embedded default (SQLite files and the filesystem broker in the run's var dir);
    with them, that database and that broker (PostgreSQL + Redis), emptied by `distributed`."""
    var = workdir / "var"
    var.mkdir(parents=True, exist_ok=True)
    values = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VETRINA_VAR_DIR": str(var),
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": broker_url or "filesystem://",
        "SANDBOX_ORIGIN": f"http://127.0.0.1:{port}",
        "SANDBOX_ENABLED": "true",
        "DEBUG": "false",  # DEBUG keeps every query in memory and would skew the figures
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": "locmemcache://",
        # The send window always open: the figures must not depend on the hour of the run.
        "SEND_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "SEND_WINDOW_START": "00:00",
        "SEND_WINDOW_END": "24:00",
        "SEND_WINDOW_HOLIDAYS": "",
    }
    os.environ.update(values)
    return values


@contextmanager
def workspace() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="vetrina-bench-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def sandbox_server(port: int, *, workers: int = 2, threads: int = 8) -> Iterator[str]:
    """gunicorn serving this project (the sandbox at /sandbox/) on 127.0.0.1:port."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=REPO, env=os.environ.copy())  # noqa: S603
    origin = f"http://127.0.0.1:{port}"
    try:
        # A provider endpoint that needs no session: without credentials it answers 401.
        _wait_ready(f"{origin}/sandbox/amm/sms/v2/fidelity/list", process)
        yield origin
    finally:
        _stop(process)


def _wait_ready(url: str, process: subprocess.Popen) -> None:
    """Until `url`, a sandbox endpoint asked without credentials, answers its 401: the server
    is up and the sandbox mounted. Any other error status means it is not going to work."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The sandbox server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own 127.0.0.1)
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
            raise RuntimeError(f"The sandbox server answered {exc.code} at {url}") from exc
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError("The sandbox server did not start in time")


@contextmanager
def celery_worker(concurrency: int, *, nodes: int = 1) -> Iterator[None]:
    """`nodes` real Celery worker processes (prefork pool, as in production), each with
    `concurrency` children, consuming the run's broker — one node stands for one machine of a
    chain that outgrew one; stopped (warm shutdown) at the end."""
    processes = []
    try:
        for node in range(1, nodes + 1):
            command = [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--hostname", f"bench{node}@%h",
                "--pool", "prefork", "--concurrency", str(concurrency),
                "--loglevel", "WARNING",
                "--without-heartbeat", "--without-mingle", "--without-gossip",
            ]  # fmt: skip
            processes.append(subprocess.Popen(command, cwd=REPO, env=os.environ.copy()))  # noqa: S603
        _wait_workers_ready(processes)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            _stop(process, grace=SERVER_STOP_SECONDS * 3)  # a warm shutdown ends its tasks first


def _wait_workers_ready(processes: list[subprocess.Popen]) -> None:
    """Until every worker answers a ping (its pool is up and consuming)."""
    from config.celery import app

    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"A Celery worker exited with {process.returncode}")
        if len(app.control.ping(timeout=0.5)) >= len(processes):
            return
    raise RuntimeError("The Celery workers did not start in time")


@contextmanager
def celery_beat() -> Iterator[None]:
    """Celery beat with the product's schedule (its file in the run's var dir), as `bin/start`
    runs it beside the worker: the periodic work a change's delivery shares the machine with."""
    schedule = Path(os.environ["VETRINA_VAR_DIR"]) / "celerybeat-schedule"
    command = [
        sys.executable, "-m", "celery", "-A", "config", "beat",
        "--loglevel", "WARNING", "--schedule", str(schedule),
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603
        command, cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen, *, grace: float = SERVER_STOP_SECONDS) -> None:
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(SERVER_STOP_SECONDS)


def empty_distributed() -> None:
    """The PostgreSQL database and the Redis broker given to a run hold nothing from an earlier
    one: every table emptied (after migrating), every queued message purged."""
    from django.core.management import call_command

    from config.celery import app

    call_command("flush", interactive=False, verbosity=0)
    app.control.purge()
