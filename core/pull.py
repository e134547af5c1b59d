"""Pull: import what a provider holds and report how it differs from what we hold.

Each provider registers one function that compares its lists with the local tables and fills a
DriftReport; the `pull` command and the admin run it, with or without dry-run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _


@dataclass
class DriftLine:
    kind: str  # e.g. "shop"
    label: str  # what a person recognises: shop code, promo name…
    local_id: int | None = None
    remote_id: str = ""
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field: (ours, theirs)
    note: str = ""


@dataclass
class DriftReport:
    provider: str
    dry_run: bool
    only_local: list[DriftLine] = field(default_factory=list)
    only_remote: list[DriftLine] = field(default_factory=list)
    different: list[DriftLine] = field(default_factory=list)
    imported: dict[str, int] = field(default_factory=dict)
    in_step: dict[str, int] = field(default_factory=dict)
    # Past this many lines per section only a count is kept (a pull may see 100,000 cards).
    max_lines: int = 200
    not_listed: dict[str, int] = field(default_factory=dict)

    def add(self, section: str, line: DriftLine) -> None:
        """Add a line to only_local / only_remote / different, within max_lines."""
        lines = getattr(self, section)
        if len(lines) < self.max_lines:
            lines.append(line)
        else:
            self.not_listed[section] = self.not_listed.get(section, 0) + 1

    def count_imported(self, kind: str) -> None:
        self.imported[kind] = self.imported.get(kind, 0) + 1

    def count_in_step(self, kind: str) -> None:
        self.in_step[kind] = self.in_step.get(kind, 0) + 1

    @property
    def has_drift(self) -> bool:
        return bool(self.only_local or self.only_remote or self.different)

    def as_text(self) -> str:
        lines = [
            _("Pull from %(provider)s%(dry)s")
            % {
                "provider": self.provider,
                "dry": _(" (dry run: nothing changed)") if self.dry_run else "",
            }
        ]
        for kind, count in sorted(self.in_step.items()):
            lines.append(_("  %(kind)s in step: %(n)d") % {"kind": kind, "n": count})
        sections = (
            (_("Only here (not at the provider)"), self.only_local),
            (_("Only at the provider"), self.only_remote),
            (_("Different"), self.different),
        )
        for (title, items), section in zip(
            sections, ("only_local", "only_remote", "different"), strict=True
        ):
            lines.append(f"{title}: {len(items) + self.not_listed.get(section, 0)}")
            for item in items:
                ref = f"{item.kind} {item.label}"
                if item.remote_id:
                    ref += f" (id {item.remote_id})"
                lines.append(f"  - {ref}{' — ' + item.note if item.note else ''}")
                for name, (ours, theirs) in item.differences.items():
                    lines.append(
                        "      "
                        + _("%(field)s: here %(ours)r, there %(theirs)r")
                        % {"field": name, "ours": ours, "theirs": theirs}
                    )
            if self.not_listed.get(section):
                lines.append(
                    "  " + _("… and %(n)d more not listed") % {"n": self.not_listed[section]}
                )
        verb = _("would be imported") if self.dry_run else _("imported")
        for kind, count in sorted(self.imported.items()):
            lines.append(f"{kind}: {count} {verb}")
        return "\n".join(lines)


PullFunction = Callable[..., DriftReport]
_pullers: dict[str, PullFunction] = {}


def pull_register(provider: str, function: PullFunction) -> None:
    _pullers[provider] = function


def pull_providers() -> list[str]:
    return sorted(_pullers)


ProgressCallback = Callable[[str, int, int], None]


def pull_run(
    *, provider: str, dry_run: bool, progress: ProgressCallback | None = None, **options: Any
) -> DriftReport:
    """Run a provider's pull. `progress(label, done, total)` is called as pages arrive;
    `options` are provider-specific (e.g. AMM's `full`, `movements`)."""
    try:
        function = _pullers[provider]
    except KeyError:
        raise LookupError(provider) from None
    return function(dry_run=dry_run, progress=progress or (lambda *args: None), **options)


def _pull_job(job, progress) -> str:
    report = pull_run(
        provider=job.params["provider"], dry_run=job.params.get("dry_run", False), progress=progress
    )
    return report.as_text()


def _register_pull_job() -> None:
    from core.jobs import job_runner_register

    job_runner_register("pull", _pull_job, resumable=True)
