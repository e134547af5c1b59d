"""Sync handlers: how one model's outbox operations become provider calls.

A handler is registered per model and only maps; the outbox decides when to call it, and the
provider client knows the wire format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from core.models import SyncedModel


class Deferred(Exception):
    """Raised by a handler that may not call the provider before `until` (a daily budget
    spent, say): the entry waits, and the attempt does not count. `code` is kept as the entry's
    error code (e.g. CIRCUIT_OPEN, which lets a closing breaker find what it held back)."""

    def __init__(self, until: datetime, message: str, *, code: str = "") -> None:
        self.until = until
        self.message = message
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class RemoteState:
    """What the provider holds for a record after a call: its id and its raw data."""

    remote_id: str
    data: dict[str, Any] = field(default_factory=dict)


class SyncHandler(ABC):
    """Subclass per synced model; every method must be safe to run twice."""

    provider: ClassVar[str]
    model: ClassVar[type[SyncedModel]]
    # False when the provider has no call to delete this kind of record (e.g. media).
    remote_delete: ClassVar[bool] = True
    # True when building what a create sends takes long (a Wolkvox chunk of 10,000 leads):
    # `prepare` then runs before a provider slot is taken, so the slot is held for the call only.
    prepares: ClassVar[bool] = False
    # True when sending a record as read a moment before its call is harmless even if it was
    # deleted here meanwhile: its create reaches nobody beyond the provider's copy, which its
    # remote delete (queued behind the claimed entry) then removes, and no hook writes with the
    # outcome. A relay then reads a batch's records with its claim (core.outbox._read_records)
    # instead of one by one before each call.
    read_with_claim: ClassVar[bool] = False

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        """Model fields to store from the provider's answer, beyond remote id and raw data."""
        return {}

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        """Runs in the transaction that records a success (e.g. to recompute a balance)."""
        return None

    def after_failure(self, *, object_id: str, message: str) -> None:
        """Runs in the transaction that records a permanent failure (no more retries)."""
        return None

    def prerequisites(self, obj: SyncedModel) -> list[SyncedModel]:
        """Records that must exist remotely before this one can be sent (e.g. its shop)."""
        return []

    def prepare(self, obj: SyncedModel) -> None:
        """Build what `create` sends, before a slot is taken (only when `prepares`); it may keep
        the result on `obj`, which `create` receives next."""
        return None

    def unprepare(self, obj: SyncedModel) -> None:
        """Give back what `prepare` took when the delivery ends without calling `create` (no
        slot came in time, or the attempt stopped before sending)."""
        return None

    @abstractmethod
    def create(self, obj: SyncedModel) -> RemoteState:
        """Make the call; raise a core.errors.ProviderError on failure."""

    @abstractmethod
    def update(self, obj: SyncedModel) -> RemoteState:
        """Make the call; raise a core.errors.ProviderError on failure."""

    @abstractmethod
    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Make the call; raise a core.errors.ProviderError on failure. It may answer what the
        provider said that Vetrina keeps (for `after_delete`), and writes nothing itself."""

    def after_delete(self, *, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """Runs in the transaction that records a delete's success, with what `delete` answered
        (e.g. a balance read back after it). Such writes belong here and not in `delete`: a
        relay records its batch's outcomes after the batch's last delivery, in the order they
        were delivered, and a write made while delivering would be overwritten by the outcome
        of an entry delivered before it (docs/sync.md, "The relay")."""
        return None

    def on_unknown_outcome(self, obj: SyncedModel) -> None:
        """Called before repeating an attempt whose answer was lost. A provider with no way to
        look the operation up raises here (e.g. a NeedsDecision), so nothing is sent blindly."""
        return None

    def find_existing(self, obj: SyncedModel) -> RemoteState | None:
        """Look up a record a previous create may have made although its answer was lost."""
        return None

    def adopt(self, obj: SyncedModel, found: RemoteState) -> RemoteState:
        """Make a record `find_existing` found ours: by default send our current fields to it,
        since they may have changed since the lost create."""
        obj.remote_id = found.remote_id
        return self.update(obj)

    def delete_payload(self, obj: SyncedModel) -> dict[str, Any]:
        """What a delete needs once the local row is gone (beyond the remote id)."""
        return {}

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        """Find, from a delete's payload, a record whose create answer was lost."""
        return None


_handlers: dict[str, SyncHandler] = {}


def sync_handler_register(handler_class: type[SyncHandler]) -> type[SyncHandler]:
    """Class decorator: make `handler_class` the handler of its model."""
    _handlers[handler_class.model._meta.label_lower] = handler_class()
    return handler_class


def sync_handler_for(model_label: str) -> SyncHandler:
    try:
        return _handlers[model_label.lower()]
    except KeyError:
        raise LookupError(f"No sync handler registered for {model_label}") from None


def sync_provider_prepares(provider: str) -> bool:
    """Whether any of `provider`'s handlers prepares its payload before taking a slot."""
    return any(h.prepares for h in _handlers.values() if h.provider == provider)
