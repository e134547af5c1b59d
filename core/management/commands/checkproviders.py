"""Check every configured provider with read-only calls before (and after) going live.

Examples:
    python manage.py checkproviders                       # every provider, as a table
    python manage.py checkproviders --provider amm        # one provider
    python manage.py checkproviders --json                # the same, as JSON for scripts

For each provider: reachable, credentials accepted, latency, and each answer's shape against
what Vetrina's client reads, naming every field that differs; the circuit breaker's state.
Exits 0 only when every configured provider passes, 1 naming those that did not. Nothing is
written to any provider; each result is kept (admin: **Verifica fornitori**)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.preflight import (
    ProviderReport,
    preflight_check_and_keep,
    preflight_failures,
    preflight_providers,
)


class Command(BaseCommand):
    help = _("Check each configured provider with read-only calls (nothing is written).")

    def add_arguments(self, parser):
        names = ", ".join(p.provider for p in preflight_providers())
        parser.add_argument("--provider", help=_("only this provider: one of %s") % names)
        parser.add_argument("--json", action="store_true", help=_("print the results as JSON"))

    def handle(self, *args, provider: str | None, json: bool, **options) -> None:
        known = [p.provider for p in preflight_providers()]
        if provider and provider not in known:
            raise CommandError(
                _("Unknown provider %(name)r: choose one of %(known)s.")
                % {"name": provider, "known": ", ".join(known)}
            )
        reports = [report for report, _row in preflight_check_and_keep(provider)]
        if json:
            self.stdout.write(_dumps([r.as_dict() for r in reports]))
        else:
            self.stdout.write(_table(reports))
        failing = preflight_failures(reports, named=provider)
        if failing:
            raise CommandError(
                _("Provider check failed: %(names)s.") % {"names": ", ".join(failing)},
                returncode=1,
            )


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else (_("yes") if value else _("no"))


def _table(reports: list[ProviderReport]) -> str:
    header = (
        _("provider"),
        _("result"),
        _("call"),
        _("reachable"),
        _("credentials"),
        _("latency"),
        _("details"),
    )
    rows = []
    for report in reports:
        result = (
            _("passed")
            if report.passed
            else (_("not configured") if not report.configured else _("FAILED"))
        )
        breaker = _("breaker: %(state)s") % {"state": report.breaker.get("label", "")}
        if not report.probes:
            rows.append((report.label, result, "—", "—", "—", "—", report.summary()))
        for probe in report.probes:
            detail = "; ".join(probe.fields) or probe.error or _("as expected")
            rows.append(
                (
                    report.label,
                    result,
                    probe.name,
                    _yes_no(probe.reachable),
                    _yes_no(probe.credentials_accepted),
                    f"{probe.latency_ms} ms" if probe.latency_ms is not None else "—",
                    detail,
                )
            )
        rows.append((report.label, "", "", "", "", "", breaker))
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)
