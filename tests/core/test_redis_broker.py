"""core/redis_broker.py: the Redis transport a redis:// broker URL gets (the process-level proof,
a worker that loses Redis mid-delivery and lives on, is in tests/reliability)."""

from types import SimpleNamespace

import pytest
from kombu import Connection
from kombu.transport import resolve_transport
from redis.exceptions import ConnectionError as RedisConnectionError

from core.redis_broker import Channel, Transport


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_redis_urls_get_our_transport_and_keep_their_scheme(scheme):
    assert resolve_transport(scheme) is Transport
    connection = Connection(f"{scheme}://:secret@127.0.0.1:6399/0")
    assert connection.transport_cls == scheme  # so rediss:// keeps kombu's TLS defaults
    assert connection.as_uri() == f"{scheme}://:**@127.0.0.1:6399/0"  # what the logs show


def test_a_channel_whose_connection_was_collected_raises_a_connection_error():
    """Not kombu's AttributeError, which Celery 5.7's worker does not catch when it closes a
    connection it lost: a connection error is one it ignores, and it reconnects."""
    channel = Channel.__new__(Channel)  # no Redis needed to ask for the parameters
    channel.connection = SimpleNamespace(client=None)
    with pytest.raises(RedisConnectionError):
        channel._connparams()
    assert RedisConnectionError in Transport.connection_errors
