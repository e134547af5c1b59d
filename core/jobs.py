"""Long tasks (pulls, imports) run by a worker, with progress a page can follow live."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Job, JobStatus

logger = logging.getLogger("vetrina.jobs")
JobRunner = Callable[[Job, Callable[[str, int, int], None]], str]
_runners: dict[str, JobRunner] = {}


def job_runner_register(kind: str, runner: JobRunner) -> None:
    _runners[kind] = runner


def job_start(*, kind: str, label: str, params: dict[str, Any] | None = None, user=None) -> Job:
    """Queue a job; a worker runs it once this transaction commits."""
    if kind not in _runners:
        raise LookupError(kind)
    job = Job.objects.create(
        kind=kind,
        label=label,
        params=params or {},
        created_by=user if user is not None and user.is_authenticated else None,
    )
    transaction.on_commit(partial(_publish, job.pk))
    return job


def _publish(job_id: int) -> None:
    from core.tasks import job_run_task

    job_run_task.delay(job_id)


def job_run(*, job_id: int) -> None:
    """Run a queued job; safe to run twice (only a queued job starts)."""
    if not Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING):
        return
    job = Job.objects.get(pk=job_id)
    last = {"at": 0.0}

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last["at"] >= 0.5 or done >= total:  # at most twice a second
            last["at"] = now
            Job.objects.filter(pk=job_id).update(step=step[:100], done=done, total=total)

    try:
        result = _runners[job.kind](job, progress)
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            result=_("The job failed: %(error)s") % {"error": exc},
            finished_at=timezone.now(),
        )
        return
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.DONE, result=result, finished_at=timezone.now()
    )


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
