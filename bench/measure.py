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
