"""Fast data generation for the benchmarks: bulk inserts, never one row at a time.

The million-row tables are written with one `executemany` per batch (Django's bulk_create
builds a model instance per row, which alone would take a minute for a million movements)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from loyalty.services import CUSTOMER_FIELDS
from messaging.services import SEND_FIELDS

BATCH = 20_000


def msisdn(n: int) -> str:
    """A valid Italian mobile number in international digits (393470000000 + n)."""
    return f"39347{n:07d}"


def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Callable[[int], Sequence[Any]],
    count: int,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """INSERT `count` rows built by `rows(i)` into `table`, in batches, one transaction each."""
    connection = connections[using]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (our own table names)
        connection.ops.quote_name(table),
        ", ".join(connection.ops.quote_name(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    for start in range(0, count, BATCH):
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.executemany(sql, [rows(i) for i in range(start, min(count, start + BATCH))])


def settle() -> None:
    """Write the generated rows back into the database files before a measurement starts:
    SQLite keeps them in its write-ahead log until a checkpoint, and the checkpoint of a seed
    of 250,000 rows would otherwise fall on one of the measured commits."""
    for alias in connections:
        if connections[alias].vendor == "sqlite":
            with connections[alias].cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def spread(count: int, days: int = 365) -> Iterator[Any]:
    """`count` datetimes spread over the last `days` days, oldest first."""
    now = timezone.now()
    step = timedelta(days=days) / max(count, 1)
    return (now - timedelta(days=days) + step * i for i in range(count))


def sandbox_amm_cards(*, program_id: int, count: int) -> None:
    """Cards held by the simulated AMM (what `pull amm` will read)."""
    from sandbox.routers import sandbox_db

    now = timezone.now()
    insert_rows(
        "sandbox_ammcard",
        ("program_id", "code", "msisdn", "contact", "activation_date", "active", "points"),
        lambda i: (
            program_id,
            f"BC{i:08d}",
            msisdn(i),
            "{}",
            now - timedelta(minutes=count - i),
            True,
            i % 500,
        ),
        count,
        using=sandbox_db(),
    )


def customers(*, count: int, first: int = 0) -> None:
    """Customers with push/SMS consent given, numbers msisdn(first … first+count-1)."""
    now = timezone.now()
    insert_rows(
        "loyalty_customer",
        CUSTOMER_FIELDS,  # msisdn, name, surname, email, the consents, created_at
        lambda i: (
            "+" + msisdn(first + i),
            f"Nome{i}",
            f"Cognome{i}",
            "",
            "given",
            "unknown",
            "unknown",
            now,
        ),
        count,
    )


def cards(*, program_id: int, count: int, customer_ids: Sequence[int] = ()) -> None:
    """Synced cards of a program; the first len(customer_ids) belong to those customers."""
    now = timezone.now()
    insert_rows(
        "loyalty_fidelitycard",
        (
            "program_id",
            "code",
            "customer_id",
            "starting_points",
            "send_sms",
            "active",
            "activation_date",
            "points",
            "remote_points",
            "created_at",
            "remote_id",
            "sync_status",
            "sync_error",
            "sync_attempts",
        ),
        lambda i: (
            program_id,
            f"LC{program_id}x{i:08d}",
            customer_ids[i] if i < len(customer_ids) else None,
            0,
            False,
            i % 10 != 0,
            now,
            i % 500,
            i % 500,
            now,
            f"local-{program_id}-{i}",
            "synced",
            "",
            1,
        ),
        count,
    )


def movements(*, card_ids: Sequence[int], count: int) -> None:
    """Point movements spread over the cards and over a year."""
    dates = list(spread(count))
    actions = ("ADD", "ADD", "ADD", "REWARD")
    insert_rows(
        "loyalty_pointmovement",
        (
            "card_id",
            "action",
            "points",
            "note",
            "send_sms",
            "date",
            "sync_status",
            "sync_error",
            "sync_attempts",
            "remote_id",
            "reference",
        ),
        lambda i: (
            card_ids[i % len(card_ids)],
            actions[i % 4],
            5 if i % 4 else -5,
            "",
            False,
            dates[i],
            "synced",
            "",
            1,
            f"mv-{i}",
            "",  # as a pull brings them: never sent with a reference of ours
        ),
        count,
    )


def push_sends(*, count: int) -> None:
    """Sent push sends (the history the API lists)."""
    now = timezone.now()
    insert_rows(
        "messaging_pushsend",
        (
            *(f"{n}_id" if n == "audience" else n for n in SEND_FIELDS),  # name … sandbox
            "audience_reach",
            "window_reason",
            "window_override_reason",
            "transaction_id",
            "status",
            "error",
            "resolved_count",
            "excluded",
            "created_at",
        ),
        lambda i: (
            f"Invio {i}",
            None,  # no audience
            "[]",
            "[]",
            "Offerte della settimana",
            "",
            True,
            "",
            "",
            "7BIT",
            None,
            False,
            "{}",
            "",  # sent inside the send window
            "",
            f"bench-{i:08d}",
            "sent",
            "",
            10,
            "{}",
            now - timedelta(minutes=i),
        ),
        count,
    )
