"""The audit trail: who created, changed, sent, withdrew, approved or erased what, and when.

Kept by django-auditlog in one table (`auditlog.LogEntry`). Each app registers the models its
users work on from its `AppConfig.ready()` with `audit_register(Model, exclude=...)`; from then
on every save and delete of such a record through the ORM is an entry with the fields that
changed (old → new) and its author: the signed-in user, or the API token's user
(`AuditActorMiddleware`); the worker, beat and commands write as nobody ("system"). Not
tracked: the sync bookkeeping a worker writes after every call (`SYNC_FIELDS`), ids and the
automatic timestamps, and any field that could hold a secret (`SECRET_WORDS`). Bulk writes
(queryset `update()`, `bulk_create`) are not entries: the services use them for bookkeeping.

What is not a plain save — a push sent, a campaign withdrawn, a flyer request approved or
rejected, a customer erased — is recorded by the service that does it with `audit_event()`.

The admin's "Cronologia" of a record shows its entries (core/admin_site.py); the whole trail is
under Cronologia delle modifiche (core/admin.py); a customer's timeline shows theirs
(loyalty/audit.py). Entries older than AUDIT_RETENTION_DAYS are purged hourly by beat
(core.retention). An erasure scrubs the person from the trail (`audit_scrub`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import SimpleLazyObject
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.audit_creations import written_before_the_lock
from core.clientaddr import client_address
from core.retention import rows_delete

# Written by the sync core and the workers after every call: never an entry of their own.
SYNC_FIELDS = (
    "remote_id",
    "sync_status",
    "sync_error",
    "sync_attempts",
    "last_sync_attempt_at",
    "synced_at",
    "remote_data",
)
# A field whose name holds one of these is never tracked, whatever the model.
SECRET_WORDS = ("password", "secret", "token", "digest", "api_key", "auth_key")
# What a scrubbed value reads as.
SCRUBBED = "***"
# The most characters of a value a page shows.
VALUE_MAX_CHARS = 140


class AuditEvent(models.TextChoices):
    """What a service records besides the saves: the entry's `additional_data["event"]`."""

    SENT = "sent", pgettext_lazy("audit trail", "sent")
    WITHDRAWN = "withdrawn", pgettext_lazy("audit trail", "withdrawn")
    APPROVED = "approved", pgettext_lazy("audit trail", "approved")
    REJECTED = "rejected", pgettext_lazy("audit trail", "rejected")
    ERASED = "erased", pgettext_lazy("audit trail", "erased (anonymised)")


ACTION_LABELS = {
    LogEntry.Action.CREATE: pgettext_lazy("audit trail", "created"),
    LogEntry.Action.UPDATE: pgettext_lazy("audit trail", "changed"),
    LogEntry.Action.DELETE: pgettext_lazy("audit trail", "deleted"),
    LogEntry.Action.ACCESS: pgettext_lazy("audit trail", "viewed"),
}


# --- registration --------------------------------------------------------------------------
def audit_register(
    model: type[models.Model], *, exclude: Iterable[str] = (), m2m: Iterable[str] = ()
) -> None:
    """Track `model`'s creations, changes and deletions, except the fields in `exclude`, the
    sync bookkeeping, the noise and anything named like a secret. `m2m`: many-to-many fields to
    track too (who was added or removed)."""
    fields = model._meta.get_fields()
    names = {field.name for field in fields}
    excluded = {name for name in (*SYNC_FIELDS, *exclude) if name in names}
    # Other records' links to this one (reverse relations): not this record's fields.
    excluded |= {field.name for field in fields if field.auto_created and not field.concrete}
    # The id and the automatic timestamps: the entry has its own, and `updated_at` would be in
    # every entry.
    excluded |= {
        field.name
        for field in fields
        if getattr(field, "primary_key", False)
        or getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
    }
    excluded |= {name for name in names if any(word in name for word in SECRET_WORDS)}
    written_before_the_lock(model)  # its creations' entries; before auditlog's receivers
    auditlog.register(model, exclude_fields=sorted(excluded), m2m_fields=set(m2m))


def audit_is_registered(model: type[models.Model]) -> bool:
    return auditlog.contains(model)


def audited_models() -> list[type[models.Model]]:
    return auditlog.get_models()


# --- explicit entries ----------------------------------------------------------------------
def audit_event(
    *,
    instance: models.Model,
    event: AuditEvent,
    user=None,
    details: Mapping[str, Any] | None = None,
) -> LogEntry:
    """Record `event` on `instance`, done by `user` (else the request's user, else nobody).
    `details` is JSON-ready and holds no personal data (counts, ids, reasons' presence)."""
    fields: dict[str, Any] = {
        "action": LogEntry.Action.UPDATE,
        "additional_data": {"event": str(event.value), **(details or {})},
    }
    if user is not None and user.is_authenticated:
        fields["actor"] = user
    return LogEntry.objects.log_create(instance, force_log=True, **fields)


# --- reading -------------------------------------------------------------------------------
def audit_entries_for(instance: models.Model) -> QuerySet[LogEntry]:
    """The record's entries, newest first."""
    return (
        LogEntry.objects.get_for_object(instance)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


def audit_entries_of(records: Mapping[type[models.Model], Any]) -> QuerySet[LogEntry]:
    """The entries of several records: model → its ids (a list or a values("pk") queryset),
    newest first."""
    condition = Q(pk__in=[])
    for model, ids in records.items():
        content_type = ContentType.objects.get_for_model(model)
        condition |= Q(content_type=content_type, object_id__in=ids)
    return (
        LogEntry.objects.filter(condition)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


@dataclass(frozen=True)
class AuditChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditLine:
    """An entry as people read it."""

    entry: LogEntry
    when: datetime
    author: str
    what: str
    record: str
    changes: list[AuditChange]

    @property
    def fields(self) -> str:
        return ", ".join(change.field for change in self.changes)


def audit_line(entry: LogEntry) -> AuditLine:
    return AuditLine(
        entry=entry,
        when=entry.timestamp,
        author=audit_author(entry),
        what=audit_what(entry),
        record=audit_record(entry),
        changes=audit_changes(entry),
    )


def audit_author(entry: LogEntry) -> str:
    return entry.actor.get_username() if entry.actor_id else _("system")


def audit_what(entry: LogEntry) -> str:
    """The event a service recorded, else created, changed or deleted."""
    data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    event = data.get("event")
    if event in AuditEvent.values:
        return str(AuditEvent(event).label)
    return str(ACTION_LABELS.get(entry.action, entry.action))


def audit_record(entry: LogEntry) -> str:
    model = entry.content_type.model_class()
    kind = capfirst(model._meta.verbose_name) if model is not None else entry.content_type
    return f"{kind}: {entry.object_repr}"


def audit_entry_str(entry: LogEntry) -> str:
    """ "Cliente: Sara Conti (modificato)": the entry's name wherever the admin shows one."""
    return f"{audit_record(entry)} ({audit_what(entry)})"


def audit_changed_fields(entry: LogEntry) -> str:
    """The names of the fields that changed, without their values, in the model's order."""
    model = entry.content_type.model_class()
    order = {f.name: i for i, f in enumerate(model._meta.get_fields())} if model else {}
    labels = []
    for name, values in sorted((entry.changes or {}).items(), key=lambda c: order.get(c[0], 999)):
        if isinstance(values, list) and all(v in (None, "None", "") for v in values):
            continue  # empty before and after: a blank field of a new record
        field = _field(model, name)
        labels.append(str(capfirst(field.verbose_name)) if field is not None else name)
    return ", ".join(labels)


def audit_changes(entry: LogEntry) -> list[AuditChange]:
    """Each changed field with its old and new value, as the admin would show them."""
    return _changes(entry, entry.content_type.model_class())


def _changes(entry: LogEntry, model: type[models.Model] | None) -> list[AuditChange]:
    """In the model's field order; a field shown the same before and after (empty → empty on
    a creation) is left out."""
    order = {f.name: i for i, f in enumerate(model._meta.get_fields())} if model else {}
    changes = []
    for name, values in sorted((entry.changes or {}).items(), key=lambda c: order.get(c[0], 999)):
        field = _field(model, name)
        label = str(capfirst(field.verbose_name)) if field is not None else name
        if isinstance(values, dict):  # a many-to-many change: {"operation", "objects"}
            objects = ", ".join(str(o) for o in values.get("objects", []))
            if values.get("operation") == "add":
                changes.append(
                    AuditChange(label, "", _("added: %(objects)s") % {"objects": objects})
                )
            else:
                changes.append(
                    AuditChange(label, _("removed: %(objects)s") % {"objects": objects}, "")
                )
            continue
        old, new = [*values, None, None][:2]
        change = AuditChange(label, _value(field, old), _value(field, new))
        if change.old != change.new:
            changes.append(change)
    return changes


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        # A many-to-many change made from the other side (tag.customers.add(…)) is the other
        # model's field; else a field since removed.
        others = (rel.field for rel in model._meta.related_objects if rel.many_to_many)
        return next((other for other in others if other.name == name), None)
    return field if hasattr(field, "verbose_name") else None


def _value(field: models.Field | None, value: Any) -> str:
    """A stored value (auditlog keeps them as text) as the admin would show it."""
    if value is None or value in ("None", ""):
        return "—"
    text = str(value)
    if text == SCRUBBED or field is None:
        return text[:VALUE_MAX_CHARS]
    if field.choices:
        return str(dict(field.flatchoices).get(text, text))
    if isinstance(field, models.BooleanField):
        return _("yes") if text == "True" else _("no") if text == "False" else text
    if isinstance(field, models.ForeignKey):
        related = (
            field.related_model._base_manager.filter(pk=text).first() if text.isdigit() else None
        )
        return str(related) if related is not None else f"#{text}"
    if isinstance(field, models.DateTimeField):
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            return text
        if timezone.is_naive(moment):  # auditlog keeps them in UTC, without the zone
            moment = moment.replace(tzinfo=UTC)
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 1] + "…"


# --- erasure -------------------------------------------------------------------------------
def audit_scrub(*, instance: models.Model, placeholder: str, texts: Iterable[str] = ()) -> int:
    """Take a person out of the trail (GDPR erasure): the entries of `instance` (the person's
    own record) keep who changed which field and when, but every value becomes SCRUBBED and the
    record's name `placeholder`; any other entry that holds one of `texts` (their number, their
    email) has it replaced by `placeholder`. The admin's own log of changes likewise. Answers
    how many entries were rewritten."""
    # Rewritten with update(), never save(): no signal may touch an entry's author.
    rewritten = 0
    own = LogEntry.objects.get_for_object(instance)
    for pk, changes in own.values_list("pk", "changes"):
        LogEntry.objects.filter(pk=pk).update(
            changes={
                name: values if isinstance(values, dict) else [SCRUBBED, SCRUBBED]
                for name, values in (changes or {}).items()
            },
            changes_text="",
            serialized_data=None,
            object_repr=placeholder,
        )
        rewritten += 1
    content_type = ContentType.objects.get_for_model(instance)
    rewritten += AdminLogEntry.objects.filter(
        content_type=content_type, object_id=str(instance.pk)
    ).update(object_repr=placeholder, change_message="")
    texts = [text for text in texts if text]
    if not texts:
        return rewritten
    mentions = Q()
    for text in texts:
        mentions |= (
            Q(object_repr__icontains=text)
            | Q(changes__icontains=text)
            | Q(changes_text__icontains=text)
        )
    for entry in LogEntry.objects.filter(mentions).exclude(pk__in=own.values("pk")):
        changes = entry.changes
        if changes is not None:
            changes = json.loads(
                _replace(json.dumps(changes, ensure_ascii=False), texts, placeholder)
            )
        LogEntry.objects.filter(pk=entry.pk).update(
            object_repr=_replace(entry.object_repr, texts, placeholder),
            changes_text=_replace(entry.changes_text, texts, placeholder),
            changes=changes,
        )
        rewritten += 1
    admin_mentions = Q()
    for text in texts:
        admin_mentions |= Q(object_repr__icontains=text) | Q(change_message__icontains=text)
    for admin_entry in AdminLogEntry.objects.filter(admin_mentions):
        AdminLogEntry.objects.filter(pk=admin_entry.pk).update(
            object_repr=_replace(admin_entry.object_repr, texts, placeholder),
            change_message=_replace(admin_entry.change_message, texts, placeholder),
        )
        rewritten += 1
    return rewritten


def _replace(text: str, needles: list[str], placeholder: str) -> str:
    for needle in needles:
        start = text.lower().find(needle.lower())
        while start != -1:
            text = text[:start] + placeholder + text[start + len(needle) :]
            start = text.lower().find(needle.lower(), start + len(placeholder))
    return text


# --- retention -----------------------------------------------------------------------------
def audit_cutoff() -> datetime:
    """Entries from before this moment are forgotten."""
    return timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)


def audit_trail_purge() -> int:
    """Beat, hourly (core.retention): delete the entries older than AUDIT_RETENTION_DAYS."""
    return rows_delete(LogEntry.objects.filter(timestamp__lt=audit_cutoff()))


# --- the author ----------------------------------------------------------------------------
class AuditActorMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware (the request's user is each entry's author), with three
    changes: the author is looked up when an entry is written, not when the request comes in,
    so that an API call's entries carry the token's user (DRF authenticates inside the view);
    the client's address is the one Vetrina trusts (core.clientaddr), never an
    X-Forwarded-For header as the client sent it; and a request handled inside another one
    leaves the outer request's author in place."""

    @staticmethod
    def _get_actor(request):
        return SimpleLazyObject(lambda: AuditlogMiddleware._get_actor(request))

    @staticmethod
    def _get_remote_addr(request) -> str | None:
        return client_address(request) or None

    @staticmethod
    def _get_remote_port(request) -> int | None:
        return None

    def __call__(self, request):
        """django-auditlog sets its context on the way in and never restores it on the way
        out: a request handled inside another one in the same context (the test suite's
        in-process provider sandbox, called while an admin step runs) left the outer request's
        later saves without an author ("system"). The outer request's context is put back."""
        outer = auditlog_value.get(None)
        try:
            return super().__call__(request)
        finally:
            if outer is not None:
                auditlog_value.set(outer)
