"""The registry of providers as their apps describe them: each app registers its provider's
name, the settings its client needs and its read-only probes (`core/preflight.py` runs them).
Below the breaker and the preflight runner, which both read it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.provider_settings import provider_setting_names


@dataclass(frozen=True)
class Probe:
    """One read-only call. `call` makes it and returns the fields of the answer that differ from
    what the client expects (empty when the answer reads as expected); a failure is raised as a
    `core.errors.ProviderError` (a ContractDrift names its fields)."""

    name: str
    call: Callable[[], list[str]]


@dataclass(frozen=True)
class ProviderPreflight:
    provider: str
    label: str
    # The settings the client needs (base URL and credentials): all set, or it is not ready.
    settings: tuple[str, ...]
    # Built when the check runs, so the client is made from the settings of that moment.
    probes: Callable[[], list[Probe]]
    # Said when the provider has no read-only call and only its settings can be checked.
    no_read_call: str = ""


def provider_preflight(
    provider: str,
    label: str,
    *,
    needs: Iterable[str],
    probes: Callable[[], list[Probe]],
    no_read_call: str = "",
) -> ProviderPreflight:
    """A provider's check, the settings its client `needs` named as its client module reads
    them (core.provider_settings: "TOKEN" for VOLANTINOPIU_TOKEN)."""
    return ProviderPreflight(
        provider, label, provider_setting_names(provider, needs), probes, no_read_call
    )


_registry: dict[str, ProviderPreflight] = {}


def preflight_register(preflight: ProviderPreflight) -> None:
    _registry[preflight.provider] = preflight


def preflight_providers() -> list[ProviderPreflight]:
    return list(_registry.values())


def provider_label(provider: str) -> str:
    """The provider's name as people know it ("VolantinoPiù" for "volantinopiu")."""
    registered = _registry.get(provider)
    return registered.label if registered else provider
