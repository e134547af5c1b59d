"""A calm terminal: each request problem is logged once, gunicorn writes its lines like Django's
in the same time zone, and the filesystem broker's URL makes kombu warn of nothing."""

from __future__ import annotations

import logging
import os
import re
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]

URLS = """
from django.urls import path


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", boom)]
"""

REQUESTS = """
import django

django.setup()
from django.test import Client
from django.test.utils import override_settings

with override_settings(ROOT_URLCONF="calm_urls"):
    client = Client(raise_request_exception=False)
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/boom/").status_code == 500
"""


def test_a_404_and_a_500_are_each_logged_once_on_a_debug_server(tmp_path):
    """The embedded default (DEBUG on) with the project's LOGGING, in a process of its own as
    gunicorn's workers are: Django's own DEBUG console handler used to write each request
    problem a second time, unformatted and unfiltered, beside the root handler's line."""
    (tmp_path / "calm_urls.py").write_text(URLS)
    (tmp_path / "empty.env").write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VETRINA_ENV_FILE": str(tmp_path / "empty.env"),
        "VETRINA_VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", textwrap.dedent(REQUESTS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    assert log.count("Not Found: /no-such-page/") == 1, log
    assert log.count("Internal Server Error: /boom/") == 1, log
    assert log.count("RuntimeError: boom") == 1, log
    # The one line is the formatted, filtered one.
    assert re.search(
        r"^\S+ \S+,\d{3} WARNING django\.request: Not Found: /no-such-page/$", log, re.M
    )


def test_django_loggers_have_no_handler_of_their_own():
    configured = settings.LOGGING["loggers"]["django"]
    assert configured["handlers"] == [] and configured["propagate"] is True
    assert logging.getLogger("django").handlers == []


def test_gunicorn_runs_in_the_projects_time_zone_and_writes_like_django(monkeypatch):
    from gunicorn.config import Config

    from core.logredact import RedactingGunicornLogger

    monkeypatch.setenv("TZ", "UTC")
    namespace = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    try:
        assert os.environ["TZ"] == settings.TIME_ZONE == "Europe/Rome"
        assert namespace["logger_class"] == "core.logredact.RedactingGunicornLogger"
    finally:
        monkeypatch.undo()
        import time

        time.tzset()

    assert RedactingGunicornLogger.error_fmt == settings.LOGGING["formatters"]["plain"]["format"]
    config = Config()
    config.set("errorlog", "-")
    logger = RedactingGunicornLogger(config)
    handler = next(h for h in logger.error_log.handlers if getattr(h, "_gunicorn", False))
    record = logging.LogRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Booting worker with pid: %s", (42,), None
    )
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO gunicorn\.error: Booting worker with pid: 42",
        handler.format(record),
    )


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="the filesystem broker's URL only",
)
def test_the_filesystem_broker_url_makes_kombu_warn_of_nothing(caplog):
    from config.celery import app

    with caplog.at_level(logging.WARNING, logger="kombu"), app.connection_for_write() as conn:
        conn.as_uri()
        conn._info()  # what kombu reads when it connects, where it warned "No hostname"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []
