"""Thin Celery tasks: take an id, call the outbox. Both are safe to run twice.

The tasks import what they run in their bodies: the outbox (core.publish) and core.jobs hand
their work to these tasks, so they import this module."""

from celery import shared_task

from core.idempotency import idempotency_keys_purge
from core.retention import retention_purge


@shared_task(name="core.tasks.outbox_deliver_task", ignore_result=True)
def outbox_deliver_task(entry_id: int | None, provider: str = "") -> str:
    """A relay: deliver `entry_id`, then the provider's other due entries (core.outbox)."""
    from core.outbox import outbox_relay

    return outbox_relay(entry_id=entry_id, provider=provider)


@shared_task(name="core.tasks.outbox_sweep_task", ignore_result=True)
def outbox_sweep_task() -> int:
    from core.outbox import outbox_sweep

    return outbox_sweep()


@shared_task(name="core.tasks.job_run_task", ignore_result=True)
def job_run_task(job_id: int) -> None:
    from core.jobs import job_run

    job_run(job_id=job_id)


@shared_task(name="core.tasks.job_sweep_task", ignore_result=True)
def job_sweep_task() -> dict[str, int]:
    """Beat: jobs a stopped worker left running, or the broker never handed out (core.jobs)."""
    from core.jobs import job_sweep

    return job_sweep()


@shared_task(name="core.tasks.retention_purge_task", ignore_result=True)
def retention_purge_task() -> dict[str, int]:
    """Beat, hourly: forget old logs, finished jobs and stale previews (core.retention)."""
    return retention_purge()


@shared_task(name="core.tasks.idempotency_keys_purge_task", ignore_result=True)
def idempotency_keys_purge_task() -> int:
    return idempotency_keys_purge()
