"""The outbox's hand-written statements are prepared once per PostgreSQL connection, and are
still counted, logged and read exactly as through Django's own cursor."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.services import shop_create
from core.models import OutboxEntry
from core.prepared import prepared_cursor
from core.rows import row_insert, row_load

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
MARK = "SELECT 1 AS prepared_probe WHERE 1 = %s"


def _prepared_probes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%prepared_probe%"],
        )
        return cursor.fetchone()[0]


@on_postgresql
def test_a_statement_is_prepared_once_and_then_reused():
    for _ in range(3):
        with prepared_cursor(connection) as cursor:
            cursor.execute(MARK, [1])
            assert cursor.fetchone() == (1,)
    assert _prepared_probes() == 1


@on_postgresql
def test_nothing_is_prepared_when_turned_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    with prepared_cursor(connection) as cursor:
        cursor.execute(MARK, [1])
    assert _prepared_probes() == 0


@on_postgresql
def test_django_own_cursors_still_prepare_nothing():
    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute(MARK, [1])
    assert _prepared_probes() == 0


def test_its_statements_are_counted_like_any_other():
    with CaptureQueriesContext(connection) as captured, prepared_cursor(connection) as cursor:
        cursor.execute(MARK, [1])
    assert [q["sql"] for q in captured.captured_queries if "prepared_probe" in q["sql"]]


def test_a_row_read_through_it_equals_the_orms():
    shop = shop_create(code="PREP-1", address="Via Roma 1", city="Milano")
    entry = OutboxEntry.objects.get(object_key=shop.outbox_key)
    for _ in range(2):  # the second read runs the prepared statement
        loaded = row_load(OutboxEntry, entry.pk)
        assert loaded.enqueued_at == entry.enqueued_at
        assert loaded.enqueued_at.utcoffset() is not None
        assert loaded.payload == entry.payload
        assert (loaded.state, loaded.object_key) == (entry.state, entry.object_key)


def test_an_entry_inserted_with_prebuilt_sql_reads_back_as_the_orm_wrote_it():
    shop = shop_create(code="PREP-2", address="Via Roma 2", city="Milano")
    entry = OutboxEntry.objects.get(object_key=shop.outbox_key)  # written by core.rows
    twin = OutboxEntry(
        provider=entry.provider,
        model_label=entry.model_label,
        object_id=entry.object_id,
        object_key=entry.object_key,
        object_repr=entry.object_repr,
        operation=entry.operation,
        payload={"nested": {"é": [1, 2]}},
        next_attempt_at=entry.next_attempt_at,
        enqueued_at=entry.enqueued_at,
    )
    row_insert(twin)
    assert twin.pk and twin.pk != entry.pk and not twin._state.adding
    stored = OutboxEntry.objects.get(pk=twin.pk)
    assert stored.payload == {"nested": {"é": [1, 2]}}
    assert stored.idempotency_key == twin.idempotency_key
    assert stored.created_at is not None and stored.updated_at is not None
    assert (stored.state, stored.attempts, stored.claim_token) == ("pending", 0, "")
    assert stored.next_attempt_at == entry.next_attempt_at


def test_a_row_is_found_by_a_unique_field_and_never_by_another():
    shop = shop_create(code="PREP-3", address="Via Roma 3", city="Milano")
    found = row_load(type(shop), "PREP-3", by="code")
    assert (found.pk, found.city) == (shop.pk, "Milano")
    assert row_load(type(shop), "NOPE", by="code") is None
    with pytest.raises(ValueError, match="not unique"):
        row_load(type(shop), "Milano", by="city")
