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
        for title, items in sections:
            lines.append(f"{title}: {len(items)}")
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


def pull_run(*, provider: str, dry_run: bool) -> DriftReport:
    try:
        function = _pullers[provider]
    except KeyError:
        raise LookupError(provider) from None
    return function(dry_run=dry_run)
