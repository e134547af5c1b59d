"""Beat, in the soak's process: every periodic task of `settings.CELERY_BEAT_SCHEDULE`, run
synchronously whenever its period has passed on the test's (travelling) clock. The soak names
none of them: a sweeper added to the schedule is run by the soak with no change here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from celery import current_app
from django.conf import settings
from django.utils import timezone

from core.errors import ProviderError

# Periodic tasks that make no sense in-process, with the reason. None so far: the purges
# (retention, idempotency keys) are cheap and harmless within the soak's few simulated hours,
# and the push status refresh calls SMSHosting like any other worker would.
SKIPPED: dict[str, str] = {}


class Beat:
    def __init__(self, deliver: Callable[[], AbstractContextManager]) -> None:
        self.deliver = deliver
        self.schedule = {
            name: entry
            for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
            if name not in SKIPPED
        }
        self.last_run: dict[str, datetime] = {}
        self.runs: Counter = Counter()
        self.failures: Counter = Counter()  # a provider fault in a periodic task: next time

    def tick(self) -> None:
        """What beat publishes now, each task run by a worker (its deliveries included)."""
        now = timezone.now()
        for name, entry in self.schedule.items():
            if not self._due(name, entry["schedule"], now):
                continue
            self.last_run[name] = now
            task = _task(entry["task"])
            with self.deliver():
                try:
                    task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
                except ProviderError:
                    self.failures[name] += 1  # logged by the worker; beat runs it again
            self.runs[name] += 1

    def _due(self, name: str, schedule: Any, now: datetime) -> bool:
        last = self.last_run.get(name)
        if last is None:
            return True
        if isinstance(schedule, int | float):
            return now - last >= timedelta(seconds=schedule)
        if isinstance(schedule, timedelta):
            return now - last >= schedule
        return schedule.is_due(last)[0]  # a celery schedule (crontab, solar…)


def _task(name: str):
    module, _, attribute = name.rpartition(".")
    import_module(module)  # registers it, whether or not autodiscovery ran
    return current_app.tasks.get(name) or getattr(import_module(module), attribute)
