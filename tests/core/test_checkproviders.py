"""`manage.py checkproviders` and the admin's **Verifica fornitori**, on providers registered by
the test itself (each provider's own probes are tested with its client)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import errors
from core.models import BreakerState, ProviderBreaker, ProviderCheck
from core.preflight import Probe, ProviderPreflight, preflight_run

pytestmark = pytest.mark.django_db


def answering(fields=()):
    return lambda: list(fields)


def failing(error):
    def call():
        raise error

    return call


@pytest.fixture
def providers(monkeypatch, settings):
    """Replace the registry with two test providers: "good" answers as expected; "bad" is
    set per test."""
    from core import providers as preflight

    settings.GOOD_URL, settings.BAD_URL, settings.BAD_KEY = "https://good", "https://bad", "k"
    registry = {}
    monkeypatch.setattr(preflight, "_registry", registry)

    def register(code, label, probes, names=()):
        registry[code] = ProviderPreflight(
            provider=code, label=label, settings=tuple(names), probes=lambda: probes
        )

    register("good", "Good", [Probe("list", answering()), Probe("page", answering())], ["GOOD_URL"])
    return register


def run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("checkproviders", *args, stdout=out)
    except CommandError as failed:
        return failed.returncode, out.getvalue() + str(failed)
    return 0, out.getvalue()


def test_every_provider_answering_as_expected_passes_with_exit_0(providers):
    code, output = run()

    assert code == 0
    assert "Good" in output and "list" in output and "page" in output
    check = ProviderCheck.objects.get()
    assert (check.provider, check.passed, check.checked_by) == ("good", True, None)


def test_refused_credentials_exit_1_naming_the_provider(providers):
    providers(
        "bad",
        "Bad",
        [Probe("list", failing(errors.ProviderAuthError(provider="bad", status=401)))],
        ["BAD_URL", "BAD_KEY"],
    )

    code, output = run()

    assert code == 1
    assert output.rstrip().endswith("Bad.")
    report = {r.provider: r for r in preflight_run()}["bad"]
    assert (report.probes[0].reachable, report.probes[0].credentials_accepted) == (True, False)


def test_an_answer_missing_a_field_names_the_field(providers):
    providers("bad", "Bad", [Probe("list", answering(["data[].codice: missing"]))], ["BAD_URL"])

    code, output = run("--provider", "bad")

    assert code == 1
    assert "data[].codice: missing" in output


def test_a_drift_names_its_fields_and_keeps_the_shape(providers):
    drift = errors.ContractDrift(provider="bad", fields=["id"], shape="{data: null}")
    providers("bad", "Bad", [Probe("get", failing(drift))], ["BAD_URL"])

    code, output = run("--provider", "bad", "--json")

    assert code == 1
    report = json.loads(output[: output.rindex("]") + 1])[0]
    assert report["probes"][0]["fields"] == ["id"]
    assert report["probes"][0]["shape"] == "{data: null}"


def test_an_unreachable_provider_is_said_so(providers):
    providers(
        "bad",
        "Bad",
        [Probe("list", failing(errors.ProviderUnavailable(provider="bad")))],
        ["BAD_URL"],
    )

    report = {r.provider: r for r in preflight_run()}["bad"]

    assert not report.passed and report.probes[0].reachable is False


def test_an_unconfigured_provider_is_skipped_unless_asked_for(providers, settings):
    settings.BAD_URL = ""
    providers("bad", "Bad", [Probe("list", answering())], ["BAD_URL"])

    assert run()[0] == 0
    code, output = run("--provider", "bad")
    assert code == 1 and "BAD_URL" in output


def test_a_provider_with_no_read_call_passes_on_its_settings(providers, monkeypatch):
    from core import providers as preflight

    preflight._registry["novoice"] = ProviderPreflight(
        provider="novoice",
        label="No voice",
        settings=("GOOD_URL",),
        probes=lambda: [],
        no_read_call="no read-only call: only the settings are checked",
    )

    code, output = run("--provider", "novoice")

    assert code == 0 and "only the settings are checked" in output


def test_the_breaker_state_is_in_the_report(providers):
    ProviderBreaker.objects.create(provider="good", state=BreakerState.OPEN, last_error="503")

    _code, output = run("--json")

    assert json.loads(output)[0]["breaker"]["state"] == "open"


def test_an_unknown_provider_is_refused(providers):
    code, output = run("--provider", "nobody")

    assert code == 1 and "good" in output


# --- the admin page ----------------------------------------------------------------------
def _login(client, role):
    from io import StringIO

    call_command(
        "createuser",
        f"user-{role}",
        "--role",
        role,
        "--password",
        "Pw-123456789!",
        stdout=StringIO(),
    )
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=f"user-{role}"))
    return client


def test_the_check_page_runs_one_provider_and_keeps_the_result(providers, client):
    _login(client, "marketing")

    page = client.get("/admin/core/providercheck/")
    assert page.status_code == 200
    assert b'value="good"' in page.content
    done = client.post("/admin/core/providercheck/", {"provider": "good", "action": "check"})

    assert done.status_code == 302
    check = ProviderCheck.objects.get()
    assert check.passed and check.checked_by.username == "user-marketing"
    assert b"Good" in client.get("/admin/core/providercheck/").content


def test_an_auditor_sees_the_checks_but_cannot_run_one(providers, client):
    _login(client, "auditor")

    page = client.get("/admin/core/providercheck/")
    refused = client.post("/admin/core/providercheck/", {"provider": "good", "action": "check"})

    assert page.status_code == 200 and b'name="action"' not in page.content
    assert refused.status_code == 403
    assert not ProviderCheck.objects.exists()


def test_marketing_closes_an_open_breaker_from_the_check_page(providers, client):
    _login(client, "marketing")
    ProviderBreaker.objects.create(provider="good", state=BreakerState.OPEN)

    client.post("/admin/core/providercheck/", {"provider": "good", "action": "close_breaker"})

    assert ProviderBreaker.objects.get(provider="good").state == BreakerState.CLOSED
