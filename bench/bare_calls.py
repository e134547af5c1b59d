"""The bare addShop loop in a process of its own, started by `sync_overhead.ceiling_rate`:
`python -m bench.bare_calls COUNT CONCURRENCY PREFIX` sets Django up, prints "ready", waits for
a line on its input (so that its start-up is not timed), makes the calls and prints their rate.
The environment (settings, sandbox address) is the benchmark's, inherited."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    count, concurrency, prefix = int(argv[0]), int(argv[1]), argv[2]
    import django

    django.setup()
    from bench.sync_overhead import bare_rate

    print("ready", flush=True)
    sys.stdin.readline()
    print(bare_rate(count, concurrency, prefix=prefix), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
