"""Small helpers every benchmark shares: waiting for a condition, percentiles, thread fan-out."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.02) -> None:
    """Poll `condition` until it holds; a benchmark that hangs must still stop by itself."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up waiting after {timeout:.0f} s")
        time.sleep(interval)


# While a benchmark waits for deliveries, what beat's sweeper does in the product (every
# OUTBOX_SWEEP_SECONDS): an entry whose call failed in passing (a lost connection) is queued
# again as a retry, which only the sweeper publishes, and no beat runs beside the benchmark's
# workers (one full run waited its 600 s for such a Wolkvox chunk). The first sweep comes
# after any healthy wait (a pass's longest, Wolkvox's, takes 7–14 s), so it never falls on a
# figure unless something failed; then the figure is slower instead of a hang.
SWEEP_SECONDS = 15.0


def wait_for_deliveries(condition: Callable[[], bool], *, timeout: float, interval: float) -> None:
    """`wait_until`, sweeping the outbox as beat would every SWEEP_SECONDS."""
    from core.outbox import outbox_sweep  # after django.setup(), as every benchmark module

    last_sweep = [time.monotonic()]

    def delivered_or_swept() -> bool:
        if condition():
            return True
        if time.monotonic() - last_sweep[0] >= SWEEP_SECONDS:
            outbox_sweep()
            last_sweep[0] = time.monotonic()
        return False

    wait_until(delivered_or_swept, timeout=timeout, interval=interval)


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p95: share=0.95)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def fan_out(work: Callable[[Any], None], items: Sequence[Any], *, threads: int) -> None:
    """Run `work(item)` for every item on `threads` threads, closing their DB connections."""

    def run(share: Sequence[Any]) -> None:
        try:
            for item in share:
                work(item)
        finally:
            connections.close_all()

    shares = [items[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(run, share) for share in shares]:
            future.result()
