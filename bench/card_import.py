"""card_import_rows_per_s: `manage.py pull amm` importing every card the sandbox holds into a
database without cards (AMM pages of 1,000 cards over HTTP, read ahead while the last is written)."""

from __future__ import annotations

import io
import time

from django.core.management import call_command

from bench import data
from loyalty.models import FidelityCard
from sandbox.amm import seed_programs
from sandbox.knobs import knob_reset
from sandbox.models import AmmProgram


def seed(*, cards: int) -> None:
    seed_programs()
    data.sandbox_amm_cards(program_id=AmmProgram.objects.order_by("pk").first().pk, count=cards)


def run(*, cards: int) -> dict[str, float]:
    knob_reset(provider="amm")
    assert not FidelityCard.objects.exists(), "the import must start from no cards"
    started = time.monotonic()
    call_command("pull", "amm", stdout=io.StringIO())
    elapsed = time.monotonic() - started
    imported = FidelityCard.objects.count()
    if imported != cards:
        raise RuntimeError(f"pull amm imported {imported} cards of {cards}")
    return {"card_import_rows_per_s": cards / elapsed, "_card_import_s": elapsed}
