"""The read-only check of every configured provider (`manage.py checkproviders`, the admin's
**Verifica fornitori**): reachable, credentials accepted, how long it took, and the answer's
shape against what the client reads, naming every field that differs.

Each provider's client module knows its read-only calls; its app registers them here from
`AppConfig.ready()` (a registry: core imports no product app). A probe never writes to the
provider."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core import errors
from core.breaker import breaker_status
from core.models import ProviderCheck
from core.provider_settings import settings_missing
from core.providers import (  # noqa: F401  (the apps register their probes through here)
    Probe,
    ProviderPreflight,
    preflight_providers,
    preflight_register,
    provider_label,
    provider_preflight,
)


@dataclass
class ProbeResult:
    name: str
    passed: bool
    reachable: bool
    credentials_accepted: bool | None
    latency_ms: int | None
    fields: list[str] = field(default_factory=list)
    error: str = ""
    shape: str = ""


@dataclass
class ProviderReport:
    provider: str
    label: str
    configured: bool
    passed: bool
    missing_settings: list[str]
    probes: list[ProbeResult]
    note: str = ""
    breaker: dict[str, Any] = field(default_factory=dict)
    checked_at: str = ""

    def summary(self) -> str:
        """One line for the table and the admin list: what passed or why not."""
        if self.missing_settings:
            return _("not configured: %(names)s") % {"names": ", ".join(self.missing_settings)}
        failed = [p for p in self.probes if not p.passed]
        if not failed:
            return self.note or _("all %(n)d read calls answered as expected") % {
                "n": len(self.probes)
            }
        first = failed[0]
        if first.fields:
            detail = _("fields differ: %(fields)s") % {"fields": "; ".join(first.fields)}
        else:
            detail = first.error
        return f"{first.name}: {detail}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def preflight_run(provider: str | None = None) -> list[ProviderReport]:
    """Check one provider, or every registered one; never writes to a provider."""
    chosen = [p for p in preflight_providers() if provider in (None, p.provider)]
    if provider and not chosen:
        raise LookupError(provider)
    reports = []
    for preflight in chosen:
        report = _check(preflight)
        report.breaker = breaker_status(preflight.provider)
        reports.append(report)
    return reports


def _check(preflight: ProviderPreflight) -> ProviderReport:
    now = timezone.now().isoformat(timespec="seconds")
    missing = settings_missing(preflight.settings)
    report = ProviderReport(
        provider=preflight.provider,
        label=str(preflight.label),
        configured=not missing,
        passed=False,
        missing_settings=missing,
        probes=[],
        note=str(preflight.no_read_call),
        checked_at=now,
    )
    if missing:
        return report
    try:
        probes = preflight.probes()
    except errors.ProviderError as exc:  # e.g. a client that refuses its settings
        report.probes.append(ProbeResult("settings", False, False, None, None, error=str(exc)))
        return report
    report.probes = [_probe(probe) for probe in probes]
    report.passed = all(p.passed for p in report.probes)
    return report


def _probe(probe: Probe) -> ProbeResult:
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        differing = list(probe.call())
    except errors.ContractDrift as exc:
        return ProbeResult(
            probe.name,
            False,
            True,
            True,
            elapsed(),
            fields=list(exc.fields) or [_("the answer could not be read")],
            error=exc.user_message,
            shape=exc.shape,
        )
    except errors.ProviderAuthError as exc:
        return ProbeResult(probe.name, False, True, False, elapsed(), error=str(exc))
    except errors.ProviderUnavailable as exc:
        return ProbeResult(probe.name, False, False, None, elapsed(), error=str(exc))
    except errors.ProviderError as exc:
        # It answered and did not refuse our credentials, but not with what we asked for.
        return ProbeResult(probe.name, False, True, True, elapsed(), error=str(exc))
    return ProbeResult(probe.name, not differing, True, True, elapsed(), fields=differing)


def preflight_check_and_keep(
    provider: str | None = None, *, user=None
) -> list[tuple[ProviderReport, Any]]:
    """Run the check and keep each provider's result with its date (the admin lists them)."""
    kept = []
    for report in preflight_run(provider):
        row = ProviderCheck.objects.create(
            provider=report.provider,
            passed=report.passed,
            summary=report.summary()[:300],
            report=report.as_dict(),
            checked_by=user if user is not None and user.is_authenticated else None,
        )
        kept.append((report, row))
    return kept


def preflight_failures(reports: list[ProviderReport], *, named: str | None) -> list[str]:
    """The providers that make the check fail: every configured one that did not pass, and the
    one asked for by name even when it is not configured."""
    return [r.label for r in reports if not r.passed and (r.configured or named)]
