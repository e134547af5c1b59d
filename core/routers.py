"""Where the provider slots live (core/limits.py).

On the embedded default (SQLite) the slots have a file of their own (settings: the "slots"
database). SQLite lets one writer at a time into a file, so in the main one a delivery taking
the slot another had just freed waited for whatever write held the lock meanwhile — most often
the freeing delivery recording its outcome — 5 to 20 ms for every Wolkvox call. In a file of
their own a slot is taken in well under a millisecond. A slot is a lease, not part of any
business transaction, so nothing needs the two files to commit together.

Where settings define no "slots" database (PostgreSQL, whose row locks do not get in each
other's way; the test suite) the slots stay in the default one."""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

SLOTS_DB = "slots"
_SLOT_MODEL = ("core", "providerslot")


def slots_db() -> str:
    """The database alias the provider slots live in (for raw SQL and transactions)."""
    return SLOTS_DB if SLOTS_DB in settings.DATABASES else DEFAULT_DB_ALIAS


def slots_connection():
    return connections[slots_db()]


def slots_atomic() -> transaction.Atomic:
    return transaction.atomic(using=slots_db())


class SlotsRouter:
    """First among DATABASE_ROUTERS: it alone decides what the slots database holds."""

    def db_for_read(self, model, **hints) -> str | None:
        return slots_db() if _is_slot(model._meta.app_label, model._meta.model_name) else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool | None:
        if SLOTS_DB not in settings.DATABASES:
            return None
        if db == SLOTS_DB:
            return _is_slot(app_label, model_name)  # the slot table, nothing else
        return False if _is_slot(app_label, model_name) else None


def _is_slot(app_label: str, model_name: str | None) -> bool:
    return (app_label, model_name) == _SLOT_MODEL
