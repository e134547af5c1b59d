"""Soak v2's own faults, beyond the providers' (tests/reliability/test_soak.py): workers killed
in the middle of a task, the broker down for a stretch of operations, and cancels at random
moments, some of them from inside a delivery.

Everything runs in the test's process, eagerly, in the test's transaction, so a kill is
simulated at the database level: see `WorkerKilled`. Real SIGKILLs of real workers (and a real
Redis stopped and started) are covered by tests/reliability/test_process_faults.py."""

from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from celery.app.task import Task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

import core.outbox
from callcenter.models import CallUpload
from core.breaker import breaker_is_open, breaker_status
from core.calllog import delivering_entry_id
from core.models import (
    Job,
    JobStatus,
    Operation,
    OutboxEntry,
    OutboxState,
    ProviderSlot,
    RelayRequest,
    RemoteCall,
)
from core.outbox import outbox_cancel
from core.sync import sync_handler_for
from tests.sandbox_transport import DjangoSandboxAdapter

DELIVER_TASK = "core.tasks.outbox_deliver_task"

# The entries a cancel may be aimed at while they wait (pending, or failed), by record type and
# operation: those whose cancel the final comparison can check exactly (soak_ledger). Not the
# creates of shops, images and cards: a campaign or a movement waiting for one waits for it to
# reach the provider, by design for a person to fix it; a cancelled create never reaches it, so
# its dependents would stay pending for ever, which the soak counts as stuck. A cancel aimed at
# an entry in flight (a delivery under way, or a dead worker's) always loses, whatever its kind.
CANCELLABLE: dict[str, tuple[str, ...]] = {
    "campaigns.shop": (Operation.UPDATE, Operation.DELETE),
    "campaigns.campaign": (Operation.CREATE, Operation.UPDATE, Operation.DELETE),
    "loyalty.pointmovement": (Operation.CREATE, Operation.DELETE),
    "messaging.pushbatch": (Operation.CREATE,),
    "messaging.carerequest": (Operation.CREATE,),
    "messaging.order": (Operation.CREATE,),
    "callcenter.calluploadchunk": (Operation.CREATE,),
}


class WorkerKilled(BaseException):
    """The process running a task (a worker) or a request (the web server) dies on the spot.

    In-process, a kill is this exception, raised at a provider call of a delivery or of a job —
    before the call goes out, or after the provider acted and before its answer is read — or
    while an upload is being prepared, between two of its chunks. Being a BaseException it
    escapes every `except Exception` of the product, as a SIGKILL would: the transaction under
    way rolls back, and what was committed stays — an outbox entry in flight with its claim
    and lease, a job *running*, an upload *preparing* with its lease. The outbox's own
    `except BaseException: held.settle()` would give the provider slot back and write the call
    log, which a killed process never does: while a worker dies `_Held.settle` is a no-op, so
    the slot stays held until its lease runs out and the calls are never logged; so are the
    relay's `finally` clauses, which would record the successes of its batch so far and give
    back the entries it had not reached (those stay in flight too). The broker then
    hands the task to another worker at once (acks_late, reject_on_worker_lost), which must
    find nothing to do while the lease holds; the test then jumps past every lease, and beat's
    periodic tasks must take over what the dead process held."""


@dataclass
class Kill:
    kind: str  # "delivery" (an outbox delivery), "job" (a job's run), "preparation" (an upload)
    provider: str = ""  # a delivery dies at its first call to this provider
    when: str = ""  # "before" the provider acted, or "after" (its answer never read)
    fired_at: int | None = None  # the operation it fired in
    victim: str = ""
    entry_id: int | None = None
    job_id: int | None = None
    upload_id: int | None = None
    left: str = ""  # what the dead process left behind (note_left_behind)

    @property
    def label(self) -> str:
        return "-".join(part for part in (self.kind, self.provider, self.when) if part)


# The rotation of kills: every provider's deliveries, before and after the provider acted, a
# job, and an upload's preparation.
KILL_ROTATION = (
    Kill("delivery", "volantinopiu", "after"),
    Kill("delivery", "amm", "after"),
    Kill("delivery", "smshosting", "after"),
    Kill("preparation"),
    Kill("delivery", "aisac", "after"),
    Kill("delivery", "wolkvox", "after"),
    Kill("job"),
    Kill("delivery", "amm", "before"),
    Kill("delivery", "volantinopiu", "before"),
    Kill("delivery", "wolkvox", "before"),
    Kill("delivery", "aisac", "before"),
    Kill("delivery", "smshosting", "before"),
)


@dataclass
class CancelRecord:
    entry_id: int
    model_label: str
    object_id: str
    object_key: str
    operation: str
    where: str  # "between" operations, or "inside" a delivery
    operation_number: int
    at: datetime
    attempts: int = 0
    calls: int = 0
    # What the provider held for the record when the cancel won (soak_ledger.footprint).
    footprint: dict[Any, Any] = field(default_factory=dict)


# The task being run (name, args), innermost first: set by the Task.apply wrapper.
_running: ContextVar[tuple[str, tuple] | None] = ContextVar("soak_running_task", default=None)


class Chaos:
    """The kills, the broker outage and the cancels, and what they left, for the figures and
    the final checks."""

    def __init__(self, rng: random.Random, *, footprint: Callable[[OutboxEntry], dict]):
        self.rng = rng
        self.footprint = footprint
        self.operation = 0  # the operation under way (for the record)
        self.problems: list[str] = []
        # kills
        self.armed: Kill | None = None
        self.armed_at = 0
        self.armed_waited = 0  # operations the armed kill waited with its provider open to calls
        self.never_fired: list[str] = []
        self.outstanding: Kill | None = None  # fired, its leases not yet run out
        self.expire_at: int | None = None
        self.kills: list[Kill] = []
        self.dying = False
        self.redelivered = Counter()
        # broker
        self.broker_down = False
        self.refused_publishes = Counter()
        # cancels
        self.cancel_inside_armed = False
        self.cancel_between_wanted = False
        self.won: list[CancelRecord] = []
        self.lost: list[CancelRecord] = []
        self.no_target = 0

    # --- installation ---------------------------------------------------------------------
    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        chaos = self
        real_apply, real_apply_async = Task.apply, Task.apply_async
        real_send = DjangoSandboxAdapter.send
        real_settle = core.outbox._Held.settle
        real_record_left_over = core.outbox._record_left_over
        real_release_spare = core.outbox._SpareSlot.release

        def apply(task, args=None, kwargs=None, *more, **options):
            token = _running.set((task.name, tuple(args or ())))
            try:
                return real_apply(task, args, kwargs, *more, **options)
            except WorkerKilled:
                chaos.dying = False
                chaos.note_left_behind()
                # acks_late + reject_on_worker_lost: the broker gives the message to another
                # worker at once, which must find nothing to do while the dead one's lease holds.
                chaos.redelivered[task.name] += 1
                return real_apply(task, args, kwargs, *more, **options)
            finally:
                _running.reset(token)

        def apply_async(task, *args, **kwargs):
            if chaos.broker_down:
                chaos.refused_publishes[task.name] += 1
                raise OperationalError(
                    "Error 111 connecting to 127.0.0.1:6379. Connection refused."
                )
            return real_apply_async(task, *args, **kwargs)

        def send(adapter, request, **kwargs):
            provider = _provider_of(request.url)
            chaos._cancel_inside_maybe()
            kill = chaos._kill_here(provider)
            if kill is not None and kill.when == "before":
                chaos._die(kill)
            response = real_send(adapter, request, **kwargs)
            if kill is not None:
                chaos._die(kill)
            return response

        def settle(held, **options):
            if chaos.dying:
                return  # a killed process frees nothing and writes nothing
            real_settle(held, **options)

        def record_left_over(successes, batch):
            if chaos.dying:
                # … nor does it record the successes of its batch delivered so far, or give
                # back the entries of its batch it had not reached: all stay in flight under
                # their claim's lease, for the sweeper to take over once it runs out.
                return
            real_record_left_over(successes, batch)

        def release_spare(spare):
            if not chaos.dying:
                real_release_spare(spare)

        monkeypatch.setattr(Task, "apply", apply)
        monkeypatch.setattr(Task, "apply_async", apply_async)
        monkeypatch.setattr(DjangoSandboxAdapter, "send", send)
        monkeypatch.setattr(core.outbox._Held, "settle", settle)
        monkeypatch.setattr(core.outbox, "_record_left_over", record_left_over)
        monkeypatch.setattr(core.outbox._SpareSlot, "release", release_spare)
        monkeypatch.setattr("callcenter.services.outbox_enqueue", self._enqueue_wrapper())

    # --- kills ----------------------------------------------------------------------------
    def arm(self, kill: Kill) -> None:
        self.armed = Kill(kill.kind, kill.provider, kill.when)
        self.armed_at = self.operation
        self.armed_waited = 0

    def waited_one_more(self) -> int:
        """Count an operation the armed kill waits for its victim, unless its provider's
        breaker is open as it starts: no delivery calls that provider then (docs/reliability.md),
        and the random 5xx answers do open it now and then, for a cool-down that spans up to a
        few hundred operations. Answers how many operations it has waited."""
        kill = self.armed
        if kill is not None and not (kill.kind == "delivery" and breaker_is_open(kill.provider)):
            self.armed_waited += 1
        return self.armed_waited

    def _kill_here(self, provider: str) -> Kill | None:
        kill, running = self.armed, _running.get()
        if kill is None or running is None:
            return None
        name, _ = running
        delivering = delivering_entry_id()
        if (
            kill.kind == "delivery"
            and name == DELIVER_TASK
            and provider == kill.provider
            and delivering is not None
        ):
            entry = OutboxEntry.objects.get(pk=delivering)
            kill.entry_id = entry.pk
            kill.victim = f"entry {entry.pk} {entry.operation} {entry.object_key}"
        elif kill.kind == "job" and "job" in name:
            job = Job.objects.filter(status=JobStatus.RUNNING).order_by("-pk").first()
            kill.job_id = job.pk if job else None
            kill.victim = f"job {kill.job_id} ({job.kind if job else '?'})"
        else:
            return None
        self._fired(kill)
        return kill

    def _enqueue_wrapper(self):
        from callcenter import services

        real_enqueue = services.outbox_enqueue
        chaos = self

        def outbox_enqueue(*, obj, operation):
            entry = real_enqueue(obj=obj, operation=operation)
            kill = chaos.armed
            if kill is not None and kill.kind == "preparation" and getattr(obj, "index", 0) >= 1:
                # Dies while adding chunk 2 (or later): its transaction rolls back, the chunks
                # before it are committed and on their way.
                kill.upload_id = obj.upload_id
                kill.victim = f"upload {obj.upload_id} at chunk {obj.index}"
                chaos._fired(kill)
                chaos._die(kill)
            return entry

        return outbox_enqueue

    def why_no_victim(self) -> str:
        """What the armed kill's provider looked like when it gave up waiting: its breaker, its
        slots held and its open entries (a kill that found no victim must say why)."""
        kill, now = self.armed, timezone.now()
        if kill is None or kill.kind != "delivery":
            return ""
        slots = ProviderSlot.objects.filter(provider=kill.provider, lease_until__gt=now).exclude(
            holder=""
        )
        entries = Counter(
            OutboxEntry.objects.filter(provider=kill.provider)
            .filter(state__in=(OutboxState.PENDING, OutboxState.IN_FLIGHT))
            .values_list("state", flat=True)
        )
        request = RelayRequest.objects.filter(provider=kill.provider).first()
        return (
            f"breaker {breaker_status(kill.provider)}, {slots.count()} slot(s) held, "
            f"open entries {dict(entries)}, relay requested at "
            f"{request.requested_at if request else None} (now {now})"
        )

    def _fired(self, kill: Kill) -> None:
        kill.fired_at = self.operation
        self.armed = None
        self.outstanding = kill
        self.expire_at = self.operation + self.rng.randint(5, 30)
        self.kills.append(kill)

    def _die(self, kill: Kill) -> None:
        self.dying = True
        raise WorkerKilled(kill.victim)

    def killed_in_request(self) -> None:
        """The web process died (an upload being prepared): nothing of it runs any more."""
        self.dying = False
        self.note_left_behind()

    def note_left_behind(self) -> None:
        """What the dead process left in the database, as a SIGKILL leaves it: checked, so
        that the simulation stays faithful (an entry in flight under its lease, its provider
        slot still held; a job running; an upload preparing under its lease)."""
        kill, now = self.kills[-1], timezone.now()
        if kill.entry_id:
            entry = OutboxEntry.objects.get(pk=kill.entry_id)
            slots = ProviderSlot.objects.filter(
                provider=entry.provider, lease_until__gt=now
            ).exclude(holder="")
            kill.left = (
                f"{entry.state}, lease {'live' if entry.lease_until > now else 'over'}, "
                f"{slots.count()} {entry.provider} slot(s) held"
            )
            if entry.state != OutboxState.IN_FLIGHT or not slots.exists():
                self.problems.append(f"kill of {kill.victim} left {kill.left}")
        elif kill.job_id:
            kill.left = Job.objects.get(pk=kill.job_id).status
        elif kill.upload_id:
            upload = CallUpload.objects.get(pk=kill.upload_id)
            kill.left = f"preparing={upload.preparing}, {upload.chunks_total} chunk(s) committed"

    def leases_ran_out(self) -> None:
        self.outstanding = None
        self.expire_at = None

    # --- cancels --------------------------------------------------------------------------
    def want_cancel_between(self) -> None:
        self.cancel_between_wanted = True

    def cancel_between(self) -> None:
        """A person cancels an entry listed in **Operazioni in uscita**, between operations;
        while the list shows nothing to cancel, the person tries again after the next one."""
        if self.cancel_between_wanted and self._cancel_random(where="between"):
            self.cancel_between_wanted = False

    def arm_cancel_inside(self) -> None:
        """The next delivery to call a provider is cancelled (or another entry is) during that
        call, as a person clicking while a worker delivers."""
        self.cancel_inside_armed = True

    def _cancel_inside_maybe(self) -> None:
        running = _running.get()
        if not self.cancel_inside_armed or running is None or running[0] != DELIVER_TASK:
            return
        delivering = delivering_entry_id()
        if delivering is None:
            return
        self.cancel_inside_armed = False
        if self.rng.random() < 0.5 or not self._cancel_random(where="inside", exclude=delivering):
            self._cancel(delivering, where="inside")  # in flight: it must lose

    def _cancel_random(self, *, where: str, exclude: int | None = None) -> bool:
        eligible = Q()
        for label, operations in CANCELLABLE.items():
            eligible |= Q(model_label=label, operation__in=operations)
        targets = OutboxEntry.objects.filter(
            (eligible & Q(state__in=(OutboxState.PENDING, OutboxState.FAILED)))
            | Q(state=OutboxState.IN_FLIGHT)
        ).exclude(pk=exclude)
        ids = list(targets.order_by("id").values_list("id", flat=True))
        if not ids:
            self.no_target += 1
            return False
        self._cancel(self.rng.choice(ids), where=where)
        return True

    def _cancel(self, entry_id: int, *, where: str) -> None:
        entry = OutboxEntry.objects.get(pk=entry_id)
        as_read = (entry.state, entry.claim_token, entry.attempts, entry.lease_until)
        record_before = _record_sync(entry)
        calls = RemoteCall.objects.filter(outbox_entry_id=entry_id).count()
        won = outbox_cancel(entries=OutboxEntry.objects.filter(pk=entry_id))
        entry.refresh_from_db()
        record = CancelRecord(
            entry_id=entry.pk,
            model_label=entry.model_label,
            object_id=entry.object_id,
            object_key=entry.object_key,
            operation=entry.operation,
            where=where,
            operation_number=self.operation,
            at=timezone.now(),
            attempts=entry.attempts,
            calls=calls,
        )
        if won:
            if entry.state != OutboxState.CANCELLED:
                self.problems.append(f"cancel of entry {entry.pk} returned 1, state {entry.state}")
            after = _record_sync(entry)
            if entry.operation != Operation.DELETE and after and after[0] != "failed":
                self.problems.append(
                    f"cancel of entry {entry.pk} won, its record shows {after} (not failed)"
                )
            record.footprint = self.footprint(entry)
            self.won.append(record)
        else:
            now_read = (entry.state, entry.claim_token, entry.attempts, entry.lease_until)
            if now_read != as_read or _record_sync(entry) != record_before:
                self.problems.append(
                    f"cancel of entry {entry.pk} returned 0 but changed it: {as_read} → "
                    f"{now_read}, record {record_before} → {_record_sync(entry)}"
                )
            self.lost.append(record)

    def verify_cancels(self) -> None:
        """After the drain: a cancel that won stays won (no attempt, no call after it); one that
        lost changed nothing, its entry was delivered."""
        won_ids = {c.entry_id for c in self.won}
        entries = OutboxEntry.objects.in_bulk([c.entry_id for c in self.won + self.lost])
        for cancel in self.won:
            entry = entries[cancel.entry_id]
            calls = RemoteCall.objects.filter(outbox_entry_id=entry.pk).count()
            if (entry.state, entry.attempts, calls) != (
                OutboxState.CANCELLED,
                cancel.attempts,
                cancel.calls,
            ):
                self.problems.append(
                    f"entry {entry.pk} ({entry.object_key} {entry.operation}) was cancelled at "
                    f"operation {cancel.operation_number} but went on: {entry.state}, attempts "
                    f"{cancel.attempts} → {entry.attempts}, calls {cancel.calls} → {calls}"
                )
        for cancel in self.lost:
            if cancel.entry_id in won_ids:
                continue  # cancelled again later, and that time it won
            entry = entries[cancel.entry_id]
            superseded = entry.state == OutboxState.CANCELLED and entry.last_error
            if entry.state != OutboxState.DONE and not superseded:
                self.problems.append(
                    f"entry {entry.pk} ({entry.object_key} {entry.operation}): a cancel that "
                    f"lost at operation {cancel.operation_number}, yet it ended {entry.state}"
                )

    # --- figures --------------------------------------------------------------------------
    def kills_by_kind(self) -> dict[str, int]:
        return dict(Counter(kill.label for kill in self.kills))

    def cancels_by_where(self) -> dict[str, tuple[int, int]]:
        return {
            where: (
                sum(c.where == where for c in self.won),
                sum(c.where == where for c in self.lost),
            )
            for where in ("between", "inside")
        }


def _provider_of(url: str) -> str:
    """http://sandbox.test/sandbox/<provider>/… → provider."""
    parts = url.split("/")
    return parts[4] if len(parts) > 4 else ""


def _record_sync(entry: OutboxEntry) -> tuple[str, str] | None:
    model = sync_handler_for(entry.model_label).model
    return (
        model._default_manager.filter(pk=entry.object_id)
        .values_list("sync_status", "sync_error")
        .first()
    )


def longest_lease_seconds() -> float:
    """The longest lease any setting names (the outbox's, an upload preparation's, a job's):
    jumping past it lets beat take over everything a dead process held."""
    found = []
    with warnings.catch_warnings():  # reading every setting reads the deprecated ones too
        warnings.simplefilter("ignore")
        values = {name: getattr(settings, name, None) for name in dir(settings) if name.isupper()}
    for name, value in values.items():
        if isinstance(value, bool):
            continue
        if "LEASE" in name and isinstance(value, int | float):
            found.append(float(value))
        elif isinstance(value, dict):
            found += [
                float(v)
                for k, v in value.items()
                if isinstance(k, str)
                and "LEASE" in k
                and isinstance(v, int | float)
                and not isinstance(v, bool)
            ]
    return max(found)
