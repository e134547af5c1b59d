"""Handing outbox entries to the workers: the one place that publishes a delivery task.

A broker that is down is never the user's problem: the entry is already committed, and the
sweeper publishes it once the broker is back."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as KombuOperationalError

from core.tasks import outbox_deliver_task

logger = logging.getLogger("vetrina.outbox")


def outbox_publish(entry_id: int) -> None:
    """Hand an entry to the workers; if the broker is down the sweeper will do it later."""
    try:
        outbox_deliver_task.delay(entry_id)
    except (KombuOperationalError, OSError) as exc:
        logger.warning(
            "Broker unavailable (%s); outbox entry %s waits for the sweeper", exc, entry_id
        )
