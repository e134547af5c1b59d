"""The relay's claim walks the provider's pending entries through `outbox_pending_idx`, whatever
the entries already done: on SQLite by naming the index, on PostgreSQL also in the generic plan
a prepared statement ends up with (core/prepared.py), made without the provider it is run
with."""

import re

import pytest
from django.db import connection
from django.utils import timezone

from core.models import OPEN_STATES, OutboxEntry, OutboxState
from core.outbox import _claim_next_sql

pytestmark = pytest.mark.django_db

PROVIDER = "volantinopiu"


@pytest.fixture
def a_run_mostly_done():
    """What a relay meets well into a burst: most entries done, the rest pending. Enough of
    them that the planner's estimates leave no doubt (with 500 entries, a run of the whole
    suite on PostgreSQL once saw the generic plan walk the primary key)."""
    now = timezone.now()
    OutboxEntry.objects.bulk_create(
        OutboxEntry(
            provider=PROVIDER,
            model_label="campaigns.shop",
            object_id=str(n),
            object_key=f"campaigns.shop:{n}",
            operation="create",
            state=OutboxState.DONE if n < 4_900 else OutboxState.PENDING,
            next_attempt_at=now,
        )
        for n in range(5_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_outboxentry")


def _parameters() -> list:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    states = [str(state) for state in OPEN_STATES]
    return ["token", now, str(OutboxState.IN_FLIGHT), PROVIDER, now, *states]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_on_sqlite_the_claim_walks_the_relay_index_without_sorting(a_run_mostly_done):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {_claim_next_sql('sqlite')}", _parameters())
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "outbox_pending_idx" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_on_postgresql_the_generic_plan_walks_the_relay_index(a_run_mostly_done):
    numbered = iter(range(1, 100))
    sql = re.sub("%s", lambda _: f"${next(numbered)}", _claim_next_sql("postgresql"))
    values = ", ".join(["%s"] * len(_parameters()))
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE claim_plan_probe AS {sql}")
        try:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute(f"EXPLAIN EXECUTE claim_plan_probe({values})", _parameters())
            plan = " ".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE claim_plan_probe")
    candidate = re.search(r"Index Scan using (\w+) on core_outboxentry candidate", plan)
    assert candidate is not None and candidate.group(1) == "outbox_pending_idx", plan
