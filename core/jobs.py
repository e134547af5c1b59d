"""Long tasks (pulls, imports) run by a worker, with progress a page can follow live.

Jobs are kept like the outbox's rows:
- `job_start` writes the job in the caller's transaction and publishes it once that commits; a
  broker that is down is logged, never raised to the user: the job waits for the sweeper.
- A worker claims a queued job with a conditional UPDATE (status and a claim token of its own)
  and holds a lease, renewed by the job's progress; the job's last write (done or failed) and
  every progress write hold only while the claim is still the worker's.
- The sweeper (`job_sweep`, beat every `JOB_SWEEP_SECONDS`) publishes again a queued job no
  worker took within `JOBS["REQUEUE_AFTER_SECONDS"]`, and takes back a running job whose lease
  expired (its worker stopped): a resumable kind runs again (at most `JOBS["MAX_RUNS"]` runs);
  any other fails with the reason, and **Riprova** (`job_retry`) queues it again when it still
  can run. A job that fails for good calls its kind's `on_failure` (a lead import removes its
  file)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from core.models import Job, JobStatus
from core.tasks import job_run_task

logger = logging.getLogger("vetrina.jobs")
Progress = Callable[[str, int, int], None]


@dataclass
class JobOutcome:
    """What a runner may answer instead of a text: the text and data for the job's page."""

    text: str
    report: dict[str, Any] = field(default_factory=dict)


JobRunner = Callable[[Job, Progress], "str | JobOutcome"]


class JobFailed(Exception):
    """Raised by a runner: the job cannot be done, and its message says why to the user."""


class JobLost(Exception):
    """The job is no longer this worker's (its lease ran out and the sweeper took it back)."""


@dataclass(frozen=True)
class JobKind:
    runner: JobRunner
    # Safe to run again after a worker stopped in the middle (idempotent, or continues from
    # `job.checkpoint`): the sweeper starts it again instead of failing it.
    resumable: bool = False
    # Why a failed job cannot run again ("" when it can): e.g. its file is gone.
    retry_check: Callable[[Job], str] | None = None
    # Called once the job failed for good (files to remove).
    on_failure: Callable[[Job], None] | None = None
    # A permission needed, besides core.change_job, to run it again.
    permission: str = ""
    # Shown on the job's page once it finished, with `job`, `report` and `context(job)`.
    template: str = ""
    context: Callable[[Job], dict[str, Any]] | None = None


_kinds: dict[str, JobKind] = {}


def job_runner_register(kind: str, runner: JobRunner, **options: Any) -> None:
    """Register what runs jobs of `kind`; `options` are JobKind's (resumable=True, …)."""
    _kinds[kind] = JobKind(runner=runner, **options)


def job_kind(kind: str) -> JobKind | None:
    return _kinds.get(kind)


def _lease() -> timedelta:
    return timedelta(seconds=settings.JOBS["LEASE_SECONDS"])


# --- start and publish -----------------------------------------------------------------------
def job_start(*, kind: str, label: str, params: dict[str, Any] | None = None, user=None) -> Job:
    """Queue a job with the caller's transaction; a worker runs it once that commits."""
    if kind not in _kinds:
        raise LookupError(kind)
    with transaction.atomic(savepoint=False):
        job = Job.objects.create(
            kind=kind,
            label=label[:200],
            params=params or {},
            created_by=user if user is not None and user.is_authenticated else None,
            enqueued_at=timezone.now(),
        )
        transaction.on_commit(partial(job_publish, job.pk))
    return job


def job_publish(job_id: int) -> None:
    """Hand a job to the workers; if the broker is down the sweeper will do it later."""
    try:
        job_run_task.delay(job_id)
    except (KombuOperationalError, OSError) as exc:
        logger.warning("Broker unavailable (%s); job %s waits for the sweeper", exc, job_id)


# --- run -------------------------------------------------------------------------------------
def job_run(*, job_id: int) -> None:
    """Run a queued job; safe to run twice (one claim wins, the other does nothing)."""
    token = uuid.uuid4().hex
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        claim_token=token,
        lease_until=timezone.now() + _lease(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return
    job = Job.objects.get(pk=job_id)
    kind = _kinds.get(job.kind)
    if kind is None:
        _fail(
            job,
            token,
            _("This kind of job is not known to the worker: %(kind)s.") % {"kind": job.kind},
        )
        return
    try:
        outcome = kind.runner(job, _heartbeat(job_id, token))
    except JobLost:
        logger.warning("Job %s was taken back from this worker; its run stops", job_id)
        return
    except JobFailed as exc:
        _fail(job, token, str(exc))
        return
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        _fail(job, token, _("The job failed: %(error)s") % {"error": exc})
        return
    if not isinstance(outcome, JobOutcome):
        outcome = JobOutcome(text=str(outcome))
    done = _ours(job_id, token).update(
        status=JobStatus.DONE,
        result=outcome.text,
        report=outcome.report,
        finished_at=timezone.now(),
        lease_until=None,
    )
    if not done:
        logger.warning("Job %s finished after it was taken back; its result is not kept", job_id)


def _ours(job_id: int, token: str):
    return Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, claim_token=token)


def _heartbeat(job_id: int, token: str) -> Progress:
    """The runner's `progress(step, done, total)`: written at most twice a second, and each
    write renews the lease. Raises JobLost once the job is no longer ours."""
    last = {"at": 0.0}

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last["at"] < 0.5 and not (total and done >= total):
            return
        last["at"] = now
        renewed = _ours(job_id, token).update(
            step=step[:100],
            done=max(done, 0),
            total=max(total, 0),
            lease_until=timezone.now() + _lease(),
        )
        if not renewed:
            raise JobLost(job_id)

    return progress


def job_checkpoint(job: Job, checkpoint: dict[str, Any]) -> None:
    """Keep what a resumable job has done so far, while it is still ours (call it in the
    transaction that does the work: both commit, or neither). Raises JobLost otherwise."""
    job.checkpoint = checkpoint
    if not _ours(job.pk, job.claim_token).update(
        checkpoint=checkpoint, lease_until=timezone.now() + _lease()
    ):
        raise JobLost(job.pk)


def _fail(job: Job, token: str, reason: str) -> None:
    failed = _ours(job.pk, token).update(
        status=JobStatus.FAILED, result=reason, finished_at=timezone.now(), lease_until=None
    )
    if failed:
        _after_failure(job)


def _after_failure(job: Job) -> None:
    kind = _kinds.get(job.kind)
    if kind is None or kind.on_failure is None:
        return
    try:
        kind.on_failure(job)
    except Exception:
        logger.exception("Cleaning up after job %s failed", job.pk)


# --- sweep -----------------------------------------------------------------------------------
def job_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Take back running jobs whose lease expired, and publish again queued jobs no worker
    took. Answers how many were resumed, failed and published."""
    now = now or timezone.now()
    report = {"resumed": 0, "failed": 0, "published": 0}
    stopped = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(lease_until__lt=now) | Q(lease_until=None)
    )
    for job in stopped.order_by("id")[:100]:
        as_read = Job.objects.filter(
            pk=job.pk,
            status=JobStatus.RUNNING,
            claim_token=job.claim_token,
            lease_until=job.lease_until,
        )
        kind = _kinds.get(job.kind)
        if kind is not None and kind.resumable and job.attempts < settings.JOBS["MAX_RUNS"]:
            if as_read.update(
                status=JobStatus.QUEUED,
                claim_token="",
                lease_until=None,
                enqueued_at=now,
                step=_("resumed after its worker stopped")[:100],
            ):
                logger.warning("Job %s: its worker stopped; running it again", job.pk)
                report["resumed"] += 1
                job_publish(job.pk)
            continue
        if kind is not None and kind.resumable:
            reason = _(
                "The worker running this job stopped %(n)d times before it finished; it was not "
                "started again."
            ) % {"n": job.attempts}
        else:
            reason = _("The worker running this job stopped before it finished.")
        if as_read.update(
            status=JobStatus.FAILED,
            result=reason,
            finished_at=now,
            claim_token="",
            lease_until=None,
        ):
            logger.warning("Job %s: its worker stopped; failed", job.pk)
            report["failed"] += 1
            _after_failure(job)
    stale = now - timedelta(seconds=settings.JOBS["REQUEUE_AFTER_SECONDS"])
    waiting = Job.objects.filter(status=JobStatus.QUEUED).filter(
        Q(enqueued_at__lt=stale) | Q(enqueued_at=None)
    )
    for job_id, enqueued_at in waiting.order_by("id").values_list("id", "enqueued_at")[:500]:
        if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, enqueued_at=enqueued_at).update(
            enqueued_at=now
        ):
            report["published"] += 1
            job_publish(job_id)
    if any(report.values()):
        logger.info("Job sweep: %s", report)
    return report


# --- run again by hand ---------------------------------------------------------------------
def job_retry_blocker(job: Job) -> str:
    """Why this job cannot be run again by hand; "" when **Riprova** can queue it."""
    if job.status != JobStatus.FAILED:
        return _("Only a failed job can be run again.")
    kind = _kinds.get(job.kind)
    if kind is None:
        return _("This kind of job is not known to the worker: %(kind)s.") % {"kind": job.kind}
    if kind.retry_check is not None:
        return kind.retry_check(job) or ""
    return ""


def job_retry_allowed(user, job: Job) -> bool:
    kind = _kinds.get(job.kind)
    permission = kind.permission if kind is not None else ""
    return user.has_perm("core.change_job") and (not permission or user.has_perm(permission))


def job_retry(*, job: Job) -> bool:
    """Queue a failed job again (**Riprova**); False, changing nothing, if it cannot run."""
    if job_retry_blocker(job):
        return False
    with transaction.atomic():
        queued = Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED,
            attempts=0,
            result="",
            step="",
            done=0,
            total=0,
            report={},
            finished_at=None,
            claim_token="",
            lease_until=None,
            enqueued_at=timezone.now(),
        )
        if queued:
            transaction.on_commit(partial(job_publish, job.pk))
    return bool(queued)


# --- the live page -----------------------------------------------------------------------------
def job_progress(job: Job) -> dict[str, Any]:
    job.refresh_from_db()
    percent = (
        round(100 * job.done / job.total)
        if job.total
        else (100 if job.status == JobStatus.DONE else 0)
    )
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "step": job.step,
        "done": job.done,
        "total": job.total,
        "percent": min(percent, 100),
        "finished": job.status in (JobStatus.DONE, JobStatus.FAILED),
        "result": job.result,
    }
