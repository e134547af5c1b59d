"""The guard in front of Aisac's getObject/updateObject: the address allow-list, then the rate
limit per client address (through TRUSTED_PROXY_COUNT), then the key — and the key, when it
comes in the URL, never written to a log."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.core.cache import cache
from django.test import RequestFactory
from responses import matchers

from core.clientaddr import client_address
from demo.inbound_client import AisacInboundClient
from loyalty.services import customer_get_or_create
from messaging.models import InboundCall

pytestmark = pytest.mark.django_db
URL = "/integrations/aisac/getObject?user_key=393471234501"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def inbound(settings):
    settings.AISAC_INBOUND_KEY = "inbound-secret"
    settings.AISAC_INBOUND_RATE_PER_MINUTE = 2
    settings.AISAC_INBOUND_ALLOWED_IPS = []
    settings.TRUSTED_PROXY_COUNT = 0
    customer_get_or_create(msisdn="+393471234501", name="Giulia")
    return settings


def call(client, *, key="inbound-secret", remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote, "HTTP_X_API_KEY": key}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get(URL, **extra)


# --- the client address ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.1"),
        (0, "203.0.113.5", "10.0.0.1"),  # no trusted proxy: the header is never read
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # what the client wrote is ignored
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.1"),  # fewer hops than proxies: the nearest peer
        (1, "not-an-address", "10.0.0.1"),
        (1, "::ffff:203.0.113.5", "203.0.113.5"),
    ],
)
def test_given_trusted_proxies_when_reading_the_client_address_then_the_nth_from_the_right(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    meta = {"REMOTE_ADDR": "10.0.0.1"}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == expected


# --- rate limit before the key --------------------------------------------------------------
def test_given_a_wrong_key_when_calling_past_the_rate_then_429_before_the_key_is_checked(
    client, inbound
):
    statuses = [call(client, key="guess").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    # The right key does not buy more calls in this minute either.
    refused = call(client)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"]


def test_given_one_trusted_proxy_when_two_clients_call_through_it_then_each_has_its_own_budget(
    client, inbound
):
    inbound.TRUSTED_PROXY_COUNT = 1
    inbound.AISAC_INBOUND_RATE_PER_MINUTE = 1
    proxy = "10.0.0.1"
    assert call(client, remote=proxy, forwarded="203.0.113.5").status_code == 200
    assert call(client, remote=proxy, forwarded="203.0.113.6").status_code == 200
    assert call(client, remote=proxy, forwarded="203.0.113.5").status_code == 429
    logged = set(InboundCall.objects.values_list("remote_addr", flat=True))
    assert logged == {"203.0.113.5", "203.0.113.6"}


def test_given_one_trusted_proxy_when_a_client_forges_x_forwarded_for_then_it_keeps_its_budget(
    client, inbound
):
    inbound.TRUSTED_PROXY_COUNT = 1
    inbound.AISAC_INBOUND_RATE_PER_MINUTE = 1
    first = call(client, remote="10.0.0.1", forwarded="1.1.1.1, 203.0.113.5")
    forged = call(client, remote="10.0.0.1", forwarded="2.2.2.2, 203.0.113.5")
    assert (first.status_code, forged.status_code) == (200, 429)


def test_given_no_trusted_proxy_when_a_client_sends_x_forwarded_for_then_it_is_ignored(
    client, inbound
):
    inbound.AISAC_INBOUND_RATE_PER_MINUTE = 1
    assert call(client, forwarded="203.0.113.5").status_code == 200
    assert call(client, forwarded="203.0.113.6").status_code == 429
    assert InboundCall.objects.filter(remote_addr="198.51.100.7").count() == 2


def test_given_an_ipv6_client_when_it_changes_address_within_its_64_then_the_budget_is_shared(
    client, inbound
):
    inbound.AISAC_INBOUND_RATE_PER_MINUTE = 1
    assert call(client, remote="2001:db8:1:2::1").status_code == 200
    assert call(client, remote="2001:db8:1:2::ffff").status_code == 429
    assert call(client, remote="2001:db8:1:3::1").status_code == 200


def test_given_the_rate_limit_when_counting_then_the_shared_cache_holds_the_count(client, inbound):
    call(client)
    call(client, key="guess")
    window = int(time.time() // 60)
    assert cache.get(f"aisac-inbound:198.51.100.7:{window}") == 2


# --- the allow-list ---------------------------------------------------------------------------
def test_given_an_allow_list_when_an_address_outside_it_calls_then_403_before_the_key(
    client, inbound
):
    inbound.AISAC_INBOUND_ALLOWED_IPS = ["192.0.2.0/24", "2001:db8::1"]
    outside = call(client, remote="203.0.113.5")
    guessing = call(client, remote="203.0.113.5", key="guess")
    assert [outside.status_code, guessing.status_code] == [403, 403]
    assert outside.json()["error"]["code"] == "address_not_allowed"
    assert call(client, remote="192.0.2.77").status_code == 200
    assert call(client, remote="2001:db8::1").status_code == 200
    assert call(client, remote="192.0.2.78", key="guess").status_code == 401


def test_given_an_allow_list_behind_a_proxy_when_checking_then_the_client_address_counts(
    client, inbound
):
    inbound.TRUSTED_PROXY_COUNT = 1
    inbound.AISAC_INBOUND_ALLOWED_IPS = ["192.0.2.10"]
    assert call(client, remote="10.0.0.1", forwarded="192.0.2.10").status_code == 200
    assert call(client, remote="192.0.2.10", forwarded="203.0.113.5").status_code == 403


# --- the key in a header, never in a log ------------------------------------------------------
@responses.activate
def test_given_act_as_aisac_when_it_calls_then_the_key_travels_in_the_x_api_key_header():
    responses.get(
        "http://vetrina.test/integrations/aisac/getObject",
        json={"object": {}},
        match=[
            matchers.header_matcher({"X-Api-Key": "inbound-secret"}),
            matchers.query_param_matcher({"user_key": "393471234501"}),
        ],
    )
    client = AisacInboundClient(base_url="http://vetrina.test", inbound_key="inbound-secret")
    assert client.get_object("393471234501") == {"object": {}}


def test_given_the_key_in_a_url_when_django_logs_the_request_then_its_value_is_redacted():
    console = next(
        h for h in logging.getLogger("django.server").handlers if h.filters
    )  # settings.LOGGING's console handler
    stream = StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("django.server").info(
            '"%s" %s %s',
            "GET /integrations/aisac/getObject?api_key=inbound-secret HTTP/1.1",
            401,
            9,
        )
        logging.getLogger("django.request").warning(
            "Unauthorized: %s", "/integrations/aisac/updateObject?user_key=1&API_KEY=inbound-secret"
        )
    finally:
        console.setStream(previous)
    lines = stream.getvalue()
    assert "inbound-secret" not in lines
    assert lines.count("=[redacted]") == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_given_gunicorn_as_bin_start_runs_it_when_the_key_is_in_the_url_then_the_access_log_hides_it(
    tmp_path,
):
    port = _free_port()
    access_log = tmp_path / "access.log"
    server = subprocess.Popen(  # noqa: S603 — the same command as bin/start, from the repository
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(access_log),
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = (
            f"http://127.0.0.1:{port}/integrations/aisac/nowhere?user_key=1&api_key=inbound-secret"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
            except urllib.error.HTTPError:
                break  # answered (404): the request is in the access log
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    logged = access_log.read_text()
    assert "/integrations/aisac/nowhere?user_key=1&api_key=[redacted]" in logged
    assert "inbound-secret" not in logged
