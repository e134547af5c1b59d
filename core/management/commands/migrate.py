"""`migrate` that also migrates the databases of their own the settings define on the embedded
default — the sandboxes' (sandbox/routers.py) and the provider slots' (core/routers.py) — so
that `manage.py migrate` keeps setting everything up. Each holds only its own tables: the
routers decide."""

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS

from core.routers import SLOTS_DB
from sandbox.routers import SANDBOX_DB


class Command(MigrateCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options["database"] != DEFAULT_DB_ALIAS:
            return
        for alias in (SANDBOX_DB, SLOTS_DB):
            if alias in settings.DATABASES:
                super().handle(*args, **{**options, "database": alias})
