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

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

SLOTS_DB = "slots"
# The provider slots and the relay requests: leases and flags, written outside any business
# transaction, read and written by every delivery.
_SLOT_MODELS = {("core", "providerslot"), ("core", "relayrequest")}


@dataclass(frozen=True)
class OptionalDatabase:
    """A database the settings may define for some tables of their own (a SQLite file of its
    own on the embedded default); where they do not, those tables stay in the default one.
    The slots here, the provider sandboxes (sandbox/routers.py)."""

    alias: str

    @property
    def defined(self) -> bool:
        return self.alias in settings.DATABASES

    def using(self) -> str:
        """The alias those tables live in (for raw SQL and transactions)."""
        return self.alias if self.defined else DEFAULT_DB_ALIAS

    def connection(self):
        return connections[self.using()]

    def atomic(self) -> transaction.Atomic:
        return transaction.atomic(using=self.using())


SLOTS = OptionalDatabase(SLOTS_DB)
# The database alias the provider slots live in, its connection, a transaction in it.
slots_db, slots_connection, slots_atomic = SLOTS.using, SLOTS.connection, SLOTS.atomic


class SlotsRouter:
    """First among DATABASE_ROUTERS: it alone decides what the slots database holds."""

    def db_for_read(self, model, **hints) -> str | None:
        return slots_db() if _is_slot(model._meta.app_label, model._meta.model_name) else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool | None:
        if not SLOTS.defined:
            return None
        if db == SLOTS_DB:
            return _is_slot(app_label, model_name)  # the slot table, nothing else
        return False if _is_slot(app_label, model_name) else None


def _is_slot(app_label: str, model_name: str | None) -> bool:
    return (app_label, model_name) in _SLOT_MODELS
