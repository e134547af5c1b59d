"""kombu's Redis transport (the broker of a chain that runs on more than one machine), with one
fix: a channel whose connection is already closed says so with a connection error.

When a worker loses Redis, Celery 5.7 first collects the broken connection (which detaches
its transport from the connection: `transport.client` becomes None) and then closes it. The
close closes the default channel, which hands the messages the worker has not acknowledged
yet back to Redis; with no client left, kombu's Redis channel fails building its connection
parameters with an AttributeError that nobody catches, and the worker exits ("Unrecoverable
error") instead of reconnecting. Our tasks acknowledge late, so a worker loses Redis holding
such a message whenever a delivery is running at that moment
(tests/reliability/test_process_faults.py).

Raised as Redis's own ConnectionError, the failure is one of the transport's connection errors,
which Celery's close ignores: the worker reconnects. The message it could not hand back stays
in Redis's unacknowledged set and comes back after the visibility timeout, as any message of a
worker that went away does; by then the outbox has delivered its entry (the sweeper publishes
whatever is due), and the relay it starts finds nothing to claim."""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES, redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:
            raise RedisConnectionError("The connection to the broker is closed.")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel


def redis_broker_register() -> None:
    """Serve the broker URLs that name Redis with this transport. Registered under kombu's own
    names rather than set as the broker's transport: the URL keeps its scheme, so a rediss://
    URL still gets kombu's TLS defaults and the logs still say redis://."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
