"""A record's "created" entry, its work done before the record's INSERT takes the write lock.

django-auditlog writes a creation's entry from `post_save`: it computes the record's values
(the diff from nothing) and saves a `LogEntry` through the ORM, all after the record's INSERT,
so inside the transaction and, on SQLite, while it holds the one write lock. That was more than
half of what a `shop_create` held the lock for (0.4 of 0.75 ms in a process of its own), and
with two cores shared by every process a transaction holding the lock runs at a fraction of a
core: the sync benchmark's producers held it 3–4 ms each (docs/benchmarks.md).

Here, for the models `core.audit.audit_register` tracks, the values and the entry are made in
`pre_save` — before the INSERT, so before the lock on SQLite (core/sqlite/base.py) — and
`post_save` only gives the entry the record's id and writes it with SQL built once
(`core.rows.row_insert`). The entry is the one auditlog writes: the same diff function, fields
and signals (`pre_log`, the entry's `pre_save` — which sets its author — and `post_save`,
`post_log`). auditlog's own receiver stands down through `pre_log`, its documented veto, for
a creation written here (so `pre_log` is sent twice for a creation: ours, then auditlog's
question, answered no), and writes every other entry itself: changes, deletions, accesses.

Only when no tracked field changes its value while the record is saved (a plain field, a date
without auto_now: `Field.pre_save` reads the attribute); a file field, which stores its file
and may rename it then, has its values read after the INSERT, as auditlog reads them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from auditlog import get_logentry_model
from auditlog.cid import get_cid
from auditlog.context import auditlog_disabled
from auditlog.diff import (
    get_field_value,
    is_primitive,
    model_instance_diff,
    track_field,
)
from auditlog.models import DEFAULT_OBJECT_REPR
from auditlog.signals import post_log, pre_log
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import router
from django.db.models import DateField, Field, Model
from django.db.models.signals import post_save, pre_save
from django.utils.encoding import smart_str

from core.rows import row_insert

# Set on a record about to be created (pre_save), until its next save: its creation's entry is
# written here, and auditlog's receiver, before or after ours, stands down (`_stand_down`).
_OURS = "_audit_creation_ours"
# The creation's values and entry, made in pre_save, taken by post_save.
_PREPARED = "_audit_creation_prepared"


@dataclass
class _Prepared:
    changes: dict[str, Any] | None
    entry: Model | None  # None when nothing is tracked with a value: no entry, as auditlog


def written_before_the_lock(model: type[Model]) -> None:
    """Write `model`'s creation entries here. Call it before `auditlog.register(model)`, so
    that these receivers run before auditlog's."""
    uid = f"core.audit_creations:{model._meta.label_lower}"
    pre_save.connect(_prepare, sender=model, dispatch_uid=uid, weak=False)
    post_save.connect(_write, sender=model, dispatch_uid=uid, weak=False)
    pre_log.connect(_stand_down, sender=model, dispatch_uid=uid, weak=False)


def _disabled(raw: bool) -> bool:
    """auditlog's own conditions (auditlog.receivers.check_disable)."""
    return auditlog_disabled.get() or bool(raw and settings.AUDITLOG_DISABLE_ON_RAW_SAVE)


def _prepare(sender, instance: Model, raw: bool = False, **kwargs) -> None:
    instance.__dict__.pop(_PREPARED, None)
    instance.__dict__.pop(_OURS, None)
    if not instance._state.adding or _disabled(raw):
        return
    instance.__dict__[_OURS] = True
    if _values_known_before_save(sender):
        instance.__dict__[_PREPARED] = _prepared(instance)


def _prepared(instance: Model) -> _Prepared:
    """The creation's changes and its entry, all but the record's id (auditlog.receivers
    ._create_log_entry and LogEntryManager.log_create, for a creation)."""
    changes = _creation_diff(instance, settings.AUDITLOG_STORE_JSON_CHANGES)
    if not changes:
        return _Prepared(changes, None)
    log_entry_model = get_logentry_model()
    entry = log_entry_model(
        content_type=ContentType.objects.get_for_model(instance),
        action=log_entry_model.Action.CREATE,
        changes=changes,
        # Never serialised: core.audit.audit_register does not ask auditlog to.
        serialized_data=None,
        cid=get_cid(),
    )
    # What saving the entry sends first: auditlog's context sets its author here.
    pre_save.send(
        sender=log_entry_model,
        instance=entry,
        raw=False,
        using=router.db_for_write(log_entry_model),
        update_fields=None,
    )
    return _Prepared(changes, entry)


def _creation_diff(instance: Model, use_json: bool) -> dict[str, Any] | None:
    """`model_instance_diff(None, instance)`, the diff auditlog records for a creation, with
    the fields it compares found once per model (`_compared_fields`) and the "before" side
    known: with no instance, auditlog's `get_field_value` answers the default it finds, and
    finds none (None, or "None" as text). Masked fields are left to auditlog's own."""
    fields = _compared_fields(type(instance))
    if fields is None:
        return model_instance_diff(None, instance, use_json_for_changes=use_json)
    before = None if use_json else "None"
    diff = {}
    for field in fields:
        after = get_field_value(instance, field, use_json)
        if after == before:
            continue
        if use_json:
            diff[field.name] = (before, after if is_primitive(after) else smart_str(after))
        else:
            diff[field.name] = (before, smart_str(after))
    return diff or None


@cache
def _compared_fields(model: type[Model]) -> tuple[Field, ...] | None:
    """The fields `model_instance_diff` compares for a new `model` instance (every tracked
    field, then the registration's include and exclude lists), None if it masks some."""
    from auditlog.registry import auditlog

    fields = {field for field in model._meta.get_fields() if track_field(field)}  # as
    # get_fields_in_model, which asks an instance for its model's fields
    registered = auditlog.get_model_fields(model)
    if registered["mask_fields"]:
        return None
    if registered["include_fields"] or registered["exclude_fields"]:
        if registered["include_fields"]:
            fields = {field for field in fields if field.name in registered["include_fields"]}
        fields = {field for field in fields if field.name not in registered["exclude_fields"]}
    return tuple(fields)


def _write(sender, instance: Model, created: bool, raw: bool = False, **kwargs) -> None:
    prepared = instance.__dict__.pop(_PREPARED, None)
    if not created or not instance.__dict__.get(_OURS) or _disabled(raw):
        return
    log_entry_model = get_logentry_model()
    action = log_entry_model.Action.CREATE
    results = pre_log.send(sender, instance=instance, action=action)
    if any(result is False for receiver, result in results if receiver is not _stand_down):
        return  # vetoed by a receiver of the project's: no entry (auditlog's is vetoed too)
    error = entry = None
    changes = None
    try:
        if prepared is None:  # a value is set while saving (a file): read after the INSERT
            prepared = _prepared(instance)
        changes = prepared.changes
        if prepared.entry is not None:
            entry = _finish(prepared.entry, instance)
            row_insert(entry)
            post_save.send(
                sender=log_entry_model,
                instance=entry,
                created=True,
                update_fields=None,
                raw=False,
                using=entry._state.db,
            )
    except BaseException as exc:
        error = exc
    finally:
        if entry is not None or error is not None:
            post_log.send(
                sender,
                instance=instance,
                instance_old=None,
                action=action,
                error=error,
                pre_log_results=results,
                changes=changes,
                log_entry=entry if error is None else None,
                log_created=entry is not None and error is None,
                use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES,
            )
    if error is not None:
        raise error


def _finish(entry: Model, instance: Model) -> Model:
    """What only the saved record tells: its id, its name, its additional data."""
    pk = getattr(instance, instance._meta.pk.attname)
    entry.object_pk = pk
    if isinstance(pk, int):
        entry.object_id = pk
    try:
        entry.object_repr = smart_str(instance)
    except ObjectDoesNotExist:
        entry.object_repr = DEFAULT_OBJECT_REPR
    get_additional_data = getattr(instance, "get_additional_data", None)
    if callable(get_additional_data):
        entry.additional_data = get_additional_data()
    return entry


def _stand_down(sender, instance: Model, action, **kwargs) -> bool | None:
    """auditlog's receiver asks (pre_log) before it writes: not a creation written here."""
    if action == get_logentry_model().Action.CREATE and instance.__dict__.get(_OURS):
        return False
    return None


@cache
def _values_known_before_save(model: type[Model]) -> bool:
    """Whether saving leaves every tracked field's value as it is (`Field.pre_save` reads the
    attribute; a date field does too without auto_now / auto_now_add, which auditlog's
    registration leaves out anyway)."""
    for field in model._meta.get_fields():
        if not track_field(field) or not isinstance(field, Field) or not field.concrete:
            continue
        if type(field).pre_save is Field.pre_save:
            continue
        if isinstance(field, DateField) and not (field.auto_now or field.auto_now_add):
            continue
        if _excluded(model, field):
            continue
        return False
    return True


def _excluded(model: type[Model], field: Field) -> bool:
    from auditlog.registry import auditlog

    if not auditlog.contains(model):
        return False
    fields = auditlog.get_model_fields(model)
    if fields["include_fields"] and field.name not in fields["include_fields"]:
        return True
    return field.name in fields["exclude_fields"]
