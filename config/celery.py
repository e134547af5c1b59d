"""Celery application: `celery -A config worker` and `celery -A config beat`."""

from celery import Celery
from celery.signals import task_postrun, task_prerun

from config.env import settings_module_select
from core.redis_broker import redis_broker_register

settings_module_select()  # the environment, else .env, else the embedded default
redis_broker_register()  # before any connection: redis:// URLs use our transport

app = Celery("vetrina")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **kwargs) -> None:
    """What Django does around a request: drop a connection that broke or outlived
    CONN_MAX_AGE, and keep the others. (With CELERY_DB_REUSE_MAX set, Celery's own fix-up no
    longer closes every connection around every task.) Not for a task run eagerly, inside its
    caller's transaction, as Celery's fix-up does."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
