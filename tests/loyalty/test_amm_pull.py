"""`manage.py pull amm`: programs, a multi-page card list, incremental (only what changed is
written), movements on request, drift reported and never overwritten."""

import threading
from contextvars import ContextVar
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone, translation

from core.errors import ProviderUnavailable
from core.models import RemoteCall, SyncStatus
from core.pull import pull_run
from loyalty.amm import PAGE_SIZE, AmmClient
from loyalty.models import FidelityCard, FidelityProgram, PointMovement
from loyalty.pull import read_ahead
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
    assert pages == -(-2500 // PAGE_SIZE) + 1  # PAGE_SIZE a page, plus the other program
    card = FidelityCard.objects.get(code="CARD_000049")
    assert (card.points, card.remote_points, card.starting_points, card.sync_status) == (
        49,
        49,
        49,
        SyncStatus.SYNCED,
    )
    assert "Carte fedeltà importate: 2500" in output


def test_a_dry_run_imports_nothing():
    amm_cards(30)
    output = pull("--dry-run")
    assert "prova" in output and "CARD_000001" in output
    assert not FidelityCard.objects.exists() and not FidelityProgram.objects.exists()


def test_the_next_pull_reads_every_balance_and_writes_only_what_changed(monkeypatch):
    """AMM lists records by date only card by card, so an incremental pull reads the card list
    whole (a balance each, a thousand cards a call) and writes only the new and changed cards."""
    amm_cards(20, days_ago=10)
    pull()
    first_pull = FidelityProgram.objects.get(name="Carta Vetrina").cards_pulled_until
    amm_cards(5, start=100, days_ago=-1)  # issued after the first pull
    AmmCard.objects.filter(code="CARD_000003").update(points=33)
    written = []
    real_bulk_update = FidelityCard.objects.bulk_update

    def spy(cards, fields, **kwargs):
        written.extend(card.code for card in cards)
        return real_bulk_update(cards, fields, **kwargs)

    monkeypatch.setattr(FidelityCard.objects, "bulk_update", spy)
    output = pull()

    assert FidelityCard.objects.count() == 25
    assert written == ["CARD_000003"]
    assert FidelityCard.objects.get(code="CARD_000003").remote_points == 33
    assert "CARD_000003" in output and "saldo diverso" in output
    program = FidelityProgram.objects.get(name="Carta Vetrina")
    assert program.cards_pulled_until > first_pull


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


def test_an_imported_card_has_every_field_a_card_made_by_the_orm_would_have():
    program = amm_cards(1)
    remote = AmmCard.objects.get(program=program)
    pull()
    card = FidelityCard.objects.get()
    assert card.program.remote_id == str(program.pk)
    assert (card.code, card.remote_id, card.active) == ("CARD_000000", str(remote.pk), True)
    assert card.activation_date == remote.activation_date.replace(microsecond=0)
    assert (card.points, card.starting_points, card.remote_points) == (0, 0, 0)
    assert card.remote_data == {
        "fidelityId": program.pk,
        "fidelityCardId": remote.pk,
        "fidelityCode": "CARD_000000",
        "activationDate": card.remote_data["activationDate"],
        "active": True,
        "points": 0,
    }
    assert (card.sync_status, card.sync_error, card.sync_attempts) == (SyncStatus.SYNCED, "", 0)
    assert card.synced_at == card.last_sync_attempt_at == card.created_at
    assert card.created_at is not None and timezone.now() - card.created_at < timedelta(minutes=1)
    assert card.customer is None and card.shop is None and card.created_by is None
    assert (card.send_sms, card.starting_amount) == (False, None)


def test_a_card_known_here_is_updated_not_inserted_again():
    amm_cards(3)
    pull()
    AmmCard.objects.filter(code="CARD_000001").update(active=False, points=9)
    pull("--full")
    card = FidelityCard.objects.get(code="CARD_000001")
    assert FidelityCard.objects.count() == 3
    assert (card.active, card.remote_points, card.points) == (False, 9, 1)


@pytest.mark.django_db(transaction=True)
class TestReadAhead:
    """Outside a transaction the next page is read in a second thread while one is written."""

    def test_a_multi_page_import_with_the_next_page_read_ahead(self, monkeypatch):
        monkeypatch.setattr("loyalty.pull.PAGE_SIZE", 7)
        threads = set()
        real_list_cards = AmmClient.list_cards

        def spy(self, program_id, **kwargs):
            threads.add(threading.current_thread().name)
            return real_list_cards(self, program_id, **kwargs)

        monkeypatch.setattr(AmmClient, "list_cards", spy)
        amm_cards(30)
        output = pull()
        assert FidelityCard.objects.count() == 30
        assert RemoteCall.objects.filter(operation="card.list").count() == 5 + 1
        assert "Carte fedeltà importate: 30" in output
        # The first page is read by the thread that prepares the pages, the next ones ahead.
        assert {name.split("_")[0] for name in threads} == {"read-ahead", "amm-read"}
        program = FidelityProgram.objects.get(name="Carta Vetrina")
        assert program.cards_pulled_until is not None

    def test_an_error_on_a_page_leaves_the_pages_before_it_stored(self, monkeypatch):
        monkeypatch.setattr("loyalty.pull.PAGE_SIZE", 10)
        real_list_cards = AmmClient.list_cards

        def third_page_fails(self, program_id, *, offset, **kwargs):
            if offset >= 20:
                raise ProviderUnavailable(provider="amm", code="HTTP_503")
            return real_list_cards(self, program_id, offset=offset, **kwargs)

        monkeypatch.setattr(AmmClient, "list_cards", third_page_fails)
        amm_cards(35)
        with pytest.raises(CommandError, match="Impossibile leggere amm"):
            pull()
        assert FidelityCard.objects.count() == 20
        # Not marked as pulled: the next pull asks for the same cards again.
        assert FidelityProgram.objects.get(name="Carta Vetrina").cards_pulled_until is None

    def test_a_dry_run_writes_nothing(self, monkeypatch):
        monkeypatch.setattr("loyalty.pull.PAGE_SIZE", 10)
        amm_cards(25)
        output = pull("--dry-run")
        assert "CARD_000001" in output
        assert not FidelityCard.objects.exists() and not FidelityProgram.objects.exists()

    def test_progress_is_reported_page_by_page(self, monkeypatch):
        monkeypatch.setattr("loyalty.pull.PAGE_SIZE", 10)
        amm_cards(25)
        seen = []
        pull_run(provider="amm", dry_run=False, progress=lambda *args: seen.append(args))
        assert seen[:3] == [
            ("Carta Vetrina", 10, 25),
            ("Carta Vetrina", 20, 25),
            ("Carta Vetrina", 25, 25),
        ]


def test_read_ahead_gives_the_items_in_order_and_raises_where_they_are_asked_for():
    handled = []
    # The test's transaction is open: the items are taken in this thread, one by one.
    with pytest.raises(ValueError, match="third"), read_ahead(_failing_third()) as ahead:
        for item in ahead:
            handled.append((item, threading.current_thread().name))
    assert handled == [("a", "MainThread"), ("b", "MainThread")]


@pytest.mark.django_db(transaction=True)
def test_read_ahead_takes_the_items_in_its_own_thread_and_closes_its_connection():
    taken = []

    def items():
        for n in range(3):
            wrapper = connections["default"]  # the taking thread's own
            wrapper.ensure_connection()
            taken.append((threading.current_thread().name, wrapper, translation.get_language()))
            assert _MARK.get() == "the caller's"  # its context variables (the call log's) too
            yield n

    handled = []
    _MARK.set("the caller's")
    with translation.override("en"), read_ahead(items()) as ahead:
        for item in ahead:
            handled.append(item)
    with pytest.raises(ValueError, match="third"), read_ahead(_failing_third()) as ahead:
        for item in ahead:
            handled.append(item)
    assert handled == [0, 1, 2, "a", "b"]
    assert [language for _name, _wrapper, language in taken] == ["en"] * 3  # the caller's
    assert all(name.startswith("read-ahead") for name, _wrapper, _language in taken)
    assert all(wrapper.connection is None for _name, wrapper, _language in taken)  # closed


_MARK: ContextVar[str] = ContextVar("mark", default="")


def _failing_third():
    yield "a"
    yield "b"
    raise ValueError("third")
