"""Admin change lists and API lists at size: p95 time of each page (rendered in this process
through Django's test client, logged in as a superuser) and the most SQL queries any page ran.

Pages: the card and movement change lists (first page, a filter, a search) and
/api/v1/fidelity-cards/ and /api/v1/push-sends/ (first page, a filter, a search)."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.measure import percentile

ADMIN_PAGES = (
    "/admin/loyalty/fidelitycard/",
    "/admin/loyalty/fidelitycard/?active__exact=1",
    "/admin/loyalty/fidelitycard/?q=BC00000042",
    "/admin/loyalty/pointmovement/",
    "/admin/loyalty/pointmovement/?action__exact=REWARD",
    "/admin/loyalty/pointmovement/?q=BC00000042",
)
API_PAGES = (
    "/api/v1/fidelity-cards/",
    "/api/v1/fidelity-cards/?active=true",
    "/api/v1/fidelity-cards/?search=BC00000042",
    "/api/v1/push-sends/",
    "/api/v1/push-sends/?status=sent",
    "/api/v1/push-sends/?search=Benchmark",
)


def _client() -> Client:
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def measure(
    pages: tuple[str, ...], *, repeats: int
) -> tuple[list[float], dict[str, int], dict[str, float]]:
    """Every page `repeats` times (after one warm-up): the times in ms, queries per page and
    the p95 of each page."""
    client = _client()
    times: list[float] = []
    queries: dict[str, int] = {}
    per_page: dict[str, float] = {}
    for url in pages:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        queries[url] = len(captured)
        page_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url)
            page_times.append((time.perf_counter() - started) * 1000)
        per_page[url] = percentile(page_times, 0.95)
        times.extend(page_times)
    return times, queries, per_page


def run(*, repeats: int, label: str) -> dict[str, float]:
    admin_times, admin_queries, admin_p95 = measure(ADMIN_PAGES, repeats=repeats)
    api_times, api_queries, api_p95 = measure(API_PAGES, repeats=repeats)
    return {
        f"_{label}_admin_p95_ms": percentile(admin_times, 0.95),
        f"_{label}_admin_queries": max(admin_queries.values()),
        f"_{label}_api_p95_ms": percentile(api_times, 0.95),
        f"_{label}_api_queries": max(api_queries.values()),
        **{f"_{label}_q {url}": n for url, n in {**admin_queries, **api_queries}.items()},
        **{f"_{label}_p95 {url}": ms for url, ms in {**admin_p95, **api_p95}.items()},
    }
