"""The relay's claim walks the provider's pending entries through `outbox_pending_idx`, whatever
the entries already done: on SQLite by naming the index, on PostgreSQL also in the generic plan
a prepared statement ends up with (core/prepared.py), made without the provider it is run
with."""

import re

import pytest
from django.db import connection
from django.utils import timezone

from core.models import OPEN_STATES, OutboxEntry, OutboxState
from core.outbox import RELAY_BATCH_ENTRIES, _claim_next_sql, _followers_sql

pytestmark = pytest.mark.django_db

PROVIDER = "volantinopiu"


def _entries(count: int, *, pending_from: int) -> None:
    now = timezone.now()
    OutboxEntry.objects.bulk_create(
        OutboxEntry(
            provider=PROVIDER,
            model_label="campaigns.shop",
            object_id=str(n),
            object_key=f"campaigns.shop:{n}",
            operation="create",
            state=OutboxState.DONE if n < pending_from else OutboxState.PENDING,
            next_attempt_at=now,
        )
        for n in range(count)
    )


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_outboxentry")


@pytest.fixture
def a_run_mostly_done():
    """What a relay meets well into a burst: most entries done, the rest pending. Enough of
    them that the planner's estimates leave no doubt (with 500 entries, a run of the whole
    suite on PostgreSQL once saw the generic plan walk the primary key)."""
    _entries(5_000, pending_from=4_900)
    _analyze()


@pytest.fixture
def statistics_of_the_bursts_start():
    """The same run, with statistics taken while every entry was still pending (autovacuum
    analysed a fresh table in the middle of a burst): walking the primary key looks as cheap
    as the index, whereas it passes every entry done since."""
    _entries(5_000, pending_from=0)
    _analyze()
    OutboxEntry.objects.filter(id__lt=OutboxEntry.objects.order_by("id")[4_900].id).update(
        state=OutboxState.DONE
    )


def _parameters() -> list:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    states = [str(state) for state in OPEN_STATES]
    return ["token", now, str(OutboxState.IN_FLIGHT), PROVIDER, PROVIDER, now, *states]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
@pytest.mark.parametrize("limit", [1, RELAY_BATCH_ENTRIES])
def test_on_sqlite_the_claim_walks_the_relay_index_without_sorting(a_run_mostly_done, limit):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {_claim_next_sql('sqlite', limit)}", _parameters())
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "outbox_pending_idx" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
@pytest.mark.parametrize("statistics", ["a_run_mostly_done", "statistics_of_the_bursts_start"])
def test_on_postgresql_the_generic_plan_walks_the_relay_index(statistics, request):
    request.getfixturevalue(statistics)
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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
@pytest.mark.parametrize("statistics", ["a_run_mostly_done", "statistics_of_the_bursts_start"])
def test_on_postgresql_a_batchs_claim_planned_with_its_values_walks_the_relay_index(
    statistics, request
):
    """A batch's claim is not prepared (core.outbox._claim_next_raw): planned with its values,
    it walks the index of pending entries under either statistics."""
    request.getfixturevalue(statistics)
    with connection.cursor() as cursor:
        sql = _claim_next_sql("postgresql", RELAY_BATCH_ENTRIES)
        cursor.execute(f"EXPLAIN {sql}", _parameters())
        plan = " ".join(row[0] for row in cursor.fetchall())
    candidate = re.search(r"Index Scan using (\w+) on core_outboxentry candidate", plan)
    assert candidate is not None and candidate.group(1) == "outbox_pending_idx", plan
    # The pick runs once (an InitPlan), not as the inner side of a join run again per row.
    assert "InitPlan" in plan and "Semi Join" not in plan, plan


def _followers_parameters(count: int) -> list:
    keys = [f"campaigns.shop:{4950 + n}" for n in range(count)]
    open_states = (str(state) for state in OPEN_STATES)
    return [*keys, *open_states, *keys, str(OutboxState.PENDING), *keys]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
@pytest.mark.parametrize("count", [1, RELAY_BATCH_ENTRIES])
def test_on_sqlite_the_followers_read_uses_an_index_for_each_half(a_run_mostly_done, count):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {_followers_sql(count)}", _followers_parameters(count))
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "outbox_key_state_idx" in plan and "outbox_waiting_idx" in plan, plan
    assert "SCAN core_outboxentry " not in f"{plan} ", plan  # no whole-table scan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
@pytest.mark.parametrize("count", [1, RELAY_BATCH_ENTRIES])
def test_on_postgresql_the_followers_generic_plan_reads_through_indexes(a_run_mostly_done, count):
    """Nearly every entry's `waiting_for` is empty: a generic plan that took "waiting_for = $n"
    for every row walked the whole table for each success."""
    numbered = iter(range(1, 100))
    sql = re.sub("%s", lambda _: f"${next(numbered)}", _followers_sql(count))
    values = ", ".join(["%s"] * len(_followers_parameters(count)))
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE followers_plan_probe AS {sql}")
        try:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute(
                f"EXPLAIN EXECUTE followers_plan_probe({values})", _followers_parameters(count)
            )
            plan = " ".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE followers_plan_probe")
    assert "outbox_key_state_idx" in plan and "outbox_waiting_idx" in plan, plan
    assert "Seq Scan" not in plan and "core_outboxentry_pkey" not in plan, plan
