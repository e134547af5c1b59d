"""The throwaway world a benchmark run lives in: its own SQLite database and var dir under a
temporary directory, settings pointing every provider at a sandbox served over real HTTP on
127.0.0.1 by gunicorn in a subprocess, and a Celery worker process on the filesystem broker, as
the embedded default runs them."""

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


def prepare(workdir: Path, port: int) -> dict[str, str]:
    """Environment for this process and the server: set before Django is imported."""
    var = workdir / "var"
    var.mkdir(parents=True, exist_ok=True)
    values = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VETRINA_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SANDBOX_ORIGIN": f"http://127.0.0.1:{port}",
        "SANDBOX_ENABLED": "true",
        # The embedded default's broker, in the run's own var dir; an idle worker looks at it
        # every 5 ms so that the figures measure the path, not the polling.
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_POLLING_INTERVAL": "0.005",
        "DEBUG": "false",  # DEBUG keeps every query in memory and would skew the figures
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": "locmemcache://",
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
        process.terminate()
        try:
            process.wait(SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SERVER_STOP_SECONDS)


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
def celery_worker(concurrency: int) -> Iterator[None]:
    """A real Celery worker process (prefork pool, as in production) with `concurrency`
    children, consuming the run's filesystem broker; stopped (warm shutdown) at the end."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]
    process = subprocess.Popen(command, cwd=REPO, env=os.environ.copy())  # noqa: S603
    try:
        _wait_worker_ready(process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(SERVER_STOP_SECONDS * 3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SERVER_STOP_SECONDS)


def _wait_worker_ready(process: subprocess.Popen) -> None:
    """Until the worker answers a ping (its pool is up and consuming)."""
    from config.celery import app

    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited with {process.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("The Celery worker did not start in time")
