"""The data the page benchmarks look at: a small scene (the "1,000 rows" size, wiped before
the import) and the large one (every imported card, a million movements, the push history)."""

from __future__ import annotations

from django.db import connection

from bench import data
from bench.sizes import Sizes
from loyalty.models import Customer, FidelityCard, FidelityProgram


def _scene(*, program: FidelityProgram, cards: int, movements: int, sends: int) -> None:
    first = Customer.objects.count()
    data.customers(count=cards // 2, first=first)
    customer_ids = list(Customer.objects.order_by("-id").values_list("id", flat=True)[: cards // 2])
    existing = FidelityCard.objects.count()
    if existing < cards:
        data.cards(program_id=program.pk, count=cards - existing, customer_ids=customer_ids)
    card_ids = list(FidelityCard.objects.values_list("id", flat=True))
    data.movements(card_ids=card_ids, count=movements)
    data.push_sends(count=sends)


def small(sizes: Sizes) -> None:
    program, _ = FidelityProgram.objects.get_or_create(
        remote_id="bench-local", defaults={"name": "Bench", "point_value": 5}
    )
    _scene(
        program=program,
        cards=sizes.small_cards,
        movements=sizes.small_movements,
        sends=sizes.small_cards,
    )


def large(sizes: Sizes) -> None:
    _scene(program=amm_program(), cards=sizes.cards, movements=sizes.movements, sends=sizes.cards)


def amm_program() -> FidelityProgram:
    return FidelityProgram.objects.exclude(remote_id="bench-local").order_by("remote_id").first()


def wipe_loyalty() -> None:
    """Back to no cards, so that the import starts from an empty database."""
    with connection.cursor() as cursor:
        for table in (
            "loyalty_pointmovement",
            "loyalty_fidelitycard",
            "loyalty_customer",
            "messaging_pushsend",
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (our own table names)
