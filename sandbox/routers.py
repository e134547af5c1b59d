"""Where the provider sandboxes keep what they hold.

The sandboxes stand for other companies' systems. On the embedded default they keep their data
in a SQLite file of their own (settings: the "sandbox" database), as a real provider keeps its
own: a simulated provider storing 10,000 leads then never holds the write lock that Vetrina's web
server and workers wait for. Where settings define no "sandbox" database (the test suite, a
PostgreSQL install) they share the default one. See docs/sandbox.md."""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

SANDBOX_DB = "sandbox"
APP_LABEL = "sandbox"


def sandbox_db() -> str:
    """The database alias the sandbox's models live in (for raw SQL and transactions)."""
    return SANDBOX_DB if SANDBOX_DB in settings.DATABASES else DEFAULT_DB_ALIAS


def sandbox_connection():
    return connections[sandbox_db()]


def sandbox_atomic() -> transaction.Atomic:
    return transaction.atomic(using=sandbox_db())


class SandboxRouter:
    def db_for_read(self, model, **hints) -> str | None:
        return sandbox_db() if model._meta.app_label == APP_LABEL else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        if SANDBOX_DB not in settings.DATABASES:
            return None
        # The sandbox's tables in its database only, and nothing else there.
        return (app_label == APP_LABEL) == (db == SANDBOX_DB)
