"""Everything Vetrina holds about one customer, gathered from every app that holds a part of it.

The customer is loyalty's (`loyalty.models.Customer`); messaging keeps the pushes sent to their
number, their care requests and orders, the call center the leads with their number. Each app
registers its part from its `AppConfig.ready()` (a registry: the core imports no product app,
and loyalty does not import the apps that depend on it):

    customer_part_register(
        "callcenter",
        export=call_leads_export,        # (customer, user) -> {"call_center_leads": [...]}
        erase=call_leads_erase,          # (CustomerErasure) -> ["what the provider keeps", ...]
        timeline=call_leads_timeline,    # (customer, user) -> [TimelineItem, ...]
    )

The privacy export (loyalty.privacy.customer_export), the erasure (…customer_erase) and the
customer's timeline (loyalty.timeline.customer_timeline) ask every registered part, in the order
the apps are installed. Export and timeline pass `user` on: each part reads through
`core.access.scope_queryset(user, …)`, so a store manager sees only their shops' records and
nobody known sees nothing. The erasure runs inside one transaction: a part that fails undoes
the whole erasure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Each part's timeline reads at most this many of each kind of record.
TIMELINE_MAX_ITEMS = 100


@dataclass(frozen=True)
class TimelineItem:
    when: datetime
    kind: str
    text: str
    status: str


@dataclass(frozen=True)
class CustomerErasure:
    """What an erasure tells each part. `number` is the customer's mobile number as providers'
    records hold it (international digits, no "+": "393471234567"); `placeholder` replaces it
    (same form, unique, never a real number). When the parts run, the customer row is already
    anonymised (its msisdn is the placeholder)."""

    customer: Any
    number: str
    placeholder: str


@dataclass(frozen=True)
class CustomerAdminSection:
    """A collapsed section of the customer's admin page. `render(customer)` answers its HTML;
    give it a `short_description` (`@admin.display(description=…)`) for the field's label."""

    label: str
    render: Callable[[Any], str]


@dataclass(frozen=True)
class CustomerPart:
    name: str
    # (customer, user) -> the part's sections of the JSON export, JSON-ready
    export: Callable[[Any, Any], dict[str, Any]] | None = None
    # (CustomerErasure) -> what stays at a provider, one sentence each, for the DPO
    erase: Callable[[CustomerErasure], list[str]] | None = None
    # (customer, user) -> the part's items of the timeline, any order
    timeline: Callable[[Any, Any], Iterable[TimelineItem]] | None = None
    admin_section: CustomerAdminSection | None = None


_parts: dict[str, CustomerPart] = {}


def customer_part_register(
    name: str,
    *,
    export: Callable[[Any, Any], dict[str, Any]] | None = None,
    erase: Callable[[CustomerErasure], list[str]] | None = None,
    timeline: Callable[[Any, Any], Iterable[TimelineItem]] | None = None,
    admin_section: CustomerAdminSection | None = None,
) -> None:
    """Register (or replace) the part `name`; every argument is optional."""
    _parts[name] = CustomerPart(name, export, erase, timeline, admin_section)


def customer_parts() -> list[CustomerPart]:
    return list(_parts.values())


def customer_data_export(*, customer: Any, user: Any) -> dict[str, Any]:
    """Every part's sections of the export, in the order the parts were registered."""
    document: dict[str, Any] = {}
    for part in _parts.values():
        if part.export is not None:
            document.update(part.export(customer, user))
    return document


def customer_data_erase(erasure: CustomerErasure) -> list[str]:
    """Erase every part; answers what each says stays at its provider, in order."""
    kept: list[str] = []
    for part in _parts.values():
        if part.erase is not None:
            kept.extend(part.erase(erasure))
    return kept


def customer_data_timeline(*, customer: Any, user: Any) -> list[TimelineItem]:
    """Every part's items, newest first, at most TIMELINE_MAX_ITEMS in all."""
    items: list[TimelineItem] = []
    for part in _parts.values():
        if part.timeline is not None:
            items.extend(part.timeline(customer, user))
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:TIMELINE_MAX_ITEMS]


def customer_admin_sections() -> list[CustomerAdminSection]:
    return [part.admin_section for part in _parts.values() if part.admin_section is not None]
