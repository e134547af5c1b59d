"""What Vetrina forgets, and when: beat runs `retention_purge` every hour.

Each app registers the purge of what it keeps (from its AppConfig.ready), so that the core
never imports a product app: the core purges its call log and finished jobs, messaging its log
of Aisac's inbound calls, callcenter its lead-file previews. Logs and finished jobs are kept
`LOG_RETENTION_DAYS` (90 by default)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core.models import Job, JobStatus, RemoteCall

logger = logging.getLogger("vetrina.retention")
DELETE_BATCH = 5_000
_purges: dict[str, Callable[[], int]] = {}


def retention_register(name: str, purge: Callable[[], int]) -> None:
    """`purge()` deletes what has outlived its time and answers how many things it deleted."""
    _purges[name] = purge


def retention_purge() -> dict[str, int]:
    """Run every registered purge; one that fails is logged and does not stop the others."""
    report: dict[str, int] = {}
    for name, purge in _purges.items():
        try:
            report[name] = purge()
        except Exception:
            logger.exception("Retention purge %s failed", name)
    if any(report.values()):
        logger.info("Retention purge: %s", report)
    return report


def log_cutoff() -> datetime:
    """Log rows (and finished jobs) from before this moment are forgotten."""
    return timezone.now() - timedelta(days=settings.LOG_RETENTION_DAYS)


def rows_delete(queryset: QuerySet) -> int:
    """Delete these rows a batch at a time: a log of millions of rows is purged without one
    long transaction holding the table."""
    deleted = 0
    while ids := list(queryset.order_by().values_list("pk", flat=True)[:DELETE_BATCH]):
        count, _details = queryset.model._base_manager.filter(pk__in=ids).delete()
        deleted += count
    return deleted


def remote_calls_purge() -> int:
    return rows_delete(RemoteCall.objects.filter(created_at__lt=log_cutoff()))


def finished_jobs_purge() -> int:
    """Jobs that ended (done or failed) before the cutoff; a queued or running job stays."""
    return rows_delete(
        Job.objects.filter(
            status__in=(JobStatus.DONE, JobStatus.FAILED), finished_at__lt=log_cutoff()
        )
    )


def register_core_purges() -> None:
    retention_register("remote_calls", remote_calls_purge)
    retention_register("jobs", finished_jobs_purge)
