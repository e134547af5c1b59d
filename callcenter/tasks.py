"""Thin Celery tasks for lead uploads: both are safe to run twice."""

from celery import shared_task


@shared_task(name="callcenter.tasks.call_uploads_sweep_task", ignore_result=True)
def call_uploads_sweep_task() -> dict[str, int]:
    """Beat: resume uploads whose preparer died, finish uploads whose status was never
    written (callcenter.services.call_uploads_sweep)."""
    from callcenter.services import call_uploads_sweep

    return call_uploads_sweep()


@shared_task(name="callcenter.tasks.call_upload_resume_task", ignore_result=True)
def call_upload_resume_task(upload_id: int) -> bool:
    from callcenter.services import call_upload_resume

    return call_upload_resume(upload_id=upload_id)
