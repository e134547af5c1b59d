from celery import shared_task

from messaging.services import push_status_refresh


@shared_task(name="messaging.tasks.push_status_refresh_task", ignore_result=True)
def push_status_refresh_task() -> int:
    """Beat: keep PENDING/SENT messages fresh until they reach a final status."""
    return push_status_refresh()
