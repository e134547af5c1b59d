"""How big each benchmark is: the goals' sizes, and 1/100 of them for --quick (CI; the latency's
100 changes, fewer would leave its p95 to chance)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    shops: int  # sync overhead
    changes: int  # sync latency (made at 20 a second)
    leads: int  # Wolkvox upload
    cards: int  # AMM import, admin and API
    movements: int  # admin and API
    audience: int  # push send
    small_cards: int  # the "1,000 rows" size at which query counts must be the same
    small_movements: int


FULL = Sizes(
    name="full",
    shops=2_000,
    changes=500,
    leads=250_000,
    cards=100_000,
    movements=1_000_000,
    audience=50_000,
    small_cards=1_000,
    small_movements=1_000,
)
QUICK = Sizes(
    name="quick",
    shops=200,
    changes=100,
    leads=25_000,
    cards=1_000,
    movements=10_000,
    audience=2_000,
    small_cards=100,
    small_movements=1_000,
)
