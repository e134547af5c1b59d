"""A delivery's total time is bounded: an answer trickling in, each piece within the read
timeout, is abandoned at the delivery's deadline (half the lease), so no second worker can take
the entry over while the first still reads."""

import socket
import threading
import time

import pytest

from core import errors
from core.http import ProviderClient, delivery_deadline
from core.models import RemoteCall

pytestmark = pytest.mark.django_db


class TrickleClient(ProviderClient):
    provider = "trickle"


@pytest.fixture
def trickling_server():
    """A server on 127.0.0.1 that sends its headers at once, then one byte of body every 0.1 s
    for 10 s at most (each byte well within any read timeout); it stops by itself."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(10)
    stop = threading.Event()

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            for _ in range(100):
                if stop.is_set():
                    return
                try:
                    conn.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_an_answer_trickling_in_is_abandoned_at_the_deadline(trickling_server):
    client = TrickleClient(base_url=trickling_server, read_timeout=2.0)
    started = time.monotonic()

    with delivery_deadline(0.8), pytest.raises(errors.ProviderTimeout) as late:
        client.request("GET", "slow", operation="slow")

    took = time.monotonic() - started
    assert late.value.code == "DEADLINE" and late.value.outcome_unknown
    assert took < 2.0  # without the deadline: 10 s of bytes, each within the read timeout
    assert RemoteCall.objects.get().error_code == "DEADLINE"


def test_no_call_starts_once_the_deadline_has_passed():
    client = TrickleClient(base_url="http://127.0.0.1:9")

    with delivery_deadline(0), pytest.raises(errors.ProviderUnavailable) as late:
        time.sleep(0.01)
        client.request("GET", "x", operation="x")

    assert late.value.code == "DEADLINE" and not late.value.outcome_unknown
    assert not RemoteCall.objects.exists()  # never sent


def test_the_outbox_gives_each_delivery_half_the_lease_at_most(settings):
    from core.outbox import _deadline_seconds

    settings.OUTBOX = {**settings.OUTBOX, "LEASE_SECONDS": 600, "DELIVERY_DEADLINE_SECONDS": 900}
    assert _deadline_seconds() == 300
    settings.OUTBOX = {**settings.OUTBOX, "DELIVERY_DEADLINE_SECONDS": 120}
    assert _deadline_seconds() == 120
