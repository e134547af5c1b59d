"""One object-level rule (core.access) for every channel: a store manager reaches their own
shop's records and nothing of another shop's, through the counter forms, the API and the admin."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.access import scope_queryset
from loyalty.models import PointMovement
from loyalty.services import movement_add
from store.models import FlyerRequest
from store.services import flyer_request_create
from tests.campaigns.factories import make_campaign, make_shop
from tests.campaigns.images import image_upload
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db
PASSWORD = "Banco-Milano-2026!"
MODELS = ("shop", "customer", "card", "movement", "campaign", "flyer_request")


@pytest.fixture
def world(deliver):
    """Two shops with one of everything each; mario manages the first."""
    pulled_program()
    records = {}
    with deliver():
        for side, code in (("mine", "PV-MINE"), ("other", "PV-OTHER")):
            shop = make_shop(code=code)
            card = make_card(shop=shop)
            records[side] = {
                "shop": shop,
                "card": card,
                "customer": card.customer,
                "movement": movement_add(card=card, points=10, note="", shop=shop, user=None),
                "campaign": make_campaign(shop, promo_name=f"Promo {code}"),
            }
    call_command("createstoremanager", "mario", "--shop", "PV-MINE", stdout=StringIO())
    mario = get_user_model().objects.get(username="mario")
    for side in ("mine", "other"):
        shop = records[side]["shop"]
        records[side]["flyer_request"] = FlyerRequest.objects.create(
            shop=shop,
            promo_name=f"Volantino {shop.code}",
            date_send=timezone.now() + timedelta(days=3),
            image=image_upload(),
            flyer_link="https://example.com/v.pdf",
            requested_by=mario,
        )
    return records


@pytest.fixture
def mario(world):
    return get_user_model().objects.get(username="mario")


@pytest.fixture
def counter(mario, store_manager_client):
    return store_manager_client("mario", "PV-MINE")


@pytest.fixture
def mario_api(mario):
    """mario's token: his role lets him read his own shops' records through the API."""
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=mario).key}"
    return client


API_DETAIL = {
    "shop": lambda r: f"/api/v1/shops/{r['shop'].pk}/",
    "customer": lambda r: f"/api/v1/customers/{r['customer'].pk}/",
    "card": lambda r: f"/api/v1/fidelity-cards/{r['card'].pk}/",
    "movement": lambda r: f"/api/v1/fidelity-cards/{r['card'].pk}/movements/{r['movement'].pk}/",
    "campaign": lambda r: f"/api/v1/campaigns/{r['campaign'].pk}/",
    "flyer_request": lambda r: f"/api/v1/flyer-requests/{r['flyer_request'].pk}/",
}
API_LIST = {
    "shop": lambda r: "/api/v1/shops/",
    "customer": lambda r: "/api/v1/customers/",
    "card": lambda r: "/api/v1/fidelity-cards/",
    "movement": lambda r: f"/api/v1/fidelity-cards/{r['card'].pk}/movements/",
    "campaign": lambda r: "/api/v1/campaigns/",
    "flyer_request": lambda r: "/api/v1/flyer-requests/",
}
ADMIN = {
    "shop": "campaigns/shop",
    "customer": "loyalty/customer",
    "card": "loyalty/fidelitycard",
    "movement": "loyalty/pointmovement",
    "campaign": "campaigns/campaign",
    "flyer_request": "store/flyerrequest",
}


@pytest.mark.parametrize("model", MODELS)
def test_through_the_api_a_store_manager_reads_their_own_shop_only(model, world, mario_api):
    mine, other = world["mine"], world["other"]
    assert mario_api.get(API_DETAIL[model](mine)).status_code == 200
    assert mario_api.get(API_DETAIL[model](other)).status_code == 404
    listed = mario_api.get(API_LIST[model](mine)).json()["results"]
    assert [row["id"] for row in listed] == [mine[model].pk]
    if model == "movement":  # another shop's card is not there at all, nor its movements
        assert mario_api.get(API_LIST[model](other)).status_code in (200, 404)
        assert mario_api.get(API_LIST[model](other)).json().get("results", []) == []


@pytest.mark.parametrize("model", MODELS)
def test_through_the_api_a_store_manager_changes_nothing(model, world, mario_api):
    """Their role reads; writes are the counter's (403 before any object is looked at)."""
    response = mario_api.post(API_LIST[model](world["mine"]), {}, content_type="application/json")
    assert response.status_code in (403, 405)


@pytest.mark.parametrize("model", MODELS)
def test_through_the_admin_a_store_manager_is_turned_away_even_as_staff(model, world, mario):
    mario.is_staff = True  # somebody ticked the box by mistake
    mario.save()
    mario.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client = Client()
    client.force_login(mario)
    for side in ("mine", "other"):
        url = f"/admin/{ADMIN[model]}/{world[side][model].pk}/change/"
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _counter_shows(counter, model, records) -> bool:
    """Whether the counter lets mario reach this record, in the way the counter offers it."""
    obj = records[model]
    obj.refresh_from_db()  # the card code AMM generated
    if model == "shop":
        counter.post("/store/", {"shop": obj.pk})
        return f"{obj.code}" in counter.get("/store/flyers/").content.decode().split("<main>")[1]
    if model in ("card", "customer"):
        query = obj.code if model == "card" else str(obj.msisdn)
        response = counter.get("/store/", {"q": query})
        return response.status_code == 302  # one card found: straight to it
    if model == "movement":
        before = PointMovement.objects.filter(card=records["card"]).count()
        response = counter.post(f"/store/cards/{records['card'].pk}/load/", {"amount": "50"})
        return response.status_code == 302 and (
            PointMovement.objects.filter(card=records["card"]).count() == before + 1
        )
    if model == "campaign":
        obj_request = records["flyer_request"]
        obj_request.campaign = obj
        obj_request.save()
        return obj.promo_name in counter.get("/store/flyers/").content.decode()
    if model == "flyer_request":
        return obj.promo_name in counter.get("/store/flyers/").content.decode()
    raise AssertionError(model)


@pytest.mark.parametrize("model", MODELS)
def test_through_the_counter_a_store_manager_reaches_their_own_shop_only(
    model, world, counter, deliver
):
    with deliver():
        assert _counter_shows(counter, model, world["mine"])
        counter.post("/store/", {"shop": world["mine"]["shop"].pk})
        assert not _counter_shows(counter, model, world["other"])


@pytest.mark.parametrize("model", MODELS)
def test_the_rule_itself_lets_marketing_see_every_shop(model, world):
    from django.contrib.auth.models import Group

    anna = get_user_model().objects.create_user("anna", password=PASSWORD, is_staff=True)
    anna.groups.add(Group.objects.get(name="Marketing"))
    manager_model = type(world["mine"][model])
    everything = manager_model.objects.filter(
        pk__in=[world[s][model].pk for s in ("mine", "other")]
    )
    assert scope_queryset(anna, everything).count() == 2
    mario = get_user_model().objects.get(username="mario")
    assert list(scope_queryset(mario, everything)) == [world["mine"][model]]


def test_a_store_manager_cannot_ask_for_a_flyer_for_another_shop(world, mario):
    with pytest.raises(ValidationError, match="tuoi negozi"):
        flyer_request_create(
            user=mario,
            shop=world["other"]["shop"],
            promo_name="Furbo",
            date_send=timezone.now() + timedelta(days=2),
            image=image_upload(),
            flyer_link="https://example.com/v.pdf",
        )
    assert FlyerRequest.objects.count() == 2
