"""Every counter kept per client address — the login lockout, API throttling for anonymous
callers — reads the address as core.clientaddr sees it: through TRUSTED_PROXY_COUNT proxies,
never from a header the client could forge."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.1"


def _wrong(client: Client, username: str):
    return client.post("/admin/login/", {"username": username, "password": "sbagliata"})


def test_behind_a_trusted_proxy_the_lockout_counts_each_client_apart(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    get_user_model().objects.create_superuser("anna", "a@example.com", "Giusta-2026!")
    first = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    second = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _wrong(first, "anna")
    assert _wrong(first, "anna").status_code == 429
    ok = second.post("/admin/login/", {"username": "anna", "password": "Giusta-2026!"})
    assert ok.status_code == 302  # the same user from another client behind the same proxy


def test_without_a_trusted_proxy_a_forged_header_does_not_escape_the_lockout(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    get_user_model().objects.create_superuser("anna", "a@example.com", "Giusta-2026!")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _wrong(Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}"), "anna")
    forged = Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="9.9.9.9")
    assert _wrong(forged, "anna").status_code == 429


def test_anonymous_api_throttling_ignores_a_forged_forwarded_header(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_THROTTLE_RATE = "3/minute"
    from django.core.cache import cache

    cache.clear()
    statuses = [
        Client(REMOTE_ADDR="198.51.100.10", HTTP_X_FORWARDED_FOR=f"5.6.7.{n}")
        .get("/api/v1/no-such-resource/")  # open to anybody (an API 404): throttled
        .status_code
        for n in range(5)
    ]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]
