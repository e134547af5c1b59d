"""`checkproviders` against the five simulated providers, in each answer style the sandbox
knows (its usual answers, the documents' literal examples, the variants a real provider may
use), and over a real socket from its own process, as an operator runs it."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.knobs import PROVIDERS

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def check(*args) -> tuple[int, list[dict]]:
    out = StringIO()
    try:
        call_command("checkproviders", "--json", *args, stdout=out)
        code = 0
    except CommandError as failed:
        code = failed.returncode
    return code, json.loads(out.getvalue())


@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_every_provider_passes_in_each_answer_style(knobs, style):
    for provider in PROVIDERS:
        knobs(provider, answers=style)

    code, reports = check()

    failing = {r["provider"]: r["summary"] for r in reports if not r["passed"]}
    assert (code, failing) == (0, {})
    assert {r["provider"] for r in reports} == set(PROVIDERS)
    with_calls = [r for r in reports if r["probes"]]
    assert all(
        p["reachable"] and p["credentials_accepted"] for r in with_calls for p in r["probes"]
    )


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("volantinopiu", "VOLANTINOPIU_TOKEN"),
        ("amm", "AMM_AUTH_SECRET"),
        ("smshosting", "SMSHOSTING_AUTH_SECRET"),
        ("aisac", "AISAC_API_KEY"),
    ],
)
def test_a_wrong_credential_fails_naming_that_provider_only(settings, provider, setting):
    setattr(settings, setting, "wrong-" + getattr(settings, setting))

    code, reports = check()

    assert code == 1
    failing = [r for r in reports if not r["passed"]]
    assert [r["provider"] for r in failing] == [provider]
    assert failing[0]["probes"][0]["credentials_accepted"] is False


def test_wolkvox_has_no_read_call_and_only_its_settings_are_checked(settings):
    code, reports = check("--provider", "wolkvox")
    assert code == 0 and reports[0]["probes"] == [] and reports[0]["note"]

    settings.WOLKVOX_TOKEN = ""
    code, reports = check("--provider", "wolkvox")
    assert code == 1 and reports[0]["missing_settings"] == ["WOLKVOX_TOKEN"]


@pytest.mark.django_db(transaction=True)
def test_from_its_own_process_over_a_socket_it_exits_0_then_1_with_a_wrong_token(live_server):
    from tests.reliability.processes import test_database_url

    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "SANDBOX_ORIGIN": live_server.url,
    }

    def run(**extra):
        return subprocess.run(
            [sys.executable, "manage.py", "checkproviders"],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    passing = run()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "VolantinoPiù" in passing.stdout and "listShops" in passing.stdout

    failing = run(AMM_AUTH_KEY="not-the-key")
    assert failing.returncode == 1
    assert "AMM" in failing.stderr.splitlines()[-1]
    assert "VolantinoPiù" not in failing.stderr.splitlines()[-1]
