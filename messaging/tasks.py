from celery import shared_task

from core.breaker import breaker_is_open
from messaging.services import push_status_refresh


@shared_task(name="messaging.tasks.push_status_refresh_task", ignore_result=True)
def push_status_refresh_task() -> int:
    """Beat: keep PENDING/SENT messages fresh until they reach a final status; not while
    SMSHosting's circuit breaker is open (its trial call decides when it is back)."""
    if breaker_is_open("smshosting"):
        return 0
    return push_status_refresh()
