"""Pull: import what a provider holds and report how it differs from what we hold.

Each provider registers one function that compares its lists with the local tables and fills a
DriftReport; the `pull` command and the admin run it, with or without dry-run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import job_runner_register


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
            lines.append("  " + _kind_count(kind, "in_step", count))
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
                ref = f"{_kind_name(item.kind)} {item.label}"
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
        state = "to_import" if self.dry_run else "imported"
        for kind, count in sorted(self.imported.items()):
            lines.append(_kind_count(kind, state, count))
        return "\n".join(lines)


# The kinds of record a pull compares (DriftLine.kind), as the report names them: one record,
# and the count lines, whole sentences so that each reads right in Italian (gender included).
KIND_NAMES = {
    "shop": {
        "one": gettext_lazy("shop"),
        "in_step": gettext_lazy("Shops in step: %(n)d"),
        "imported": gettext_lazy("Shops imported: %(n)d"),
        "to_import": gettext_lazy("Shops to import: %(n)d"),
    },
    "media": {
        "one": gettext_lazy("image"),
        "in_step": gettext_lazy("Images in step: %(n)d"),
        "imported": gettext_lazy("Images imported: %(n)d"),
        "to_import": gettext_lazy("Images to import: %(n)d"),
    },
    "campaign": {
        "one": gettext_lazy("campaign"),
        "in_step": gettext_lazy("Campaigns in step: %(n)d"),
        "imported": gettext_lazy("Campaigns imported: %(n)d"),
        "to_import": gettext_lazy("Campaigns to import: %(n)d"),
    },
    "program": {
        "one": gettext_lazy("fidelity program"),
        "in_step": gettext_lazy("Fidelity programs in step: %(n)d"),
        "imported": gettext_lazy("Fidelity programs imported: %(n)d"),
        "to_import": gettext_lazy("Fidelity programs to import: %(n)d"),
    },
    "card": {
        "one": gettext_lazy("fidelity card"),
        "in_step": gettext_lazy("Fidelity cards in step: %(n)d"),
        "imported": gettext_lazy("Fidelity cards imported: %(n)d"),
        "to_import": gettext_lazy("Fidelity cards to import: %(n)d"),
    },
    "request": {
        "one": gettext_lazy("care request"),
        "in_step": gettext_lazy("Care requests in step: %(n)d"),
        "imported": gettext_lazy("Care requests imported: %(n)d"),
        "to_import": gettext_lazy("Care requests to import: %(n)d"),
    },
}


def _kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, {}).get("one", kind))


def _kind_count(kind: str, state: str, n: int) -> str:
    """A count line of the report; a kind not listed above is a label already (e.g. "messaggi
    aggiornati"), shown with its count."""
    if kind in KIND_NAMES:
        return KIND_NAMES[kind][state] % {"n": n}
    return f"{capfirst(kind)}: {n}"


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


def register_pull_job() -> None:
    job_runner_register("pull", _pull_job, resumable=True)
