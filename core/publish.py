"""Handing outbox entries to the workers: the one place that publishes a delivery task.

A delivery task is a relay: it delivers its entry, then its provider's other due entries
(core.outbox.outbox_relay). So an entry of a provider whose relay is queued and has not started
needs no message of its own (core/relay.py): a burst of changes costs the workers a few
messages, not one each, and a lone change is still published the moment it commits.

A broker that is down is never the user's problem: the entry is already committed, and the
sweeper publishes it once the broker is back."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as KombuOperationalError

from core.relay import relay_request, relay_request_withdraw
from core.tasks import outbox_deliver_task

logger = logging.getLogger("vetrina.outbox")


def outbox_publish(entry_id: int | None, provider: str = "") -> None:
    """Have `entry_id` delivered (or, with no id, `provider`'s due entries).

    With `provider`, only a pending entry that is due may be passed: it is left to the relay
    already queued for that provider, if there is one. Without, a task is always published
    (the sweeper's entries whose worker died: no relay claims those, the task takes them over).
    If the broker is down the sweeper will publish the entry later."""
    requested_at = relay_request(provider) if provider else None
    if provider and requested_at is None:
        return  # the relay queued for this provider will claim it
    try:
        outbox_deliver_task.delay(entry_id, provider)
    except (KombuOperationalError, OSError) as exc:
        if requested_at is not None:
            relay_request_withdraw(provider, requested_at)
        logger.warning(
            "Broker unavailable (%s); outbox entry %s waits for the sweeper", exc, entry_id
        )
