"""`migrate` that also migrates the other databases the settings define on the embedded default
— the sandboxes' (sandbox/routers.py) and the provider slots' (core/routers.py) — so that
`manage.py migrate` keeps setting everything up. Each holds only its own tables: the routers
decide."""

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS


class Command(MigrateCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options["database"] != DEFAULT_DB_ALIAS:
            return
        for alias in settings.DATABASES:
            if alias != DEFAULT_DB_ALIAS:
                super().handle(*args, **{**options, "database": alias})
