"""Import what a provider holds and report the drift from the local database.

Examples:
    python manage.py pull volantinopiu             # import remote-only records, report drift
    python manage.py pull volantinopiu --dry-run   # only report; change nothing
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.errors import ProviderError
from core.pull import pull_providers, pull_run


class Command(BaseCommand):
    help = "Import remote records from a provider and report what differs."

    def add_arguments(self, parser):
        parser.add_argument("provider", help="one of: " + ", ".join(pull_providers()))
        parser.add_argument(
            "--dry-run", action="store_true", help="Report only; change nothing locally."
        )

    def handle(self, *args, provider: str, dry_run: bool, **options) -> None:
        if provider not in pull_providers():
            raise CommandError(
                f"Unknown provider {provider!r}: choose one of {', '.join(pull_providers())}."
            )
        try:
            report = pull_run(provider=provider, dry_run=dry_run)
        except ProviderError as exc:
            raise CommandError(f"{provider} could not be read: {exc}") from exc
        self.stdout.write(report.as_text())
