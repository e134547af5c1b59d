"""Reads of the outbox that the apps' services and sync handlers make (HackSoft: selectors):
whether a record's create may have reached its provider, which entries failed or wait for a
person's decision, which remote ids a delete still names. The apps read the outbox only
through these, and change it only through `core.outbox`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from core.models import OPEN_STATES, Operation, OutboxEntry, OutboxState, SyncedModel


def _entries_of(model: type[SyncedModel], object_ids: Iterable[Any]) -> QuerySet[OutboxEntry]:
    return OutboxEntry.objects.filter(
        model_label=model._meta.label_lower, object_id__in=[str(pk) for pk in object_ids]
    )


def outbox_create_may_have_arrived(*, obj: SyncedModel) -> bool:
    """Whether a create of `obj` may have reached its provider, answer or not: in flight or
    done, attempted, or with its outcome unknown."""
    return OutboxEntry.objects.filter(
        Q(state__in=(OutboxState.IN_FLIGHT, OutboxState.DONE))
        | Q(attempts__gt=0)
        | Q(outcome_unknown=True),
        object_key=obj.outbox_key,
        operation=Operation.CREATE,
    ).exists()


def outbox_failed_entries(
    *, model: type[SyncedModel], object_ids: Iterable[Any]
) -> QuerySet[OutboxEntry]:
    """The failed entries of these records, for a person's decision (core.outbox:
    `outbox_resend`, `outbox_mark_delivered`)."""
    return _entries_of(model, object_ids).filter(state=OutboxState.FAILED)


def outbox_has_unknown_outcome(*, model: type[SyncedModel], object_ids: Iterable[Any]) -> bool:
    """Whether an entry of these records failed with its outcome unknown: the provider may
    have acted, and a person decides."""
    return (
        outbox_failed_entries(model=model, object_ids=object_ids)
        .filter(outcome_unknown=True)
        .exists()
    )


def outbox_awaiting_decision(*, obj: SyncedModel, code: str) -> QuerySet[OutboxEntry]:
    """The latest create of `obj` that stopped for a person's decision (failed with `code`),
    as a queryset of that one entry (or none) for the outbox's writes."""
    latest = (
        _entries_of(type(obj), [obj.pk])
        .filter(operation=Operation.CREATE, state=OutboxState.FAILED, error_code=code)
        .order_by("-id")
        .values("id")[:1]
    )
    return OutboxEntry.objects.filter(id__in=latest)


def outbox_remote_ids_deleted(
    *, model: type[SyncedModel], remote_ids: list[str], open_only: bool = False
) -> set[str]:
    """Those of `remote_ids` that a delete of this record type names in its payload: remote
    records of rows deleted here, which no other row may take as its own. `open_only`: only
    the deletes still to go out (not done, not cancelled)."""
    deletes = OutboxEntry.objects.filter(
        model_label=model._meta.label_lower,
        operation=Operation.DELETE,
        payload__remote_id__in=remote_ids,
    )
    if open_only:
        deletes = deletes.filter(state__in=OPEN_STATES)
    return {str(named) for named in deletes.values_list("payload__remote_id", flat=True)}
