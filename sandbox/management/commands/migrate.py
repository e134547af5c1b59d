"""`migrate` that also migrates the sandbox's own database when settings define one, so that
`manage.py migrate` keeps setting everything up (see sandbox/routers.py)."""

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS

from sandbox.routers import SANDBOX_DB, sandbox_db


class Command(MigrateCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options["database"] == DEFAULT_DB_ALIAS and sandbox_db() == SANDBOX_DB:
            super().handle(*args, **{**options, "database": SANDBOX_DB})
