"""The sync core's tables: the outbox, the remote-call log, provider slots, jobs, idempotency
keys, API tokens, and the abstract base every synced model inherits."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from core.rows import row_exists


def by_user_field(
    verbose_name, *, on_delete=models.SET_NULL, related_name="+"
) -> models.ForeignKey:
    """The user who did something to a record (made, checked, confirmed it): optional, and with
    no reverse accessor, since nothing lists a user's records through it."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name=related_name,
    )


class SyncStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SYNCED = "synced", _("synced")
    FAILED = "failed", _("failed")


class SyncedModel(models.Model):
    """A local record kept in step with one remote record (dj-stripe's shape: local primary key,
    unique remote id, the raw remote payload kept)."""

    # NULL until the provider has assigned one (unique, and many NULLs are allowed).
    remote_id = models.CharField(
        _("remote id"), max_length=64, null=True, blank=True, unique=True, editable=False
    )
    sync_status = models.CharField(
        _("sync status"),
        max_length=16,
        choices=SyncStatus.choices,
        default=SyncStatus.PENDING,
        db_index=True,
    )
    sync_error = models.TextField(_("sync error"), blank=True, default="")
    sync_attempts = models.PositiveIntegerField(_("sync attempts"), default=0)
    last_sync_attempt_at = models.DateTimeField(_("last sync attempt"), null=True, blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    remote_data = models.JSONField(_("remote data"), null=True, blank=True, editable=False)

    # Which provider this model syncs with (used by the outbox and the admin).
    sync_provider: str = ""

    class Meta:
        abstract = True

    @property
    def outbox_key(self) -> str:
        return f"{self._meta.label_lower}:{self.pk}"

    def _perform_unique_checks(self, unique_checks):
        """Django's, except that a check of one field with a value runs as one statement
        written once (`core.rows.row_exists`): every save through a service validates, and
        building the ORM's `exists()` cost more than running it. Same rule, same messages."""
        errors: dict[str, list] = {}
        rest = []
        for model_class, unique_check in unique_checks:
            if not self._unique_check_as_sql(model_class, unique_check, errors):
                rest.append((model_class, unique_check))
        for key, messages in super()._perform_unique_checks(rest).items():
            errors.setdefault(key, []).extend(messages)
        return errors

    def _unique_check_as_sql(self, model_class, unique_check, errors) -> bool:
        """Run a one-field check on this model's own table (False: not such a check, Django's
        code runs it). Its default manager must be a plain one: one that filters would make
        the ORM's query differ from the table's."""
        plain_manager = (
            type(model_class._default_manager).get_queryset is models.Manager.get_queryset
        )
        if len(unique_check) != 1 or model_class is not type(self) or not plain_manager:
            return False
        name = unique_check[0]
        field = self._meta.get_field(name)
        if field.primary_key or not field.concrete:
            return False
        value = getattr(self, field.attname)
        if value is None or (value == "" and connection.features.interprets_empty_strings_as_nulls):
            return True  # no value, nothing to look up (as Django)
        other = self.pk if not self._state.adding and self._is_pk_set() else None
        if row_exists(model_class, name, value, other_than=other):
            errors.setdefault(name, []).append(self.unique_error_message(model_class, unique_check))
        return True

    def outbox_label(self) -> str:
        """How the outbox names the record; models with free text about a person override it."""
        return str(self)


class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    IN_FLIGHT = "in_flight", _("in flight")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


# Entries in these states still have to reach the provider and hold back later entries of the
# same record (a delete never overtakes its create).
OPEN_STATES = (OutboxState.PENDING, OutboxState.IN_FLIGHT, OutboxState.FAILED)


class Operation(models.TextChoices):
    CREATE = "create", _("create")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")


class OutboxEntry(models.Model):
    """One change that must reach a provider, written in the same transaction as the change.

    Indexed only as it is read: every change writes an entry and every delivery rewrites it,
    and each index is one more write each time (on PostgreSQL all of them, as the state
    changes). The record and the next attempt are read through Meta.indexes; the provider keeps
    an index of its own, in id order, for the admin's list of one provider's entries."""

    provider = models.CharField(_("provider"), max_length=32, db_index=True)
    model_label = models.CharField(_("record type"), max_length=100)
    object_id = models.CharField(_("record id"), max_length=64)
    object_key = models.CharField(_("record"), max_length=170)
    object_repr = models.CharField(_("description"), max_length=200, blank=True, default="")
    operation = models.CharField(_("operation"), max_length=32, choices=Operation.choices)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    # Carried to the provider where its API accepts one (e.g. SMSHosting transactionId).
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, editable=False)
    state = models.CharField(
        _("state"), max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    enqueued_at = models.DateTimeField(_("last enqueued"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    # The previous attempt may have reached the provider: look the operation up before repeating.
    outcome_unknown = models.BooleanField(_("outcome unknown"), default=False)
    remote_id = models.CharField(_("remote id"), max_length=64, blank=True, default="")
    # Set while the entry waits for another record (e.g. its shop) to reach the provider.
    waiting_for = models.CharField(_("waiting for"), max_length=170, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")
    error_code = models.CharField(_("error code"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["object_key", "state"], name="outbox_key_state_idx"),
            # Two columns, so that SQLite's planner prefers it to outbox_due_idx when a success
            # looks for the entries waiting on its record: with the state alone it read every
            # pending entry, O(backlog) for each delivery. Only the entries that wait: nearly
            # every entry's `waiting_for` is empty, so statistics gave "waiting_for = <a value
            # not known yet>" every row, and PostgreSQL's generic plan of the followers' read
            # walked the table (87 to 141 buffers a success); the queries name the
            # condition too, so that both databases see they may use it.
            models.Index(
                fields=["waiting_for", "state"],
                condition=~models.Q(waiting_for=""),
                name="outbox_waiting_idx",
            ),
            # A relay's next claim: its provider's pending entries in the order they came, and
            # only those (an entry leaves it when it is claimed: on PostgreSQL, where an
            # update writes every index whose condition the new row meets, the claim and the
            # outcome write one index fewer).
            models.Index(
                fields=["provider", "id"],
                condition=models.Q(state=OutboxState.PENDING),
                name="outbox_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.object_repr or self.object_key}"


class RemoteCall(models.Model):
    """One call made to a provider: what, when, how long, how it ended. No secrets, no bodies."""

    provider = models.CharField(_("provider"), max_length=32, db_index=True)
    operation = models.CharField(_("operation"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=300)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    error_code = models.CharField(_("error code"), max_length=64, blank=True, default="")
    error = models.TextField(_("error"), blank=True, default="")
    answer_shape = models.TextField(
        _("answer shape"),
        blank=True,
        default="",
        help_text=_("Keys and value types of an answer that could not be read; never values."),
    )
    ok = models.BooleanField(_("succeeded"), db_index=True)
    outbox_entry = models.ForeignKey(
        OutboxEntry,
        verbose_name=_("outbox entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    # When the call was made: a delivery writes its calls with its outcome, a moment later.
    created_at = models.DateTimeField(
        _("when"), default=timezone.now, editable=False, db_index=True
    )

    class Meta:
        verbose_name = _("remote call")
        verbose_name_plural = _("remote calls")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.method} {self.path} → {self.status_code or '—'}"


class ProviderSlot(models.Model):
    """One of N permits for calls in flight to a provider, shared by every worker process."""

    provider = models.CharField(max_length=32)
    index = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("provider slot")
        verbose_name_plural = _("provider slots")
        constraints = [
            models.UniqueConstraint(fields=["provider", "index"], name="provider_slot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider}#{self.index}"


class RelayRequest(models.Model):
    """Whether a relay for a provider is queued and has not started yet (core/relay.py): while
    one is, a commit needs no message of its own, since that relay will claim its entry."""

    provider = models.CharField(max_length=32, primary_key=True)
    requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("relay request")
        verbose_name_plural = _("relay requests")

    def __str__(self) -> str:
        return self.provider


class BreakerState(models.TextChoices):
    CLOSED = "closed", _("closed (calls go out)")
    OPEN = "open", _("open (calls suspended)")
    HALF_OPEN = "half_open", _("half-open (one trial call)")


class ProviderBreaker(models.Model):
    """The circuit breaker of one provider, shared by every worker (core/breaker.py). No row
    means closed with no failures."""

    provider = models.CharField(_("provider"), max_length=32, unique=True)
    state = models.CharField(
        _("state"), max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    since = models.DateTimeField(_("in this state since"), default=timezone.now)
    retry_at = models.DateTimeField(_("next trial call"), null=True, blank=True)
    # The delivery making the trial call while half-open, and until when it may.
    probe_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    probe_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)

    class Meta:
        verbose_name = _("provider circuit breaker")
        verbose_name_plural = _("provider circuit breakers")

    def __str__(self) -> str:
        return f"{self.provider}: {self.get_state_display()}"


class ProviderCheck(models.Model):
    """One run of the read-only provider check (`checkproviders`, **Verifica fornitori**)."""

    provider = models.CharField(_("provider"), max_length=32, db_index=True)
    passed = models.BooleanField(_("passed"))
    summary = models.CharField(_("summary"), max_length=300, blank=True, default="")
    report = models.JSONField(_("report"), default=dict)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now, db_index=True)
    checked_by = by_user_field(_("checked by"))

    class Meta:
        verbose_name = _("provider check")
        verbose_name_plural = _("provider checks")
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.checked_at:%Y-%m-%d %H:%M}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Job(models.Model):
    """A long task run by a worker (a pull, an import), with its progress for a live page."""

    kind = models.CharField(_("kind"), max_length=32)
    label = models.CharField(_("what"), max_length=200)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    step = models.CharField(_("step"), max_length=100, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    result = models.TextField(_("result"), blank=True)
    created_by = by_user_field(_("started by"))
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Outbox-grade running (core.jobs): a worker claims the job with a token of its own, and
    # holds it while its progress renews the lease; the sweeper takes back a job whose lease
    # expired (its worker stopped) and publishes again one the broker never handed out.
    claim_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("last enqueued"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("runs started"), default=0)
    checkpoint = models.JSONField(
        _("checkpoint"),
        default=dict,
        blank=True,
        help_text=_("What a resumable job kept of its work, for a run after a stopped worker."),
    )
    report = models.JSONField(
        _("report"),
        default=dict,
        blank=True,
        help_text=_("The job's result as data, for its page (a lead file's preview)."),
    )

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.label


class IdempotencyKey(models.Model):
    """The first answer to an API POST that carried an `Idempotency-Key`: the same key with the
    same request gets this answer again and changes nothing (core.idempotency)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    headers = models.JSONField(
        _("response headers"),
        default=dict,
        blank=True,
        help_text=_("Replayed with the answer: Location, Retry-After, Content-Language…"),
    )
    body = models.BinaryField(_("response body"), default=b"")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=("user", "key"), name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class ApiToken(AuthToken):
    """django-rest-knox's token under Vetrina's name, for the admin and the roles: only its
    digest and first characters are stored (core/tokens.py)."""

    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
