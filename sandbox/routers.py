"""Where the provider sandboxes keep what they hold.

The sandboxes stand for other companies' systems. On the embedded default they keep their data
in a SQLite file of their own (settings: the "sandbox" database), as a real provider keeps its
own: a simulated provider storing 10,000 leads then never holds the write lock that Vetrina's web
server and workers wait for. Where settings define no "sandbox" database (the test suite, a
PostgreSQL install) they share the default one. See docs/sandbox.md."""

from __future__ import annotations

from core.routers import OptionalDatabase

SANDBOX_DB = "sandbox"
APP_LABEL = "sandbox"
SANDBOX = OptionalDatabase(SANDBOX_DB)
# The database alias the sandbox's models live in, its connection, a transaction in it.
sandbox_db, sandbox_connection, sandbox_atomic = SANDBOX.using, SANDBOX.connection, SANDBOX.atomic


class SandboxRouter:
    def db_for_read(self, model, **hints) -> str | None:
        return sandbox_db() if model._meta.app_label == APP_LABEL else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        if not SANDBOX.defined:
            return None
        # The sandbox's tables in its database only, and nothing else there.
        return (app_label == APP_LABEL) == (db == SANDBOX_DB)
