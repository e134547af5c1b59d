"""The transactional outbox: enqueue a change with the record, claim it once, deliver it in
order, classify the outcome, retry with backoff, and sweep up what the broker lost."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache, partial

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.breaker import (
    breaker_admit,
    breaker_is_open,
    breaker_record,
    breaker_seen_columns,
)
from core.calllog import EntryCalls, calls_for_entry
from core.errors import ProviderError, ProviderRejected, ProviderUnavailable
from core.http import delivery_deadline
from core.limits import SlotsBusy, slot_acquire, slot_looks_free, slot_release
from core.models import (
    OPEN_STATES,
    Operation,
    OutboxEntry,
    OutboxState,
    SyncedModel,
    SyncStatus,
)
from core.prepared import prepared_cursor
from core.publish import outbox_publish
from core.relay import relay_started
from core.rows import (
    Statement,
    insert_statement,
    row_columns,
    row_create,
    row_from_db,
    row_load,
    rows_load,
    run_together,
    update_statement,
)
from core.sync import (
    Deferred,
    RemoteState,
    SyncHandler,
    sync_handler_for,
    sync_provider_prepares,
)
from core.tasks import outbox_deliver_task

logger = logging.getLogger("vetrina.outbox")

QUEUED_STATES = (OutboxState.PENDING, OutboxState.FAILED)
# How often a delivery waiting for a provider slot looks again: a slot freed is taken at once,
# which matters when two 0.5 s Wolkvox calls are all that may be in flight.
# A delivery waiting for a provider slot looks again after 2 ms, then twice as long each time
# up to 20 ms: with more deliveries than slots (several worker machines), the waiting ones would
# otherwise ask the database 500 times a second each and take the CPU the slot holders need.
SLOT_POLL_SECONDS = 0.002
SLOT_POLL_MAX_SECONDS = 0.02


# --- enqueue -----------------------------------------------------------------------------
def outbox_enqueue(*, obj: SyncedModel, operation: str) -> OutboxEntry | None:
    """Record that `obj` must be created, updated or deleted remotely.

    Call it in the transaction that changes `obj` (it opens one if there is none): the entry
    commits or rolls back with the change, and is published to the workers only on commit.
    Quick successive edits coalesce into one queued entry that reads the latest state when it is
    delivered; a delete cancels whatever had not gone out yet. A create is queued only for a
    record saved in the same transaction."""
    handler = sync_handler_for(obj._meta.label_lower)
    if operation == Operation.CREATE:
        return _enqueue_create(obj, handler)
    with transaction.atomic():
        # The caller's instance may predate a delivery that stored the remote id.
        obj.remote_id = (
            type(obj)._default_manager.filter(pk=obj.pk).values_list("remote_id", flat=True).first()
        )
        open_entries = list(
            OutboxEntry.objects.filter(object_key=obj.outbox_key, state__in=OPEN_STATES).order_by(
                "id"
            )
        )
        if operation == Operation.DELETE:
            return _enqueue_delete(obj, handler, open_entries)
        queued_write = next(
            (
                e
                for e in reversed(open_entries)
                if e.state in QUEUED_STATES and e.operation != Operation.DELETE
            ),
            None,
        )
        if queued_write is not None and _revive(queued_write):
            entry = queued_write
        else:  # nothing queued, or a worker took it meanwhile: a new entry goes behind it
            creating = any(e.operation == Operation.CREATE for e in open_entries)
            if operation == Operation.UPDATE and not obj.remote_id and not creating:
                operation = Operation.CREATE  # never reached the provider: create it now
            entry = _new_entry(obj, handler, operation)
        _mark_record(obj, status=SyncStatus.PENDING, error="")
    return entry


def _enqueue_create(
    obj: SyncedModel, handler: SyncHandler, ready: _ReadyEntry | None = None
) -> OutboxEntry:
    """A create is queued in the transaction that saved the record: it has no remote id and no
    open entry yet, so unlike an edit there is nothing to read first. `ready`: its entry, made
    before the transaction opened."""
    with transaction.atomic(savepoint=False):  # the caller's transaction, if any, is enough
        entry = (ready or _ReadyEntry(obj, handler, Operation.CREATE)).write(obj)
        if (obj.sync_status, obj.sync_error) != (SyncStatus.PENDING, ""):
            _mark_record(obj, status=SyncStatus.PENDING, error="")
    return entry


def _enqueue_delete(
    obj: SyncedModel, handler: SyncHandler, open_entries: list[OutboxEntry]
) -> OutboxEntry | None:
    now = timezone.now()
    for entry in open_entries:
        if entry.state in QUEUED_STATES:
            entry.state = OutboxState.CANCELLED
            entry.completed_at = now
            entry.last_error = _("Superseded by a deletion before it was sent.")
            entry.save(update_fields=["state", "completed_at", "last_error", "updated_at"])
    create_in_flight = any(
        e.operation == Operation.CREATE
        and (e.state == OutboxState.IN_FLIGHT or e.attempts > 0 or e.outcome_unknown)
        for e in open_entries
    )  # a create that was attempted may exist remotely, so the delete must still go out
    if not obj.remote_id and not create_in_flight:
        return None  # the provider never heard of it: nothing to delete remotely
    if not handler.remote_delete:
        return None  # the provider offers no way to delete it; it stays there
    payload = {"remote_id": obj.remote_id or "", **handler.delete_payload(obj)}
    return _new_entry(obj, handler, Operation.DELETE, payload=payload)


def _new_entry(
    obj: SyncedModel, handler: SyncHandler, operation: str, *, payload: dict | None = None
) -> OutboxEntry:
    return _ReadyEntry(obj, handler, operation, payload=payload).write(obj)


class _ReadyEntry:
    """An outbox entry made ready to be written: the instance, its SQL and its converted
    values (core.rows, built once, not by the ORM each time). Every change of a synced record
    writes one inside the change's transaction, on SQLite while it holds the one write lock;
    a creation makes it before its transaction opens, and `write` only gives it the new
    record's id and sends it."""

    def __init__(
        self,
        obj: SyncedModel,
        handler: SyncHandler,
        operation: str,
        *,
        payload: dict | None = None,
    ) -> None:
        now = timezone.now()
        self.provider = handler.provider
        self.entry = OutboxEntry(
            provider=handler.provider,
            model_label=obj._meta.label_lower,
            operation=operation,
            payload=payload or {},
            next_attempt_at=now,
            enqueued_at=now,
        )
        self.statement = insert_statement(self.entry)

    def write(self, obj: SyncedModel) -> OutboxEntry:
        self.statement.set("object_id", str(obj.pk))
        self.statement.set("object_key", obj.outbox_key)
        self.statement.set("object_repr", obj.outbox_label()[:200])
        self.statement.run()
        transaction.on_commit(partial(outbox_publish, self.entry.pk, self.provider))
        return self.entry


def _revive(entry: OutboxEntry) -> bool:
    """Queue an entry again from a fresh attempt count. Returns False, changing nothing, if a
    worker claimed it since it was read: a plain save would put an entry in flight back to
    pending, and a second worker would send it again (seen with PostgreSQL, where reading the
    open entries takes no lock)."""
    now = timezone.now()
    # Attempts start again from zero, but if one was made it may have reached the provider:
    # the next attempt looks the operation up first. Not when the only attempt was refused
    # outright (failed at once, outcome known: a 401, a 422): nothing reached the provider, and
    # a chunk Wolkvox refused must not stop for a decision about an answer that was never lost.
    refused_at_once = (
        entry.attempts == 1 and entry.state == OutboxState.FAILED and not entry.outcome_unknown
    )
    fresh = {
        "outcome_unknown": entry.outcome_unknown or (entry.attempts > 0 and not refused_at_once),
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "enqueued_at": now,
        "last_error": "",
        "error_code": "",
        "updated_at": now,
    }
    untouched = {"state": entry.state, "attempts": entry.attempts}
    if not OutboxEntry.objects.filter(pk=entry.pk, **untouched).update(**fresh):
        return False
    for name, value in fresh.items():
        setattr(entry, name, value)
    transaction.on_commit(partial(outbox_publish, entry.pk, entry.provider))
    return True


# --- retry and sweep ---------------------------------------------------------------------
def outbox_retry(*, entries: QuerySet[OutboxEntry]) -> int:
    """Send failed (or waiting) entries again now, from a fresh attempt count."""
    count = 0
    for entry in entries.filter(state__in=QUEUED_STATES):
        with transaction.atomic():
            if not _revive(entry):
                continue  # a worker is delivering it right now
            _mark_record_for_entry(entry, status=SyncStatus.PENDING, error="")
        count += 1
    return count


def outbox_resend(*, entries: QuerySet[OutboxEntry]) -> int:
    """A person decided that entries whose answer was lost did not arrive: send them again."""
    ids = list(entries.filter(state__in=QUEUED_STATES).values_list("id", flat=True))
    with transaction.atomic():
        count = outbox_retry(entries=OutboxEntry.objects.filter(id__in=ids))
        OutboxEntry.objects.filter(id__in=ids).update(outcome_unknown=False)
    return count


def outbox_cancel(*, entries: QuerySet[OutboxEntry]) -> int:
    """Give up on entries that have not gone out: their records say so (failed, "cancelled")
    and whatever waits on them (a push send, an upload) is settled.

    A cancel wins or loses whole: it is one UPDATE conditional on the state, claim and attempt
    count it read. If a worker claimed the entry since, the cancel changes nothing (the worker
    delivers it, as if the cancel had come a moment later); once cancelled, a worker can no
    longer claim it, and one whose lease ran out can no longer record an outcome over it.

    It also loses, changing nothing, where "not sent" could not be kept: an entry whose last
    answer was lost (it may be at the provider already: a person decides, or the lookup
    does), and an edit behind an earlier open entry of the same record (that entry sends the
    record's current fields, this edit's included). Entries waiting for a record whose create
    is cancelled are looked at again at once, and fail: that record will not be sent."""
    now = timezone.now()
    count = 0
    message = _("Cancelled by hand: not sent to the provider.")
    for entry in entries.filter(state__in=QUEUED_STATES, outcome_unknown=False):
        if entry.operation != Operation.CREATE and _earlier_open(entry).exists():
            continue
        with transaction.atomic():
            as_read = OutboxEntry.objects.filter(
                pk=entry.pk,
                state=entry.state,
                claim_token=entry.claim_token,
                attempts=entry.attempts,
                outcome_unknown=False,
            )
            if not as_read.update(
                state=OutboxState.CANCELLED, completed_at=now, next_attempt_at=now, lease_until=None
            ):
                continue  # a worker took it meanwhile: the cancel loses, whole
            if entry.operation != Operation.DELETE:
                _record_queryset(entry).update(sync_status=SyncStatus.FAILED, sync_error=message)
                sync_handler_for(entry.model_label).after_failure(
                    object_id=entry.object_id, message=message
                )
            if entry.operation == Operation.CREATE:
                _wake_waiting(entry.object_key, now)
        count += 1
    return count


def _earlier_open(entry: OutboxEntry) -> QuerySet[OutboxEntry]:
    return OutboxEntry.objects.filter(
        object_key=entry.object_key, id__lt=entry.pk, state__in=OPEN_STATES
    )


def _wake_waiting(object_key: str, now: datetime) -> None:
    """Entries waiting for this record are looked at again now (not in WAITING_RECHECK_SECONDS)."""
    waiting = list(
        OutboxEntry.objects.filter(waiting_for=object_key, state=OutboxState.PENDING)
        .exclude(waiting_for="")  # the index holds the waiting entries alone (core.models)
        .values_list("id", "provider")
    )
    if waiting:
        ids = [waiting_id for waiting_id, _provider in waiting]
        OutboxEntry.objects.filter(id__in=ids).update(next_attempt_at=now, enqueued_at=now)
        for waiting_id, provider in waiting:
            transaction.on_commit(partial(outbox_publish, waiting_id, provider))


def outbox_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Publish entries that are due but that nothing is delivering: the broker lost them, a
    retry came due, or the worker holding them died (lease expired)."""
    now = now or timezone.now()
    reenqueue_before = now - timedelta(seconds=settings.OUTBOX["REENQUEUE_AFTER_SECONDS"])
    due = (
        Q(state=OutboxState.PENDING, next_attempt_at__lte=now)
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=reenqueue_before))
    ) | Q(state=OutboxState.IN_FLIGHT, lease_until__lt=now)
    rows = list(
        OutboxEntry.objects.filter(due)
        .order_by("id")
        .values_list("id", "provider", "state")[:limit]
    )
    if rows:
        OutboxEntry.objects.filter(id__in=[row[0] for row in rows]).update(enqueued_at=now)
        for entry_id, provider, state in rows:
            # A due entry is left to its provider's relay if one is queued; an entry whose
            # worker died is not claimed by a relay, only by a task of its own.
            outbox_publish(entry_id, provider if state == OutboxState.PENDING else "")
    return len(rows)


# --- claim and deliver -------------------------------------------------------------------
def outbox_claim(
    *, entry_id: int, now: datetime | None = None, take_slot: bool = False, slot_first: bool = False
) -> OutboxEntry | None:
    """Take an entry for delivery, or return None if it is not ours to deliver now.

    One conditional UPDATE decides: on SQLite it runs alone, on PostgreSQL the row lock makes a
    second claimer re-check and miss. It is conditional on the state the entry was read in, so
    what is read is what is claimed. An entry waits while an earlier entry of the same record
    is still open, so a delete never overtakes its create. With `take_slot`, one of the
    provider's slots is taken right after (`entry.slot_token`, "" if none was free). With
    `slot_first` (a relay), a due entry is claimed only if a slot could be taken first (not
    for a handler that prepares its payload first): see `_claim_within_slots`."""
    now = now or timezone.now()
    entry = row_load(OutboxEntry, entry_id)
    if entry is None:
        return None
    lease = now + timedelta(seconds=settings.OUTBOX["LEASE_SECONDS"])
    token = uuid.uuid4().hex
    # Taken, so no longer waiting: were `waiting_for` kept, each later success of the record it
    # waited for would publish this entry again at once, ahead of its backoff after a failure.
    changes = {"claim_token": token, "lease_until": lease, "waiting_for": ""}
    if entry.state == OutboxState.PENDING and entry.next_attempt_at <= now:
        changes["state"] = OutboxState.IN_FLIGHT
        claim_sql = _CLAIM_DUE_SQL
    elif entry.state == OutboxState.IN_FLIGHT and entry.lease_until and entry.lease_until < now:
        # A worker died holding it: take over, and treat the last attempt as unresolved.
        changes["outcome_unknown"] = True
        claim_sql = _CLAIM_EXPIRED_SQL
    else:
        return None  # done, failed, not due yet, or in a live worker's hands
    slot_token = None
    if slot_first and claim_sql is _CLAIM_DUE_SQL and not _prepares(entry):
        slot_token = _slot_if_free(entry.provider)
        if slot_token is None:
            return None  # every slot is taken: a holder claims it once it gives its back
    # One statement, its own transaction: on SQLite a statement holds the write lock only while
    # it runs, whereas in a transaction the lock is held while Python builds the next statement
    # too, and every other writer (the web server, the other workers, the sandbox) waits. The
    # attempt is counted by the claim itself: one write, not two. Conditional on the state the
    # entry was read in (so what is read is what is claimed), and on no earlier open entry of
    # the same record (so a delete never overtakes its create).
    connection = connections[router.db_for_write(OutboxEntry)]
    adapt = connection.ops.adapt_datetimefield_value
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            claim_sql,
            [
                token,
                adapt(lease),
                str(OutboxState.IN_FLIGHT),
                changes.get("outcome_unknown", entry.outcome_unknown),
                entry_id,
                entry.attempts,
                entry.outcome_unknown,
                str(entry.state),
                adapt(now),
                *(str(state) for state in OPEN_STATES),
            ],
        )
        if not cursor.rowcount:
            if slot_token:
                slot_release(token=slot_token)
            return None
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.attempts += 1
    entry.slot_token = slot_token or ""
    return _with_slot(entry) if take_slot and not slot_token else entry


# outbox_claim's statement, written once: the ORM took far longer to build it (the NOT EXISTS
# subquery above all) than the database to run it, for every delivery.
_CLAIM_SQL = """
    UPDATE core_outboxentry
    SET claim_token = %s, lease_until = %s, waiting_for = '', state = %s, outcome_unknown = %s,
        attempts = attempts + 1
    WHERE id = %s AND attempts = %s AND outcome_unknown = %s AND state = %s AND {due}
      AND NOT EXISTS (
        SELECT 1 FROM core_outboxentry AS earlier
        WHERE earlier.object_key = core_outboxentry.object_key
          AND earlier.id < core_outboxentry.id
          AND earlier.state IN ({open_states})
      )
"""
_OPEN_PLACEHOLDERS = ", ".join(["%s"] * len(OPEN_STATES))
_CLAIM_DUE_SQL = _CLAIM_SQL.format(due="next_attempt_at <= %s", open_states=_OPEN_PLACEHOLDERS)
_CLAIM_EXPIRED_SQL = _CLAIM_SQL.format(due="lease_until < %s", open_states=_OPEN_PLACEHOLDERS)


def outbox_claim_next(*, provider: str, now: datetime | None = None) -> OutboxEntry | None:
    """Take `provider`'s first due entry, as `outbox_claim(take_slot=True)` takes a given one,
    or return None if none is due and free to go (every earlier entry of its record done).

    One statement picks and claims it: on SQLite it runs alone; on PostgreSQL the pick locks
    the row it chose and skips any another claimer holds (`FOR UPDATE SKIP LOCKED`), so
    relays running side by side take different entries instead of queueing for the first."""
    claimed = _claim_next_rows(provider, now or timezone.now())
    return _with_slot(claimed[0] if claimed else None)


def _claim_next_rows(provider: str, now: datetime, limit: int = 1) -> list[OutboxEntry]:
    """outbox_claim_next's statement alone, for up to `limit` entries (a relay's batch)."""
    return _claimed_entries(_claim_next_raw(provider, now, limit))


def _claim_next_raw(provider: str, now: datetime, limit: int = 1) -> list[tuple]:
    """The claim's rows as the database returns them: run inside a success's outcome
    transaction, where the relay claims its next entries with the same write (one lock, not
    two), and made entries (`_claimed_entries`) once that transaction is over."""
    connection = connections[router.db_for_write(OutboxEntry)]
    adapt = connection.ops.adapt_datetimefield_value
    sql = _claim_next_sql(connection.vendor, limit)
    # A batch's claim is planned with its values each time on PostgreSQL, not prepared: for
    # eight rows, a generic plan made with statistics taken mid-burst chose the provider's
    # index and a sort over every entry ever made (tests/core/test_claim_plan.py). Planning
    # once a batch costs less than it did once a delivery.
    cursor_of = connection.cursor if limit > 1 else partial(prepared_cursor, connection)
    with cursor_of() as cursor:
        cursor.execute(
            sql,
            [
                uuid.uuid4().hex,
                adapt(now + timedelta(seconds=settings.OUTBOX["LEASE_SECONDS"])),
                str(OutboxState.IN_FLIGHT),
                provider,
                provider,
                adapt(now),
                *(str(state) for state in OPEN_STATES),
            ],
        )
        return cursor.fetchall()


def _claimed_entries(rows: list[tuple]) -> list[OutboxEntry]:
    """The claimed rows as entries, in id order (RETURNING promises no order); a batch's
    records read with them (`_read_records`)."""
    entries = []
    for row in rows:
        entry = row_from_db(OutboxEntry, row[:-2])
        entry.breaker_seen = tuple(row[-2:])  # read with the claim: breaker_admit needs no read
        entry.slot_token = ""  # the batch's first gets the relay's slot, and passes it on
        entries.append(entry)
    if len(entries) > 1:
        _read_records(entries)
    return sorted(entries, key=lambda entry: entry.pk)


# Set on a batch's entry: its record as read just after the claim (None: gone by then).
_RECORD_READ = "_outbox_record_read"
_UNREAD = object()


def _read_records(entries: list[OutboxEntry]) -> None:
    """The records a batch's creates and updates send, read in one statement per model just
    after the claim, instead of one read per delivery (a round trip each on PostgreSQL); only
    for handlers that say it is harmless (`SyncHandler.read_with_claim`). The batch is
    delivered within `RELAY_BATCH_SECONDS` of its claim: a change saved meanwhile queues an
    entry of its own, which no claim takes before this one is done and which sends the record
    as it is then; a record deleted meanwhile is still sent, and its delete, queued behind the
    claimed entry (`_enqueue_delete`), removes it. Best effort: if the read fails, each record
    is read before its call, as a lone entry's is."""
    by_model: dict[str, list[OutboxEntry]] = {}
    try:
        for entry in entries:
            if (
                entry.operation != Operation.DELETE
                and sync_handler_for(entry.model_label).read_with_claim
            ):
                by_model.setdefault(entry.model_label, []).append(entry)
        for label, group in by_model.items():
            model = sync_handler_for(label).model
            found = rows_load(model, [entry.object_id for entry in group])
            for entry in group:
                entry.__dict__[_RECORD_READ] = found.get(entry.object_id)
    except Exception:  # the claim is committed: its entries must still be delivered
        logger.warning("A batch's records could not be read with its claim", exc_info=True)
        for entry in entries:
            entry.__dict__.pop(_RECORD_READ, None)


def _with_slot(
    entry: OutboxEntry | None, held: _Held | None = None, spare: _SpareSlot | None = None
) -> OutboxEntry | None:
    """A provider slot for an entry just claimed (`entry.slot_token`, "" if none was free). Not
    for a handler that prepares its payload first: the slot would wait on that. `held`: the
    delivery before it in the same relay, whose slot passes to this entry if it kept one (two
    writes fewer a delivery), or, with no entry, to `spare` (the relay lingers with it), or is
    given back."""
    if held is not None and held.slot_token:
        if entry is not None and not sync_handler_for(entry.model_label).prepares:
            entry.slot_token, held.slot_token = held.slot_token, ""
            return entry
        if entry is None and spare is not None:
            spare.token, held.slot_token = held.slot_token, ""
            return None
        held.settle()  # nothing to pass it to: given back
    if entry is None:
        return None
    slot_token = (
        slot_acquire(provider=entry.provider, lease_seconds=settings.OUTBOX["LEASE_SECONDS"])
        if not sync_handler_for(entry.model_label).prepares
        else None
    )
    entry.slot_token = slot_token or ""
    return entry


@lru_cache(maxsize=32)
def _claim_next_sql(vendor: str, limit: int = 1) -> str:
    """outbox_claim's statement for the provider's first `limit` due entries, in the order
    they came (a relay's batch; see RELAY_BATCH_ENTRIES).

    The row is chosen and written by one statement: SQLite runs it alone, and PostgreSQL locks
    the row as it picks it, re-checking the pick's conditions on its latest version, so the
    UPDATE needs no condition of its own beyond the id (with one, the planner read the id
    through the state index, every pending entry of a backlog for each claim)."""
    lock = " FOR UPDATE OF candidate SKIP LOCKED" if vendor == "postgresql" else ""
    # The pick walks `outbox_pending_idx`, which holds the pending entries alone, by provider
    # in id order, and stops at the first that may go. Its state is written in the statement,
    # not passed as a value, so that a plan made before the values are known can still use
    # the index: SQLite's INDEXED BY needs the WHERE to imply the index's condition (its
    # planner, left alone, took the due index and sorted every pending entry for each claim),
    # and on PostgreSQL the statement is prepared (core/prepared.py), whose generic plan,
    # knowing neither provider nor state, walked the primary key from the first entry ever
    # made and filtered out every entry done (1,038 buffers a claim over a 2,000-shop run).
    # The provider is matched as a range of one value and the order is (provider, id), the
    # index's own: PostgreSQL drops an equality's column from the order, and then the primary
    # key gives "ORDER BY id" too. Statistics taken during a burst (every entry pending) made
    # walking the primary key look as cheap as the index, and the generic plan walked it past
    # every entry done: 1,042 buffers a claim, a third of PostgreSQL's time in a 2,000-shop
    # run. A range keeps the column in the order, which only the index gives without a sort.
    indexed = " INDEXED BY outbox_pending_idx" if vendor == "sqlite" else ""
    # On PostgreSQL the pick is an array made once (an InitPlan): as `id IN (…)`, the planner
    # made it the inner side of a semi-join and ran it again, locking rows, for every entry of
    # the table (a claim over a few thousand entries took seconds). SQLite runs `IN (…)` once.
    among, among_end = ("= ANY(ARRAY", ")") if vendor == "postgresql" else ("IN", "")
    # The limit is written in the statement, not passed: a generic plan that does not know it
    # guesses a tenth of the rows, and might walk another index for that many.
    return f"""
        UPDATE core_outboxentry
        SET claim_token = %s, lease_until = %s, waiting_for = '', state = %s,
            attempts = attempts + 1
        WHERE id {among} (
            SELECT candidate.id FROM core_outboxentry AS candidate{indexed}
            WHERE candidate.provider >= %s AND candidate.provider <= %s
              AND candidate.state = '{OutboxState.PENDING.value}'
              AND candidate.next_attempt_at <= %s
              AND NOT EXISTS (
                SELECT 1 FROM core_outboxentry AS earlier
                WHERE earlier.object_key = candidate.object_key
                  AND earlier.id < candidate.id
                  AND earlier.state IN ({_OPEN_PLACEHOLDERS})
              )
            ORDER BY candidate.provider, candidate.id LIMIT {int(limit)}{lock}
        ){among_end}
        RETURNING {row_columns(OutboxEntry)}, {breaker_seen_columns("core_outboxentry.provider")}
    """  # noqa: S608 (names from the model, the state a constant of ours; values are parameters)


# How much one relay delivers before it hands over to a fresh task: the worker's other tasks
# (a job, another provider's relay) get their turn, and no message stays unacknowledged for long.
RELAY_MAX_ENTRIES = 200
RELAY_MAX_SECONDS = 10.0
# How many due entries a relay claims at once once a queue has formed: it delivers them one
# after the other within its one provider slot, and records their outcomes, with the claim of
# the next batch, in one transaction. With one entry due (a lone change) the batch is that
# entry: it goes out at once, as before. Not for a handler that prepares its payload first
# (a Wolkvox chunk gives its slot back before its outcome): one at a time.
RELAY_BATCH_ENTRIES = 8
# A batch's deliveries start within this long of its claim; past it, the successes are recorded
# and the entries not yet delivered go back to the queue (the relay claims them again). So a
# slow provider's outcomes are not held back for long, and every delivery of a batch ends
# well within the lease its claim took (each is bounded by half the lease: _deadline_seconds).
RELAY_BATCH_SECONDS = 1.0


def outbox_relay(*, entry_id: int | None = None, provider: str = "") -> str:
    """A delivery task: deliver `entry_id`, then claim and deliver `provider`'s other due
    entries until none is left (core/relay.py says why; `provider` is given for a task
    published through its relay request, whose entry is a due pending one).

    A relay claims up to `RELAY_BATCH_ENTRIES` due entries at once and delivers them in turn;
    their successes are recorded together, with the claim of the next batch, after the last
    of them (`_deliver_claimed`). A relay that finds work asks once for one more relay, so
    that a queue is drained by as many worker processes as are free and as the provider's
    slots allow, not by one alone (while a slot is free: `_ask_for_help`). Once the queue is
    empty it lingers a moment for the next commit (`_linger`) before it stops. It does not
    start, or stops, when its provider's slots are all taken (the relays holding them go on:
    `_claim_within_slots`), and stops when its breaker is open (the entries wait for the
    trial call), giving back the entries of its batch it has not delivered; after
    `RELAY_MAX_ENTRIES` or `RELAY_MAX_SECONDS` it hands over to a fresh one. Returns what
    happened to `entry_id` (`outbox_deliver`'s words; "skipped" without one)."""
    if provider and not _slot_may_be_free(provider):
        # Its relay request is left set, so the commits meanwhile publish no relay that would
        # only find the slots taken too; a relay clears it before its last look.
        return "skipped"
    provider = provider or _provider_of(entry_id)
    if not provider:
        return "skipped"  # no such entry
    relay_started(provider)
    started = time.monotonic()
    own = (
        outbox_claim(entry_id=entry_id, take_slot=True, slot_first=True)
        if entry_id is not None
        else None
    )
    batch = deque([own] if own is not None else [])
    first_of_batch, batch_claimed = (own.pk if own is not None else None), time.monotonic()
    successes: list[_Success] = []  # delivered in this batch, recorded after its last entry
    outcome = last = "skipped"
    delivered = 0
    asked_for_help = False
    spare = _SpareSlot()
    try:
        while True:
            if not batch:
                if delivered >= RELAY_MAX_ENTRIES or time.monotonic() - started > RELAY_MAX_SECONDS:
                    relay_started(provider)  # a request left set (_claim_within_slots): no relay
                    outbox_publish(None, provider)  # more may be due: a fresh relay goes on
                    return outcome
                limit = _batch_limit(provider, RELAY_MAX_ENTRIES - delivered)
                if last == "done":  # its queue just ran dry: the next commit may be close
                    batch.extend(_linger(provider, spare, limit))
                if not batch:
                    if delivered:
                        relay_started(provider)  # before its last look: see _claim_within_slots
                    batch.extend(_claim_within_slots(provider, spare, limit))
                if not batch:
                    return outcome
                first_of_batch, batch_claimed = batch[0].pk, time.monotonic()
            entry = batch.popleft()
            if (
                entry.pk != first_of_batch
                and time.monotonic() - batch_claimed > RELAY_BATCH_SECONDS
            ):
                # A slow provider: what went through is recorded, the rest claimed again.
                batch.appendleft(entry)
                _record_left_over(successes, batch)
                continue
            if not asked_for_help:
                asked_for_help = _ask_for_help(entry)
            delivered += 1
            room = RELAY_MAX_ENTRIES - delivered - len(batch)
            if time.monotonic() - started > RELAY_MAX_SECONDS:
                room = 0
            last, ahead = _deliver_claimed(
                entry,
                claim_next=provider if room > 0 and not batch else "",
                batch_limit=_batch_limit(provider, room),
                spare=spare,
                then=batch[0] if batch else None,
                successes=successes,
            )
            if ahead:
                first_of_batch, batch_claimed = ahead[0].pk, time.monotonic()
            batch.extend(ahead)
            if entry is own:
                outcome = last
            if not batch and successes:  # the batch ended with a failure: the rest is recorded
                _record_left_over(successes, batch)
            if last != "done":
                for later in batch:  # the breaker seen with the claim may have changed since
                    later.breaker_seen = None
            if _relay_stops(provider, last):
                return outcome
    finally:
        try:
            _record_left_over(successes, batch)
        finally:
            spare.release()


def _batch_limit(provider: str, room: int) -> int:
    """How many entries a relay's next claim may take: a batch, no more than is left of the
    relay's share (`room`), and one for a provider whose handlers prepare their payload."""
    if sync_provider_prepares(provider):
        return 1
    return max(1, min(RELAY_BATCH_ENTRIES, room))


def _record_left_over(successes: list[_Success], batch: deque[OutboxEntry]) -> None:
    """When a relay stops with a batch half delivered (its provider's breaker opened, no slot
    came, an error): the successes it delivered are recorded, and the entries it had not
    delivered are given back to the queue, due now, the attempt not counted."""
    if successes:
        try:
            _record_success(None, None, None, deferred=list(successes))
        except Exception:
            # The calls go on record; the entries stay in flight until their lease ends and
            # the sweeper takes them over, as after a worker's death.
            for success in successes:
                success.settle()
            logger.exception("Could not record the outcome of delivered outbox entries")
        finally:
            successes.clear()
    now = timezone.now()
    while batch:
        entry = batch.popleft()
        if entry.slot_token:
            slot_release(token=entry.slot_token)
        _ours(entry).update(
            state=OutboxState.PENDING,
            attempts=max(entry.attempts - 1, 0),
            next_attempt_at=now,
            enqueued_at=None,  # the sweeper publishes it if no relay claims it first
            lease_until=None,
        )


# How long a relay that has just emptied its provider's queue waits for the next entry before
# it stops. Relays outpace the writers (on SQLite the writers take turns in a queue), so a
# relay used to stop between two commits and the next commit published a fresh task: 206 to
# 342 relays for the sync benchmark's 2,000 shops, each paying a message, a worker's pick-up
# and a slot. Lingering, 20 to 100 do the same work. The pauses grow from 1 to 16 ms, so a
# commit right after the queue emptied goes out at once, and an idle provider costs a
# handful of reads over the 50 ms; each is an index read, not a claim (a write).
RELAY_LINGER_SECONDS = 0.05
_LINGER_FIRST_PAUSE = 0.001
_LINGER_MAX_PAUSE = 0.016


class _SpareSlot:
    """The provider slot a relay kept when its last success found no next entry: it lingers
    holding it, so the entry that falls due meanwhile is claimed with one write, not three
    (take a slot, claim, and give the slot back when another relay claimed first). Given back
    when the relay claims nothing with it (`_claim_within_slots`) or stops."""

    def __init__(self) -> None:
        self.token = ""

    def take(self) -> str:
        token, self.token = self.token, ""
        return token

    def release(self) -> None:
        if self.token:
            slot_release(token=self.take())


def _linger(provider: str, spare: _SpareSlot | None = None, limit: int = 1) -> list[OutboxEntry]:
    """The provider's next entries (a batch), claimed if one falls due within
    `RELAY_LINGER_SECONDS`; none if none does.

    Only a relay whose last delivery went through lingers: one that found nothing has no
    reason to think more is coming, and after a failure the provider gets its back-off, not a
    relay waiting for the retry. Not when tasks run inline either (the caller would wait). It
    lingers holding the slot of its last delivery (`spare`) if it kept one. It does not touch
    the relay request: a commit meanwhile may still publish a fresh relay, which then finds
    the entry claimed or claims it itself — claims are exclusive."""
    if outbox_deliver_task.app.conf.task_always_eager:
        return []
    deadline = time.monotonic() + RELAY_LINGER_SECONDS
    pause = _LINGER_FIRST_PAUSE
    while time.monotonic() < deadline:
        time.sleep(pause)
        if _looks_due(provider):
            if spare is not None and spare.token:
                batch = _claim_next_rows(provider, timezone.now(), limit)
                if batch:
                    batch[0].slot_token = spare.take()
                    return batch
            else:
                batch = _claim_within_slots(provider, limit=limit)
                if batch:
                    return batch
        pause = min(pause * 2, _LINGER_MAX_PAUSE)
    return []


def _claim_within_slots(
    provider: str, spare: _SpareSlot | None = None, limit: int = 1
) -> list[OutboxEntry]:
    """`outbox_claim_next` with the slot taken first, for a batch (the slot goes to its first
    entry), or none if every slot of the provider is taken: the entries would only wait for a
    slot, polling, while the relays holding the slots go on. Relays that claimed first and
    then waited polled the database for seconds: about one read per delivery of a whole burst
    on PostgreSQL.

    Leaving the entries to the holders is safe because a relay claims again at the top of its
    loop, after it gave its slot back: an entry due before the slots were found taken is
    claimed by one of those later claims (the last holder to give its slot back finds one
    free). A relay that finds the slots taken as it starts leaves its provider's relay
    request set, so that the commits meanwhile publish no relay that would find the same;
    so before a relay stops, it clears the request (`relay_started`) and looks once more: an
    entry committed after the clear publishes a relay of its own, one committed before it is
    seen by that last look. A provider whose handlers prepare their payload before taking a
    slot (a Wolkvox chunk) is claimed from anyway: its relays prepare the next chunk while
    the calls are in flight."""
    if sync_provider_prepares(provider):
        entry = outbox_claim_next(provider=provider)
        return [entry] if entry is not None else []
    slot_token = (spare.take() if spare is not None else "") or _slot_if_free(provider)
    if slot_token is None:
        return []
    batch = _claim_next_rows(provider, timezone.now(), limit)
    if not batch:
        slot_release(token=slot_token)
        return []
    batch[0].slot_token = slot_token
    return batch


def _prepares(entry: OutboxEntry) -> bool:
    return sync_handler_for(entry.model_label).prepares


def _slot_may_be_free(provider: str) -> bool:
    """Whether a relay of `provider` has a chance of a slot (always, for a handler that
    prepares its payload before it takes one)."""
    return sync_provider_prepares(provider) or slot_looks_free(provider=provider)


def _slot_if_free(provider: str) -> str | None:
    """A slot of the provider, if one is free; a read first, since a failed take is a write."""
    if not slot_looks_free(provider=provider):
        return None
    return slot_acquire(provider=provider, lease_seconds=settings.OUTBOX["LEASE_SECONDS"])


def _looks_due(provider: str) -> bool:
    """Whether the provider has a pending entry due now (may be one another relay will claim
    first, or one the claim must leave for an earlier entry of its record: the claim decides)."""
    connection = connections[router.db_for_read(OutboxEntry)]
    indexed = " INDEXED BY outbox_pending_idx" if connection.vendor == "sqlite" else ""
    sql = f"""
        SELECT 1 FROM core_outboxentry{indexed}
        WHERE provider = %s AND state = '{OutboxState.PENDING.value}' AND next_attempt_at <= %s
        LIMIT 1
    """  # noqa: S608 (the state a constant of ours, as in _claim_next_sql; values are parameters)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [provider, connection.ops.adapt_datetimefield_value(timezone.now())])
        return cursor.fetchone() is not None


def _provider_of(entry_id: int | None) -> str:
    if entry_id is None:
        return ""
    return OutboxEntry.objects.filter(pk=entry_id).values_list("provider", flat=True).first() or ""


def _ask_for_help(entry: OutboxEntry) -> bool:
    """One more relay for the entry's provider, unless one is queued already, or every slot
    of the provider is taken (this relay's among them): such a helper would only wait for a
    slot, asking the database every few milliseconds (2 to 20) while the relays holding the
    slots go on — on PostgreSQL with two worker machines of four processes, four helpers did
    so for a whole burst. A handler that prepares its payload before it takes a slot (a
    Wolkvox chunk) gets its helper anyway: it prepares the next chunk while the calls are in
    flight. Not when tasks run inline (the test suite's eager mode): the help would run inside
    this relay, not beside it."""
    if outbox_deliver_task.app.conf.task_always_eager:
        return True
    if sync_handler_for(entry.model_label).prepares or slot_looks_free(provider=entry.provider):
        outbox_publish(None, entry.provider)
    return True


def _relay_stops(provider: str, outcome: str) -> bool:
    """Whether the last delivery says the provider can take no more now."""
    if outcome == "busy":
        return True  # every slot is taken: the relays holding them go on
    return outcome == "deferred" and breaker_is_open(provider)


class _Held:
    """What a delivery holds while it calls the provider: a provider slot and the log of its
    calls. `settle` gives the slot back as soon as the calls are over, before the outcome is
    recorded, and writes the log; a success writes the log in its outcome's transaction
    instead (the statement is built once, `core.rows.rows_insert`, so holding SQLite's write
    lock for it costs little, and the delivery takes that lock once, not twice)."""

    def __init__(self, entry: OutboxEntry) -> None:
        self.provider = entry.provider
        self.slot_token = entry.slot_token
        self.calls = EntryCalls(entry.pk)
        self.called = False  # whether any call went to the provider

    def wait_for_slot(self) -> None:
        """Unless the claim took a slot, wait for one (SLOT_WAIT_SECONDS); else SlotsBusy."""
        lease = settings.OUTBOX["LEASE_SECONDS"]
        deadline = time.monotonic() + settings.OUTBOX["SLOT_WAIT_SECONDS"]
        pause = SLOT_POLL_SECONDS
        while not self.slot_token:
            if slot_looks_free(provider=self.provider):
                self.slot_token = slot_acquire(provider=self.provider, lease_seconds=lease) or ""
            if self.slot_token:
                return
            if time.monotonic() >= deadline:
                raise SlotsBusy(self.provider)
            time.sleep(pause)
            pause = min(pause * 2, SLOT_POLL_MAX_SECONDS)

    def settle(self, *, log_calls: bool = True, keep_slot: bool = False) -> None:
        """Give the slot back and write the call log; without `log_calls`, the caller writes
        the log itself (a success, in its outcome's transaction: one write lock, not two); with
        `keep_slot`, the caller passes the slot on (`_with_slot`) or gives it back."""
        if self.slot_token and not keep_slot:
            slot_release(token=self.slot_token)
            self.slot_token = ""
        self.called = self.called or bool(self.calls.rows)
        if log_calls:
            self.calls.flush()


def outbox_deliver(*, entry_id: int) -> str:
    """Deliver one entry. Safe to run twice, or concurrently: only one run claims the entry.

    Returns what happened: skipped, busy, waiting, deferred, done, retry or failed."""
    entry = outbox_claim(entry_id=entry_id, take_slot=True)
    if entry is None:
        return "skipped"
    return _deliver_claimed(entry)[0]


def _deliver_claimed(
    entry: OutboxEntry,
    *,
    claim_next: str = "",
    batch_limit: int = 1,
    spare: _SpareSlot | None = None,
    then: OutboxEntry | None = None,
    successes: list[_Success] | None = None,
) -> tuple[str, list[OutboxEntry]]:
    """Deliver an entry this worker claimed: what happened, and with `claim_next` (a provider),
    up to `batch_limit` of that provider's next due entries, claimed with a success's outcome.
    With `spare`, a slot kept for a next entry that was not there is left in it, not given
    back. In a relay's batch, `then` is the batch's next entry: a success is not recorded yet
    but added to `successes` (its writes made ready), and the slot passes on to `then`; the
    batch's last success records them all in its transaction."""
    held = _Held(entry)
    admission = None
    try:
        handler = sync_handler_for(entry.model_label)
        # Before anything is prepared or sent: while the provider's breaker is open, the entry
        # waits (Deferred) and spends no attempt.
        admission = breaker_admit(entry.provider, seen=getattr(entry, "breaker_seen", None))
        with calls_for_entry(held.calls), delivery_deadline(_deadline_seconds()):
            state = _perform(handler, entry, held)
    except Exception as exc:
        held.settle()
        if admission is not None:
            breaker_record(admission, exc, called=held.called)
        return _record_exception(entry, exc), []
    except BaseException:  # the worker is going away: still free the slot
        held.settle()
        raise
    # A relay that goes on to its provider's next entry keeps the slot for it; not a handler
    # that prepares (a Wolkvox chunk): its slot goes back before the outcome is written, so
    # that the next call starts at once.
    going_on = bool(claim_next) or then is not None
    held.settle(log_calls=False, keep_slot=going_on and not handler.prepares)
    if then is not None and successes is not None:
        successes.append(_Success(entry, state, held.calls, held))
        breaker_record(admission, None, called=held.called)
        then.slot_token, held.slot_token = held.slot_token, ""
        return "done", []
    deferred = list(successes or [])
    if successes:
        successes.clear()
    try:
        recorded, ahead = _record_success(
            entry,
            state,
            held.calls,
            claim_next=claim_next,
            batch_limit=batch_limit,
            deferred=deferred,
        )
        breaker_record(admission, None, called=held.called)
    except Exception:
        held.settle()  # the outcome could not be recorded: the calls made still are, slot freed
        for success in deferred:
            success.settle()
        raise
    _with_slot(ahead[0] if ahead else None, held, spare)  # the first of the next batch gets it
    return "done" if recorded else "skipped", ahead


def _claim_of(entry: OutboxEntry) -> dict[str, str]:
    """`_ours` as the match of a conditional `update_statement`."""
    return {"state": OutboxState.IN_FLIGHT, "claim_token": entry.claim_token}


def _ours(entry: OutboxEntry) -> QuerySet[OutboxEntry]:
    """The entry, only while this delivery still holds it: in flight under its claim. Every
    write that ends or releases a delivery goes through this filter, so a worker whose lease
    ran out (another took the entry over) or whose entry was cancelled writes nothing."""
    return OutboxEntry.objects.filter(
        pk=entry.pk, state=OutboxState.IN_FLIGHT, claim_token=entry.claim_token
    )


def _taken_away(entry: OutboxEntry) -> str:
    logger.warning(
        "Outbox entry %s was taken over or cancelled while being delivered; its outcome here "
        "is not recorded",
        entry.pk,
    )
    return "skipped"


def _record_exception(entry: OutboxEntry, exc: Exception) -> str:
    if isinstance(exc, SlotsBusy):
        _release_busy(entry)
        return "busy"
    if isinstance(exc, _Waiting):
        _release_waiting(entry, exc.prerequisite)
        return "waiting"
    if isinstance(exc, Deferred):
        _release_deferred(entry, exc)
        return "deferred"
    if isinstance(exc, ProviderError):
        return _record_failure(entry, exc)
    logger.error("Unexpected error delivering outbox entry %s", entry.pk, exc_info=exc)
    # The details go to the log only: an exception's text can carry personal data.
    failure = ProviderUnavailable(
        _("Unexpected error (%(kind)s), see the worker's log for outbox entry %(id)s.")
        % {"kind": type(exc).__name__, "id": entry.pk},
        code="UNEXPECTED",
    )
    failure.outcome_unknown = True
    return _record_failure(entry, failure)


def _perform(handler: SyncHandler, entry: OutboxEntry, held: _Held) -> RemoteState | None:
    if entry.operation == Operation.DELETE:
        held.wait_for_slot()
        remote_id = entry.payload.get("remote_id") or _remote_id_from_history(entry)
        if not remote_id and _create_was_attempted(entry):
            # A create went out but its answer was lost before the row was deleted here.
            found = handler.find_for_delete(entry.payload)
            remote_id = found.remote_id if found else ""
        answer = handler.delete(remote_id=remote_id, payload=entry.payload) if remote_id else None
        return RemoteState("", answer) if answer else None  # for after_delete, with the outcome
    obj = entry.__dict__.pop(_RECORD_READ, _UNREAD)  # read with its batch's claim
    if obj is _UNREAD:
        obj = row_load(handler.model, entry.object_id)
    if obj is None:
        return None  # deleted locally meanwhile; its delete entry takes care of the remote side
    for prerequisite in handler.prerequisites(obj):
        if not prerequisite.remote_id:
            if not OutboxEntry.objects.filter(
                object_key=prerequisite.outbox_key, state__in=OPEN_STATES
            ).exists():
                raise _prerequisite_abandoned(prerequisite)
            raise _Waiting(prerequisite)
    prepared = handler.prepares and not obj.remote_id
    if prepared:
        handler.prepare(obj)
    creating = False
    try:
        held.wait_for_slot()
        if obj.remote_id:
            return handler.update(obj)
        if entry.outcome_unknown:
            handler.on_unknown_outcome(obj)
        if entry.attempts > 1 or entry.outcome_unknown:
            # An earlier attempt may have created it although we never heard back.
            found = handler.find_existing(obj)
            if found is not None:
                return handler.adopt(obj, found)
        creating = True
        return handler.create(obj)
    finally:
        if prepared and not creating:
            handler.unprepare(obj)


def _deadline_seconds() -> float:
    """How long a delivery may take in all (slot wait, lookups, calls and reading answers):
    half the lease. A call's read timeout is per read, so an answer trickling in could outlive
    the lease and a second worker take the entry over while the first still waits; the deadline
    holds the whole delivery to half the lease (core.http.delivery_deadline), so even its last
    read ends before another worker may start."""
    lease = settings.OUTBOX["LEASE_SECONDS"]
    return min(float(settings.OUTBOX["DELIVERY_DEADLINE_SECONDS"]), lease / 2)


def _prerequisite_abandoned(prerequisite: SyncedModel) -> ProviderRejected:
    """A record this one needs has no remote id and nothing is sending it (its create was
    cancelled, say): waiting would last for ever. Not the provider's doing (no provider named,
    so the breaker does not count it)."""
    return ProviderRejected(
        _(
            "%(record)s (%(type)s) is not at the provider and is not being sent (its sending was "
            "cancelled): save it again to send it, then retry this one."
        )
        % {"record": prerequisite, "type": prerequisite._meta.verbose_name},
        code="PREREQUISITE_NOT_SENT",
    )


class _Waiting(Exception):
    def __init__(self, prerequisite: SyncedModel) -> None:
        self.prerequisite = prerequisite
        super().__init__(prerequisite.outbox_key)


def _release_waiting(entry: OutboxEntry, prerequisite: SyncedModel) -> None:
    """Put the entry back until its prerequisite is synced; this attempt does not count.

    The prerequisite's success publishes it again; the sweeper looks again meanwhile, in case
    the prerequisite was fixed some other way."""
    message = _("Waiting for %(record)s (%(type)s) to reach the provider first.") % {
        "record": prerequisite,
        "type": prerequisite._meta.verbose_name,
    }
    with transaction.atomic():
        if not _ours(entry).update(
            state=OutboxState.PENDING,
            attempts=max(entry.attempts - 1, 0),
            next_attempt_at=timezone.now()
            + timedelta(seconds=settings.OUTBOX["WAITING_RECHECK_SECONDS"]),
            enqueued_at=None,
            lease_until=None,
            waiting_for=prerequisite.outbox_key,
            last_error=message,
        ):
            return
        _record_queryset(entry).update(sync_status=SyncStatus.PENDING, sync_error=message)


def _release_deferred(entry: OutboxEntry, deferred: Deferred) -> None:
    code = {"error_code": deferred.code} if deferred.code else {}
    with transaction.atomic():
        if not _ours(entry).update(
            state=OutboxState.PENDING,
            attempts=max(entry.attempts - 1, 0),
            next_attempt_at=deferred.until,
            enqueued_at=None,
            lease_until=None,
            last_error=deferred.message,
            **code,
        ):
            return
        _record_queryset(entry).update(sync_status=SyncStatus.PENDING, sync_error=deferred.message)


def _remote_id_from_history(entry: OutboxEntry) -> str:
    """The remote id a create earned after this delete was queued (the row is gone by now)."""
    return (
        OutboxEntry.objects.filter(
            object_key=entry.object_key, state=OutboxState.DONE, id__lt=entry.pk
        )
        .exclude(remote_id="")
        .order_by("-id")
        .values_list("remote_id", flat=True)
        .first()
        or ""
    )


def _create_was_attempted(entry: OutboxEntry) -> bool:
    return OutboxEntry.objects.filter(
        object_key=entry.object_key, operation=Operation.CREATE, attempts__gt=0, id__lt=entry.pk
    ).exists()


class _Success:
    """A delivery that went through, its writes made ready (SQL and converted values) before
    the transaction that records it opens: on SQLite that transaction holds the one write lock
    from its first statement, and only sending the statements happens under it."""

    def __init__(
        self,
        entry: OutboxEntry,
        state: RemoteState | None,
        calls: EntryCalls,
        held: _Held | None = None,
    ) -> None:
        self.entry, self.state, self.calls = entry, state, calls
        self.held = held  # a deferred success's: settle() writes its calls if it is not recorded
        self.deleted = entry.operation == Operation.DELETE  # its state: what `delete` answered
        if self.deleted:
            state = None  # no record left to write it to: after_delete gets it
        now = timezone.now()
        self.made = list(calls.rows)
        self.log = calls.statement()  # written whatever follows: the calls were made
        self.done = update_statement(
            OutboxEntry,
            entry.pk,
            {
                "state": OutboxState.DONE,
                "completed_at": now,
                "lease_until": None,
                "remote_id": state.remote_id if state else "",
                "last_error": "",
                "error_code": "",
                "outcome_unknown": False,
                "waiting_for": "",
            },
            match=_claim_of(entry),
        )
        self.handler = sync_handler_for(entry.model_label)
        self.record = (
            update_statement(
                self.handler.model,
                entry.object_id,
                {
                    **self.handler.record_fields(state),
                    "remote_id": state.remote_id,
                    "remote_data": state.data or None,
                    "sync_status": SyncStatus.SYNCED,  # PENDING if more of the record follows
                    "sync_error": "",
                    "sync_attempts": entry.attempts,
                    "last_sync_attempt_at": now,
                    "synced_at": now,
                },
            )
            if state is not None
            else None
        )

    def rolled_back(self) -> None:
        """Its transaction failed: the calls go back to its log, for settle() to write."""
        self.calls.rows[:0] = self.made

    def settle(self) -> None:
        """Not recorded: its calls are written on their own (and any slot it held freed)."""
        if self.held is not None:
            self.held.settle()


def _record_success(
    entry: OutboxEntry | None,
    state: RemoteState | None,
    calls: EntryCalls | None,
    *,
    claim_next: str = "",
    batch_limit: int = 1,
    deferred: Sequence[_Success] = (),
) -> tuple[bool, list[OutboxEntry]]:
    """Record a success (False: the entry was no longer ours) and the `deferred` successes of
    the same relay's batch before it, in one transaction; with `claim_next`, claim up to
    `batch_limit` of that provider's next due entries in it too. Without `entry`, only the
    deferred ones (a relay stopping mid-batch)."""
    successes = list(deferred)
    if entry is not None:
        successes.append(_Success(entry, state, calls))
    rows: list[tuple] = []
    try:
        with transaction.atomic():
            recorded = _write_successes(successes)
            if claim_next:
                rows = _claim_next_raw(claim_next, timezone.now(), batch_limit)
    except BaseException:
        for success in successes:
            success.rolled_back()
        raise
    return (recorded[-1] if entry is not None else True), _claimed_entries(rows)


def _write_successes(successes: list[_Success]) -> list[bool]:
    """The writes of a relay's successes, in the caller's transaction, statement by statement
    for all of them rather than success by success: their calls' log, their entries' outcome
    and their followers' read each take one call into the driver (`executemany`, one round
    trip on PostgreSQL), and so do their records' updates as long as no hook comes between
    them. Answers, for each, whether its entry was still ours (a worker whose lease ran out, or
    a cancel, took it: nothing of it is written)."""
    logs = [success.log for success in successes if success.log is not None]
    if logs:
        run_together(logs)
    changed = run_together([success.done for success in successes])
    ours = _still_ours(successes, changed)
    written = [success for success, mine in zip(successes, ours, strict=True) if mine]
    followers = _Followers.of_all([success.entry for success in written])
    # The records and the hooks in the order they were delivered, as if one by one: a hook may
    # write what a later record's update writes too (AMM's balance is written by a movement's
    # hook and by its card's update), so only the updates of one SQL with no hook between them
    # go together. (The followers were read before any hook ran: no hook queues an entry.)
    together: list[Statement] = []
    for success, after in zip(written, followers, strict=True):
        if success.record is not None:
            if after.more_of_the_record:
                success.record.set("sync_status", SyncStatus.PENDING)
            if together and together[0].sql != success.record.sql:
                _run_and_clear(together)
            together.append(success.record)
            if _has_hook(success.handler, "after_success"):
                _run_and_clear(together)
                success.handler.after_success(
                    object_id=success.entry.object_id, state=success.state
                )
        elif success.deleted and success.state is not None:
            _run_and_clear(together)
            success.handler.after_delete(payload=success.entry.payload, answer=success.state.data)
    _run_and_clear(together)
    for after in followers:
        after.publish()
    return ours


def _run_and_clear(statements: list[Statement]) -> None:
    if statements:
        run_together(statements)
        statements.clear()


def _has_hook(handler: SyncHandler, name: str) -> bool:
    """Whether the handler's class overrides `name` (SyncHandler's own does nothing)."""
    return getattr(type(handler), name) is not getattr(SyncHandler, name)


def _still_ours(successes: list[_Success], changed: int) -> list[bool]:
    """Which of `successes` their outcome's UPDATE changed, from the rows it changed in all:
    all of them, nearly always; otherwise read back (an entry another worker took over keeps
    its state or gets that worker's claim token, a cancelled one is not done)."""
    if changed == len(successes):
        return [True] * len(successes)
    done = dict(
        OutboxEntry.objects.filter(
            pk__in=[success.entry.pk for success in successes], state=OutboxState.DONE
        ).values_list("pk", "claim_token")
    )
    ours = [done.get(success.entry.pk) == success.entry.claim_token for success in successes]
    for success, mine in zip(successes, ours, strict=True):
        if not mine:  # our lease ran out and another worker took the entry over
            _taken_away(success.entry)
    return ours


def _record_failure(entry: OutboxEntry, exc: ProviderError) -> str:
    now = timezone.now()
    message = str(exc)
    retry = exc.retryable and entry.attempts < settings.OUTBOX["MAX_ATTEMPTS"]
    with transaction.atomic():
        if retry:
            delay = _backoff_seconds(entry.attempts)
            held = _ours(
                entry
            ).update(
                state=OutboxState.PENDING,
                next_attempt_at=now + timedelta(seconds=delay),
                enqueued_at=None,  # the sweeper publishes it when due
                lease_until=None,
                outcome_unknown=exc.outcome_unknown or entry.outcome_unknown,
                last_error=message,
                error_code=exc.code[:64],
            )
            record_error = _("Attempt %(n)d of %(max)d failed, retrying: %(error)s") % {
                "n": entry.attempts,
                "max": settings.OUTBOX["MAX_ATTEMPTS"],
                "error": message,
            }
            record_status = SyncStatus.PENDING
        else:
            held = _ours(entry).update(
                state=OutboxState.FAILED,
                lease_until=None,
                completed_at=now,
                # Kept, so that a later retry looks the operation up before repeating it.
                outcome_unknown=exc.outcome_unknown or entry.outcome_unknown,
                last_error=message,
                error_code=exc.code[:64],
            )
            record_error, record_status = message, SyncStatus.FAILED
        if not held:  # taken over, or cancelled: the record is not ours to write either
            return _taken_away(entry)
        _record_queryset(entry).update(
            sync_status=record_status,
            sync_error=record_error,
            sync_attempts=entry.attempts,
            last_sync_attempt_at=now,
        )
        if not retry and entry.operation != Operation.DELETE:
            sync_handler_for(entry.model_label).after_failure(
                object_id=entry.object_id, message=message
            )
    return "retry" if retry else "failed"


def _release_busy(entry: OutboxEntry) -> None:
    """Every provider slot was taken: put the entry back, this attempt does not count."""
    delay = settings.OUTBOX["BUSY_DELAY_SECONDS"]
    _ours(entry).update(
        state=OutboxState.PENDING,
        attempts=max(entry.attempts - 1, 0),
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        enqueued_at=None,
        lease_until=None,
    )


def _backoff_seconds(attempt: int) -> float:
    """Exponential backoff with equal jitter, capped."""
    base = settings.OUTBOX["BACKOFF_BASE_SECONDS"]
    ceiling = min(settings.OUTBOX["BACKOFF_MAX_SECONDS"], base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not crypto)


class _Followers:
    """What may go once an entry is done, read in one query: the record's next open entry
    (ordering per record) and every entry that was waiting for this record."""

    def __init__(self, entry: OutboxEntry, rows: list[tuple[int, str, str, str]]) -> None:
        key = entry.object_key
        self.provider = entry.provider
        self.more_of_the_record = any(object_key == key for _, object_key, _, _ in rows)
        self.waiting = [(i, provider) for i, object_key, _, provider in rows if object_key != key]
        self.following = next(
            (
                i
                for i, object_key, state, _ in rows
                if object_key == key and i > entry.pk and state == OutboxState.PENDING
            ),
            None,
        )

    @classmethod
    def of_all(cls, entries: list[OutboxEntry]) -> list[_Followers]:
        """The followers of each of `entries` (done, of records all different), in one read."""
        if not entries:
            return []
        keys = [entry.object_key for entry in entries]
        with prepared_cursor(connections[router.db_for_read(OutboxEntry)]) as cursor:
            cursor.execute(
                _followers_sql(len(keys)),
                [*keys, *(str(state) for state in OPEN_STATES), *keys, _PENDING, *keys],
            )
            rows = sorted(cursor.fetchall())  # in id order: sorted here, not by SQLite
        return [cls(entry, _followers_of(entry, rows)) for entry in entries]

    def publish(self) -> None:
        now = timezone.now()
        if self.waiting:
            OutboxEntry.objects.filter(id__in=[i for i, _ in self.waiting]).update(
                waiting_for="", next_attempt_at=now, enqueued_at=now
            )
            for waiting_id, provider in self.waiting:
                transaction.on_commit(partial(outbox_publish, waiting_id, provider))
        if self.following:
            OutboxEntry.objects.filter(pk=self.following).update(enqueued_at=now)
            transaction.on_commit(partial(outbox_publish, self.following, self.provider))


def _followers_of(entry: OutboxEntry, rows: list[tuple]) -> list[tuple[int, str, str, str]]:
    """The rows of a batch's followers read that follow `entry`: its record's other open
    entries, and the entries of other records waiting for its record."""
    key = entry.object_key
    return [
        (i, object_key, state, provider)
        for i, object_key, state, provider, waiting_for in rows
        if (object_key == key and i != entry.pk)
        or (waiting_for == key and object_key != key and state == _PENDING)
    ]


_PENDING = str(OutboxState.PENDING)


# Read after a relay's successes: written once per count of records, as the claim is. Two
# halves, each through its own
# index: written as one OR, SQLite's planner read the whole table in id order (to spare the
# sort) and PostgreSQL's generic plan walked the primary key. The second half names the
# condition of the index of waiting entries (core.models) as the index does, so that both
# databases see they may use it; it leaves out the record's own entries, the first half's.
# No ORDER BY: the few rows are put in id order in Python (SQLite built a temporary B-tree to
# sort them, a seventh of the statement's time, inside the outcome's transaction).
_FOLLOWERS_TEMPLATE = """
    SELECT id, object_key, state, provider, waiting_for FROM core_outboxentry
    WHERE object_key IN ({keys}) AND state IN ({open_states})
    UNION ALL
    SELECT id, object_key, state, provider, waiting_for FROM core_outboxentry
    WHERE waiting_for IN ({keys}) AND NOT (waiting_for = '') AND state = %s
      AND object_key NOT IN ({keys})
"""


@lru_cache(maxsize=RELAY_BATCH_ENTRIES)
def _followers_sql(count: int) -> str:
    """The followers read for `count` records (their entries done: not open any more)."""
    keys = ", ".join(["%s"] * count)
    return _FOLLOWERS_TEMPLATE.format(keys=keys, open_states=_OPEN_PLACEHOLDERS)


_FOLLOWERS_SQL = _followers_sql(1)


def _record_queryset(entry: OutboxEntry) -> QuerySet:
    handler = sync_handler_for(entry.model_label)
    return handler.model._default_manager.filter(pk=entry.object_id)


def _mark_record(obj: SyncedModel, *, status: str, error: str) -> None:
    type(obj)._default_manager.filter(pk=obj.pk).update(sync_status=status, sync_error=error)
    obj.sync_status, obj.sync_error = status, error


def _mark_record_for_entry(entry: OutboxEntry, *, status: str, error: str) -> None:
    if entry.operation != Operation.DELETE:
        _record_queryset(entry).update(sync_status=status, sync_error=error)


# --- a person's decision ---------------------------------------------------------------------
def outbox_mark_delivered(
    *, entries: QuerySet[OutboxEntry], message: str, remote_id: str = ""
) -> int:
    """A person checked at the provider that failed entries whose answer was lost did arrive:
    they end done, with `message` (and the remote id found there), their outcome now known.
    Only entries still failed change (a worker or another person may have been first); the
    caller records the outcome on the record, in the same transaction."""
    found = {"remote_id": remote_id} if remote_id else {}
    return entries.filter(state=OutboxState.FAILED).update(
        state=OutboxState.DONE,
        completed_at=timezone.now(),
        last_error=message,
        outcome_unknown=False,
        **found,
    )


# --- for the apps' services -------------------------------------------------------------------
def outbox_record_save[M: SyncedModel](*, obj: M, operation: str) -> M:
    """Validate a record (full_clean: bad input raises a translated ValidationError and writes
    nothing), save it and queue its create or update, in one transaction."""
    obj.full_clean()
    if operation == Operation.CREATE and obj._state.adding:
        # Its entry made now, before the transaction takes the write lock (core/sqlite).
        handler = sync_handler_for(obj._meta.label_lower)
        ready = _ReadyEntry(obj, handler, Operation.CREATE)
        with transaction.atomic():
            row_create(obj)
            _enqueue_create(obj, handler, ready)
        return obj
    with transaction.atomic():
        obj.save()
        outbox_enqueue(obj=obj, operation=operation)
    return obj
