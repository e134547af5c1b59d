"""Import what a provider holds and report the drift from the local database.

Examples:
    python manage.py pull volantinopiu             # import remote-only records, report drift
    python manage.py pull volantinopiu --dry-run   # only report; change nothing
    python manage.py pull amm                      # programs; every card's balance, writing what changed
    python manage.py pull amm --full --movements   # every card, and their point records
    python manage.py pull smshosting               # delivery status of every open message
    python manage.py pull aisac                    # care requests: statuses, and new ones
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.errors import ProviderError
from core.pull import pull_providers, pull_run


class Command(BaseCommand):
    help = _("Import remote records from a provider and report what differs.")

    def add_arguments(self, parser):
        parser.add_argument(
            "provider", help=_("one of: %(known)s") % {"known": ", ".join(pull_providers())}
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("Report only; change nothing locally.")
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help=_(
                "AMM: write every card again (not only what changed) and, with --movements, "
                "read every card's records from the start."
            ),
        )
        parser.add_argument(
            "--movements",
            action="store_true",
            help=_(
                "AMM: also import point records (incremental: only cards whose balance moved, "
                "since the last pull)."
            ),
        )
        parser.add_argument("--no-progress", action="store_true", help=_("No progress bar."))

    def handle(self, *args, provider: str, dry_run: bool, **options) -> None:
        if provider not in pull_providers():
            raise CommandError(
                _("Unknown provider %(name)r: choose one of %(known)s.")
                % {"name": provider, "known": ", ".join(pull_providers())}
            )
        show = not options["no_progress"] and sys.stderr.isatty()
        try:
            report = pull_run(
                provider=provider,
                dry_run=dry_run,
                progress=self._progress if show else None,
                full=options["full"],
                movements=options["movements"],
            )
        except ProviderError as exc:
            raise CommandError(
                _("%(provider)s could not be read: %(error)s")
                % {"provider": provider, "error": exc}
            ) from exc
        if show:
            self.stderr.write("")
        self.stdout.write(report.as_text())

    def _progress(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "." * (width - filled)
        self.stderr.write(f"\r{label:<24} [{bar}] {done:>9,}/{total:,}", ending="")
        self.stderr.flush()
