"""Production cannot run as development: manage.py, WSGI and Celery choose the settings module
the same way (the environment, else `.env`), production refuses to start without what it needs,
and it never installs nor mounts the provider sandboxes. Each case runs in a fresh process, as a
server would start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": "x" * 60 + "-production-test-key",
    "ALLOWED_HOSTS": "vetrina.example.com",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6399/0",
    "CACHE_URL": "redis://127.0.0.1:6399/1",
    "VOLANTINOPIU_BASE_URL": "https://restapi.volantinopiu.it/api/v2",
    "VOLANTINOPIU_TOKEN": "t",
    "AMM_BASE_URL": "https://api.amm.cloud/sms/v2",
    "AMM_AUTH_KEY": "k",
    "AMM_AUTH_SECRET": "s",
    "SMSHOSTING_BASE_URL": "https://api.smshosting.it/rest/api",
    "SMSHOSTING_AUTH_KEY": "k",
    "SMSHOSTING_AUTH_SECRET": "s",
    "WOLKVOX_BASE_URL": "https://wv0.wolkvox.com/api/v2",
    "WOLKVOX_TOKEN": "t",
    "AISAC_BASE_URL": "https://api.aisac.io/v1",
    "AISAC_API_KEY": "k",
    "AISAC_INBOUND_KEY": "i",
}


def _run(code: str, env_file: Path, tmp_path: Path, **environment) -> subprocess.CompletedProcess:
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "VETRINA_ENV_FILE": str(env_file),
        "VETRINA_VAR_DIR": str(tmp_path / "var"),
        **environment,
    }
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env_file(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "vetrina.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'prod.sqlite3'}"


MANAGE_CHECK = "import sys; sys.argv = ['manage.py', 'check']; import manage; manage.main()"
WSGI = "import config.wsgi"
CELERY = (
    "import config.celery, os; from django.conf import settings; "
    "print(os.environ['DJANGO_SETTINGS_MODULE'], settings.SANDBOX_ENABLED)"
)


@pytest.mark.parametrize("entry", [MANAGE_CHECK, WSGI, CELERY], ids=["manage.py", "wsgi", "celery"])
def test_production_written_in_env_file_is_what_every_entry_point_runs(entry, tmp_path):
    """`.env` says production and lacks its variables: each entry point refuses, naming them
    (the local settings would have started happily with the sandbox)."""
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production")
    result = _run(entry, env_file, tmp_path)
    assert result.returncode != 0
    assert "Production settings need these variables" in result.stderr
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr


def test_the_environment_beats_the_env_file(tmp_path):
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production")
    result = _run(CELERY, env_file, tmp_path, DJANGO_SETTINGS_MODULE="config.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.local", "True"]


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"]
)
def test_production_refuses_to_start_without_each_required_variable(missing, tmp_path):
    values = {**PRODUCTION, "DATABASE_URL": "postgres://v:v@127.0.0.1:5999/v"}
    del values[missing]
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production", **values)
    result = _run(WSGI, env_file, tmp_path)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "Production settings need these variables" in last and missing in last


def test_production_refuses_sqlite_unless_allowed_on_purpose(tmp_path):
    values = {**PRODUCTION, "DATABASE_URL": _sqlite(tmp_path)}
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production", **values)
    refused = _run(WSGI, env_file, tmp_path)
    assert refused.returncode != 0 and "ALLOW_SQLITE_IN_PRODUCTION" in refused.stderr
    allowed = _run(WSGI, env_file, tmp_path, ALLOW_SQLITE_IN_PRODUCTION="true")
    assert allowed.returncode == 0, allowed.stderr


def test_production_neither_installs_nor_mounts_the_sandbox_even_when_asked(tmp_path):
    values = {**PRODUCTION, "DATABASE_URL": _sqlite(tmp_path), "SANDBOX_ENABLED": "true"}
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production", **values)
    code = (
        "import django, config.wsgi; from django.apps import apps; from django.conf import settings;"
        "from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/sandbox/_knobs/amm'); mounted = True\n"
        "except Resolver404:\n    mounted = False\n"
        "print(settings.SANDBOX_ENABLED, apps.is_installed('sandbox'), mounted, "
        "'sandbox' in settings.DATABASES)"
    )
    result = _run(code, env_file, tmp_path, ALLOW_SQLITE_IN_PRODUCTION="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False", "False"]


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    values = {**PRODUCTION, "DATABASE_URL": _sqlite(tmp_path)}
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production", **values)
    code = (
        "import sys; sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'];"
        "import manage; manage.main()"
    )
    result = _run(code, env_file, tmp_path, ALLOW_SQLITE_IN_PRODUCTION="true")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_a_cache_that_is_not_shared(tmp_path):
    values = {**PRODUCTION, "DATABASE_URL": _sqlite(tmp_path), "CACHE_URL": "locmemcache://"}
    env_file = _env_file(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production", **values)
    result = _run(WSGI, env_file, tmp_path, ALLOW_SQLITE_IN_PRODUCTION="true")
    assert result.returncode != 0 and "CACHE_URL must name a cache every process shares" in (
        result.stderr
    )
