"""The card and movement lists at size (issue 11): the admin change lists and /api/v1/fidelity-cards/
search through indexes (a code, a mobile number, the start of a surname), their filters read an
index in the lists' order, and the number of queries a page runs does not grow with the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.models import FidelityCard, MovementAction, PointMovement
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db

CARDS = "/admin/loyalty/fidelitycard/"
MOVEMENTS = "/admin/loyalty/pointmovement/"


def bulk_cards(count: int, *, start: int = 0) -> list[FidelityCard]:
    program = pulled_program()
    FidelityCard.objects.bulk_create(
        FidelityCard(program=program, code=f"BC{start + i:08d}", active=i % 10 != 0)
        for i in range(count)
    )
    return list(FidelityCard.objects.filter(code__startswith="BC").order_by("id"))


def bulk_movements(cards: list[FidelityCard], per_card: int) -> None:
    now = timezone.now()
    PointMovement.objects.bulk_create(
        PointMovement(
            card=card,
            action=MovementAction.REWARD if i % 4 == 0 else MovementAction.ADD,
            points=5,
            date=now,
        )
        for card in cards
        for i in range(per_card)
    )


def listed_codes(page: str) -> set[str]:
    return {card.code for card in FidelityCard.objects.all() if f">{card.code}<" in page}


def test_the_card_list_finds_a_card_by_its_whole_code_in_any_case(admin_client):
    bulk_cards(30)
    page = admin_client.get(CARDS, {"q": "bc00000012"}).content.decode()
    assert listed_codes(page) == {"BC00000012"}
    # The help under the search box says what is searched (Italian by default).
    assert "Un codice carta (intero)" in page
    # A piece of a code is not a code: no scan of every card for it.
    assert listed_codes(admin_client.get(CARDS, {"q": "0000001"}).content.decode()) == set()


def test_the_card_list_finds_cards_by_mobile_number_surname_or_several_codes(admin_client):
    bulk_cards(5)
    mine = make_card(msisdn="+39 347 555 0101", code="CARDMINE01")
    page = admin_client.get(CARDS, {"q": "347 555 0101"}).content.decode()
    assert listed_codes(page) == {"CARDMINE01"}
    page = admin_client.get(CARDS, {"q": "bianc"}).content.decode()  # make_card's surname
    assert listed_codes(page) == {mine.code}
    page = admin_client.get(CARDS, {"q": "BC00000001, BC00000003"}).content.decode()
    assert listed_codes(page) == {"BC00000001", "BC00000003"}


def test_the_card_field_autocomplete_still_finds_a_piece_of_a_code(admin_client):
    bulk_cards(3)
    response = admin_client.get(
        "/admin/autocomplete/",
        {
            "term": "0000001",
            "app_label": "loyalty",
            "model_name": "pointmovement",
            "field_name": "card",
        },
    )
    assert [row["text"] for row in response.json()["results"]] == ["BC00000001"]


def test_the_movement_list_finds_the_movements_of_a_card(admin_client):
    cards = bulk_cards(4)
    bulk_movements(cards, per_card=3)
    response = admin_client.get(MOVEMENTS, {"q": "BC00000002"})
    shown = response.context["cl"].result_list
    assert {m.card.code for m in shown} == {"BC00000002"}
    assert response.context["cl"].result_count == 3
    assert "I movimenti delle carte trovate" in response.content.decode()


def test_the_filtered_lists_still_count_and_filter(admin_client):
    cards = bulk_cards(20)
    bulk_movements(cards, per_card=4)
    active = admin_client.get(CARDS, {"active__exact": "1"}).context["cl"]
    assert active.result_count == 18
    rewards = admin_client.get(MOVEMENTS, {"action__exact": "REWARD"}).context["cl"]
    assert rewards.result_count == 20
    assert {m.action for m in rewards.result_list} == {MovementAction.REWARD}


def test_each_row_keeps_its_selection_checkbox(admin_client):
    [card] = bulk_cards(1)
    page = admin_client.get(CARDS).content.decode()
    assert (
        f'<input type="checkbox" name="_selected_action" value="{card.pk}" '
        'class="action-select" aria-label="Seleziona questo oggetto per intraprendere '
        f"un'azione - {card.code}\">"
    ) in page
    assert 'id="action-toggle"' in page


PAGES = (
    CARDS,
    f"{CARDS}?active__exact=1",
    f"{CARDS}?q=BC00000042",
    MOVEMENTS,
    f"{MOVEMENTS}?action__exact=REWARD",
    f"{MOVEMENTS}?q=BC00000042",
    "/api/v1/fidelity-cards/",
    "/api/v1/fidelity-cards/?active=true",
    "/api/v1/fidelity-cards/?search=BC00000042",
)


def _queries(client) -> dict[str, int]:
    counts = {}
    for url in PAGES:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured)
    return counts


def test_the_number_of_queries_of_a_page_does_not_grow_with_the_rows(admin_client):
    cards = bulk_cards(60)
    bulk_movements(cards, per_card=2)
    few = _queries(admin_client)
    more = bulk_cards(240, start=60)
    bulk_movements(more[60:], per_card=5)
    assert _queries(admin_client) == few
    assert max(few.values()) <= 12


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(row[-1] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_the_filters_and_searches_read_an_index_in_the_lists_order():
    rewards = PointMovement.objects.filter(action=MovementAction.REWARD)[:100]
    plan = _plan(*rewards.query.sql_with_params())
    assert "movement_action_date_idx" in plan and "TEMP B-TREE" not in plan

    found = PointMovement.objects.filter(
        card__in=FidelityCard.objects.matching("BC1 +393475550101")
    )
    plan = _plan(*found.query.sql_with_params())
    assert "card_code_idx" in plan and "SCAN loyalty_pointmovement" not in plan, plan

    plan = _plan(*FidelityCard.objects.filter(active=True).values("id").query.sql_with_params())
    assert "card_active_idx" in plan, plan


def test_the_api_searches_cards_by_code_or_number_and_counts_them(api):
    bulk_cards(12)
    card = make_card(msisdn="+39 347 555 0202", code="CARDAPI001")
    body = api.get("/api/v1/fidelity-cards/", {"search": "bc00000007"}).json()
    assert body["count"] == 1 and [c["code"] for c in body["results"]] == ["BC00000007"]
    body = api.get("/api/v1/fidelity-cards/", {"search": "3475550202"}).json()
    assert [c["id"] for c in body["results"]] == [card.pk]
    assert api.get("/api/v1/fidelity-cards/", {"search": "0000000"}).json()["count"] == 0
    body = api.get("/api/v1/fidelity-cards/", {"active": "true", "page_size": 5}).json()
    active = FidelityCard.objects.filter(active=True).count()
    assert body["count"] == active == 10 + 1 and len(body["results"]) == 5 and body["next"]
