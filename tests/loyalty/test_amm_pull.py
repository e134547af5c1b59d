"""`manage.py pull amm`: programs, a multi-page card list, incremental with fromDate, movements
on request, drift reported and never overwritten."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import RemoteCall, SyncStatus
from loyalty.amm import AmmClient
from loyalty.models import FidelityCard, FidelityProgram, PointMovement
from loyalty.services import movement_add
from sandbox.amm import seed_programs
from sandbox.models import AmmCard, AmmProgram, AmmRecord
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db


def pull(*args) -> str:
    out = StringIO()
    call_command("pull", "amm", "--no-progress", *args, stdout=out)
    return out.getvalue()


def amm_cards(count: int, *, start: int = 0, days_ago: int = 30) -> AmmProgram:
    seed_programs()
    program = AmmProgram.objects.get(name="Carta Vetrina")
    issued = timezone.now() - timedelta(days=days_ago)
    AmmCard.objects.bulk_create(
        AmmCard(
            program=program,
            code=f"CARD_{n:06d}",
            msisdn=f"3934700{n:05d}",
            activation_date=issued,
            points=n % 50,
        )
        for n in range(start, start + count)
    )
    return program


def test_a_multi_page_card_list_is_imported_in_full(settings):
    amm_cards(2500)
    output = pull()

    program = FidelityProgram.objects.get(name="Carta Vetrina")
    assert program.point_value == 5 and program.cards_pulled_until is not None
    assert FidelityCard.objects.filter(program=program).count() == 2500
    pages = RemoteCall.objects.filter(operation="card.list", ok=True).count()
    assert pages >= 5  # 500 a page, plus the other program
    card = FidelityCard.objects.get(code="CARD_000049")
    assert (card.points, card.remote_points, card.starting_points, card.sync_status) == (
        49,
        49,
        49,
        SyncStatus.SYNCED,
    )
    assert "card: 2500 importati" in output


def test_a_dry_run_imports_nothing():
    amm_cards(30)
    output = pull("--dry-run")
    assert "prova" in output and "CARD_000001" in output
    assert not FidelityCard.objects.exists() and not FidelityProgram.objects.exists()


def test_the_next_pull_only_asks_for_cards_issued_since(monkeypatch):
    amm_cards(20, days_ago=10)
    pull()
    first_pull = FidelityProgram.objects.get(name="Carta Vetrina").cards_pulled_until
    amm_cards(5, start=100, days_ago=-1)  # issued after the first pull
    asked = []
    real_list_cards = AmmClient.list_cards

    def spy(self, program_id, **kwargs):
        page = real_list_cards(self, program_id, **kwargs)
        asked.append((kwargs.get("from_date"), len(page.items)))
        return page

    monkeypatch.setattr(AmmClient, "list_cards", spy)
    pull()

    assert FidelityCard.objects.count() == 25
    assert (first_pull, 5) in asked  # fromDate = the first pull's time: only the new cards


def test_a_balance_changed_at_amm_is_reported_and_kept_apart(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        card = make_card(code="CARD_LOCAL1")
        movement_add(card=card, points=10)
    AmmCard.objects.filter(code="CARD_LOCAL1").update(points=40)

    output = pull("--full")
    card.refresh_from_db()
    assert (card.points, card.remote_points) == (10, 40)
    assert "CARD_LOCAL1" in output and "saldo diverso" in output


def test_movements_made_elsewhere_are_imported_on_request(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        card = make_card(code="CARD_MOVES1")
        movement_add(card=card, points=10)
    remote_card = AmmCard.objects.get(code="CARD_MOVES1")
    AmmRecord.objects.create(
        card=remote_card, action="ADD", points=7, amount=35, date=timezone.now()
    )  # loaded at another till
    AmmCard.objects.filter(pk=remote_card.pk).update(points=17)

    pull("--full", "--movements")
    card.refresh_from_db()
    assert PointMovement.objects.filter(card=card).count() == 2
    assert card.points == card.remote_points == 17


def test_a_program_changed_at_amm_follows_amm():
    pulled_program()
    AmmProgram.objects.filter(name="Carta Vetrina").update(point_value=2)
    output = pull()
    assert FidelityProgram.objects.get(name="Carta Vetrina").point_value == 2
    assert "point_value" in output


def test_the_admin_pull_page_for_amm(admin_client, deliver):
    amm_cards(3)
    with deliver():
        response = admin_client.post("/admin/loyalty/fidelityprogram/pull/", {"mode": "compare"})
    assert "CARD_000001" in admin_client.get(response["Location"]).content.decode()
    assert not FidelityCard.objects.exists()
    with deliver():
        admin_client.post("/admin/loyalty/fidelityprogram/pull/", {"mode": "import"})
    assert FidelityCard.objects.count() == 3
    listing = admin_client.get("/admin/loyalty/fidelityprogram/").content.decode()
    assert "/admin/loyalty/fidelityprogram/pull/" in listing
