"""An incremental `pull amm` is complete (issue 21, item 5): without `--full` it refreshes the
balance of every card that had a record at AMM since the last pull, and stores the time it
pulled up to. AMM lists records by date only card by card ("fromDate | Data dell'operazione
sulla Fidelity Card"), so the balances come from the card list (a thousand cards a call)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import RemoteCall
from loyalty.models import FidelityCard, FidelityProgram, PointMovement
from loyalty.services import movement_add
from sandbox.amm import seed_programs
from sandbox.models import AmmCard, AmmProgram, AmmRecord
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db


def pull(*args) -> str:
    out = StringIO()
    call_command("pull", "amm", "--no-progress", *args, stdout=out)
    return out.getvalue()


def amm_cards(count: int) -> None:
    seed_programs()
    program = AmmProgram.objects.get(name="Carta Vetrina")
    issued = timezone.now() - timedelta(days=30)
    AmmCard.objects.bulk_create(
        AmmCard(
            program=program,
            code=f"CARD_{n:06d}",
            msisdn=f"3934700{n:05d}",
            activation_date=issued,
            points=10,
        )
        for n in range(count)
    )


def loaded_at_a_till(code: str, points: int) -> None:
    remote = AmmCard.objects.get(code=code)
    AmmRecord.objects.create(
        card=remote, action="ADD", points=points, amount=5 * points, date=timezone.now()
    )
    AmmCard.objects.filter(pk=remote.pk).update(points=remote.points + points)


def test_an_incremental_pull_refreshes_the_balance_of_a_card_pulled_before():
    amm_cards(3)
    pull()
    program = FidelityProgram.objects.get(name="Carta Vetrina")
    first_pull = program.cards_pulled_until
    loaded_at_a_till("CARD_000001", 4)

    pull()  # not --full

    card = FidelityCard.objects.get(code="CARD_000001")
    assert card.remote_points == 14
    program.refresh_from_db()
    assert program.cards_pulled_until > first_pull  # the time it pulled up to
    assert FidelityCard.objects.get(code="CARD_000002").remote_points == 10


def test_a_card_made_here_gets_amms_new_balance_beside_ours_and_is_flagged(deliver):
    with deliver():
        card = make_card(code="CARD_LOCAL9")
        movement_add(card=card, points=10)
    pull()
    # Issued well before the last pull (not in the same second as it).
    AmmCard.objects.filter(code="CARD_LOCAL9").update(
        activation_date=timezone.now() - timedelta(days=1)
    )
    loaded_at_a_till("CARD_LOCAL9", 3)

    output = pull()

    card.refresh_from_db()
    assert (card.points, card.remote_points, card.balance_differs) == (10, 13, True)
    assert "CARD_LOCAL9" in output


def test_with_movements_only_the_cards_that_moved_are_asked_for_their_records():
    amm_cards(5)
    pull("--movements")
    loaded_at_a_till("CARD_000003", 2)
    RemoteCall.objects.all().delete()

    pull("--movements")

    asked = list(RemoteCall.objects.filter(operation="record.list").values_list("path", flat=True))
    assert len(asked) == 1 and "CARD_000003" in asked[0]
    card = FidelityCard.objects.get(code="CARD_000003")
    assert PointMovement.objects.filter(card=card).count() == 1
    assert card.points == card.remote_points == 12
