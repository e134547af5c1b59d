"""The /store/ counter forms, through real requests, as a store manager would use them."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from loyalty.models import FidelityCard, PointMovement, Reward
from sandbox.models import AmmReward
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db
PASSWORD = "Banco-Milano-2026!"


@pytest.fixture
def shops(deliver):
    with deliver():
        mine, other = make_shop(code="PV-MINE"), make_shop(code="PV-OTHER")
    pulled_program()
    return mine, other


@pytest.fixture
def manager(shops, store_manager_client) -> Client:
    return store_manager_client("mario", "PV-MINE")


def test_the_counter_asks_for_a_login(client):
    response = client.get("/store/")
    assert response.status_code == 302 and response["Location"].startswith("/store/login/")


def test_a_store_manager_enrols_a_customer_at_their_shop(manager, shops, deliver):
    with deliver():
        response = manager.post(
            "/store/enrol/",
            {
                "program": pulled_program().pk,
                "msisdn": "347 555 1234",
                "name": "Anna",
                "surname": "Verdi",
                "starting_amount": "27.50",
            },
        )
    card = FidelityCard.objects.get()
    assert response["Location"] == f"/store/cards/{card.pk}/"
    assert (card.shop, str(card.customer.msisdn), card.points) == (shops[0], "+393475551234", 5)
    page = manager.get(response["Location"]).content.decode()
    assert "5 punti" in page and "sincronizzato" in page


def test_a_bad_phone_number_is_explained_and_nothing_is_created(manager):
    response = manager.post(
        "/store/enrol/", {"program": pulled_program().pk, "msisdn": "12ab", "name": "X"}
    )
    assert response.status_code == 200
    assert "non è un numero di telefono valido" in response.content.decode()
    assert not FidelityCard.objects.exists()


def test_points_are_loaded_from_a_receipt_amount(manager, shops, deliver):
    with deliver():
        card = make_card(shop=shops[0])
    with deliver():
        response = manager.post(f"/store/cards/{card.pk}/load/", {"amount": "32.00"}, follow=True)
    assert "6 punti caricati." in response.content.decode()
    movement = PointMovement.objects.get()
    assert (movement.points, movement.amount, movement.shop, movement.created_by.username) == (
        6,
        Decimal("32.00"),
        shops[0],
        "mario",
    )


def test_a_reward_and_a_confirmed_reset(manager, shops, deliver):
    with deliver():
        card = make_card(shop=shops[0], starting_points=20)
    # The catalogue marketing keeps: the reward AMM's console calls "Borsa spesa".
    amm_reward = AmmReward.objects.get(name="Borsa spesa")
    reward = Reward.objects.create(
        program=card.program, name="Borsa spesa", points=10, remote_id=amm_reward.pk
    )
    with deliver():
        manager.post(f"/store/cards/{card.pk}/reward/", {"reward": reward.pk})
    card.refresh_from_db()
    assert card.points == 10

    unconfirmed = manager.post(f"/store/cards/{card.pk}/reset/", {})
    assert unconfirmed.status_code == 400
    assert "Spunta la casella" in unconfirmed.content.decode()
    with deliver():
        manager.post(f"/store/cards/{card.pk}/reset/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.points == 0 == card.remote_points


def test_lookup_by_code_or_phone_finds_only_my_shops_cards(manager, shops, deliver):
    with deliver():
        mine = make_card(shop=shops[0], code="CARD_MINE01", msisdn="+393471111111")
        make_card(shop=shops[1], code="CARD_THEIRS", msisdn="+393472222222")
    assert manager.get("/store/?q=card_mine01")["Location"] == f"/store/cards/{mine.pk}/"
    assert manager.get("/store/?q=347 111 1111")["Location"] == f"/store/cards/{mine.pk}/"
    assert "Nessuna carta" in manager.get("/store/?q=CARD_THEIRS").content.decode()


def test_another_shops_card_is_out_of_reach(manager, shops, deliver):
    with deliver():
        theirs = make_card(shop=shops[1])
    assert manager.get(f"/store/cards/{theirs.pk}/").status_code == 404
    assert manager.post(f"/store/cards/{theirs.pk}/load/", {"amount": "50"}).status_code == 404
    assert not PointMovement.objects.exists()


def test_a_store_manager_cannot_reach_the_admin(manager):
    response = manager.get("/admin/loyalty/fidelitycard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_user_who_manages_no_shop_is_turned_away(client, shops):
    get_user_model().objects.create_user("nobody", password=PASSWORD)
    client.force_login(get_user_model().objects.get(username="nobody"))
    assert client.get("/store/").status_code == 403


def test_the_counter_works_on_a_phone_sized_page(manager):
    page = manager.get("/store/").content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page


def test_createstoremanager_generates_a_password_once_and_refuses_unknown_shops(shops):
    out = StringIO()
    call_command(
        "createstoremanager", "lucia", "--shop", "PV-MINE", "--shop", "PV-OTHER", stdout=out
    )
    password = out.getvalue().split("Password (mostrata solo ora): ")[1].strip()
    login = Client().post("/store/login/", {"username": "lucia", "password": password})
    assert login.status_code == 302
    user = get_user_model().objects.get(username="lucia")
    assert not user.is_staff and user.groups.filter(name="Store managers").exists()
    assert sorted(s.code for s in user.store_manager.shops.all()) == ["PV-MINE", "PV-OTHER"]

    with pytest.raises(CommandError, match="Codici negozio sconosciuti"):
        call_command("createstoremanager", "x", "--shop", "PV-NONE", stdout=StringIO())


def test_consent_ticked_at_the_counter_is_recorded_with_its_source(manager, deliver):
    with deliver():
        manager.post(
            "/store/enrol/",
            {
                "program": pulled_program().pk,
                "msisdn": "347 555 9876",
                "consent_push_sms": "on",
                "consent_calls": "on",
            },
        )
    from loyalty.models import ConsentEvent, Customer

    customer = Customer.objects.get(msisdn="+393475559876")
    assert (customer.consent_push_sms, customer.consent_whatsapp, customer.consent_calls) == (
        "given",
        "unknown",
        "given",
    )
    assert set(ConsentEvent.objects.values_list("source", flat=True)) == {"store"}
    assert ConsentEvent.objects.first().by.username == "mario"


def test_logging_in_at_the_counter_without_next_lands_on_the_counter(client, db):
    from io import StringIO

    from django.core.management import call_command

    from tests.campaigns.factories import make_shop

    make_shop(code="PV-LOGIN")
    call_command(
        "createstoremanager",
        "anna",
        "--shop",
        "PV-LOGIN",
        "--password",
        "Banco-Login-2026!",
        stdout=StringIO(),
    )

    answer = client.post("/store/login/", {"username": "anna", "password": "Banco-Login-2026!"})

    assert answer.status_code == 302 and answer["Location"] == "/store/"
