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

from core.access import scope_queryset
from loyalty.models import PointMovement
from loyalty.services import movement_add
from store.models import FlyerRequest
from store.services import flyer_request_create
from tests.campaigns.factories import make_campaign, make_shop
from tests.campaigns.images import image_upload
from tests.loyalty.factories import make_card, pulled_program
from tests.tokens import token_for

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
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(mario)}"
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


# --- deny by default: a store manager whose access was taken away reaches nothing -----------
def _revoke_profile(mario, world):
    from store.models import StoreManager

    StoreManager.objects.filter(user=mario).delete()  # what marketing does to revoke access


def _revoke_shops(mario, world):
    mario.store_manager.shops.clear()


def _deactivate_shop(mario, world):
    type(world["mine"]["shop"]).objects.filter(pk=world["mine"]["shop"].pk).update(active=False)


def _leave_every_group(mario, world):
    from store.models import StoreManager

    mario.groups.clear()
    StoreManager.objects.filter(user=mario).delete()


REVOCATIONS = {
    "profile deleted": _revoke_profile,
    "profile with no shop": _revoke_shops,
    "shop deactivated": _deactivate_shop,
    "no group and no profile": _leave_every_group,
}


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revoked_store_manager_reads_nothing_through_the_api(revoke, world, mario, mario_api):
    mario.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    revoke(get_user_model().objects.get(pk=mario.pk), world)
    for model in MODELS:
        for side in ("mine", "other"):
            detail = mario_api.get(API_DETAIL[model](world[side]))
            assert detail.status_code == 403, (model, side, detail.status_code)
            listed = mario_api.get(API_LIST[model](world[side]))
            assert listed.status_code == 403, (model, side, listed.status_code)
    export = mario_api.get(f"/api/v1/customers/{world['other']['customer'].pk}/export/")
    assert export.status_code == 403


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revoked_store_manager_is_refused_at_the_counter(revoke, world, mario, counter):
    revoke(get_user_model().objects.get(pk=mario.pk), world)
    for url in ("/store/", "/store/flyers/", f"/store/cards/{world['mine']['card'].pk}/"):
        assert counter.get(url).status_code == 403, url
    before = PointMovement.objects.count()
    response = counter.post(f"/store/cards/{world['mine']['card'].pk}/load/", {"amount": "50"})
    assert response.status_code == 403 and PointMovement.objects.count() == before


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revoked_store_manager_is_turned_away_from_the_admin_even_as_staff(revoke, world, mario):
    mario.is_staff = True
    mario.save()
    mario.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    revoke(get_user_model().objects.get(pk=mario.pk), world)
    client = Client()
    client.force_login(mario)
    for model in MODELS:
        response = client.get(f"/admin/{ADMIN[model]}/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    autocomplete = client.get(
        "/admin/autocomplete/",
        {"app_label": "loyalty", "model_name": "fidelitycard", "field_name": "customer"},
    )
    assert autocomplete.status_code == 302


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_the_rule_itself_gives_a_revoked_store_manager_nothing(revoke, world, mario):
    revoke(get_user_model().objects.get(pk=mario.pk), world)
    mario = get_user_model().objects.get(pk=mario.pk)
    for model in MODELS:
        manager_model = type(world["mine"][model])
        assert not scope_queryset(mario, manager_model.objects.all()).exists(), model


def test_a_user_with_permissions_but_no_role_is_scoped_and_reaches_nothing(world):
    """Deny by default: permissions alone, without a wider role, do not open the chain."""
    nobody = get_user_model().objects.create_user("nessuno", password=PASSWORD, is_staff=True)
    nobody.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    api = Client(HTTP_AUTHORIZATION=f"Token {token_for(nobody)}")
    assert api.get("/api/v1/customers/").status_code == 403
    assert api.get(API_DETAIL["card"](world["mine"])).status_code == 403
    admin = Client()
    admin.force_login(nobody)
    assert admin.get("/admin/loyalty/customer/").status_code == 302
    assert not scope_queryset(nobody, type(world["mine"]["card"]).objects.all()).exists()


def test_moving_a_user_between_groups_changes_their_reach_at_the_next_request(world, mario):
    from django.contrib.auth.models import Group

    marketing, store = Group.objects.get(name="Marketing"), Group.objects.get(name="Store managers")
    anna = get_user_model().objects.create_user("anna", password=PASSWORD)
    anna.groups.add(marketing)
    anna.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    api = Client(HTTP_AUTHORIZATION=f"Token {token_for(anna)}")
    assert api.get("/api/v1/fidelity-cards/").json()["count"] == 2
    anna.groups.set([store])  # no shop profile: as a store manager she reaches nothing
    assert api.get("/api/v1/fidelity-cards/").status_code == 403
    mario.groups.add(marketing)  # promoted: the whole chain
    mario_api = Client(HTTP_AUTHORIZATION=f"Token {token_for(mario)}")
    assert mario_api.get("/api/v1/fidelity-cards/").json()["count"] == 2


def test_a_store_manager_with_write_permissions_still_only_reads_through_the_api(
    world, mario, mario_api
):
    mario.user_permissions.add(*Permission.objects.filter(content_type__app_label="campaigns"))
    response = mario_api.post(
        "/api/v1/shops/",
        {"code": "PV-NEW", "name": "Nuovo", "city": "Milano"},
        content_type="application/json",
    )
    assert response.status_code == 403
    shop = world["mine"]["shop"]
    patched = mario_api.patch(
        f"/api/v1/shops/{shop.pk}/", {"city": "Altrove"}, content_type="application/json"
    )
    assert patched.status_code == 403
    shop.refresh_from_db()
    assert shop.city != "Altrove"


# --- every read that gathers a customer's data is scoped ---------------------------------------
@pytest.fixture
def shared_customer(world, deliver):
    """Mine's customer also holds a card, with points, at the other shop."""
    customer = world["mine"]["customer"]
    with deliver():
        card = make_card(shop=world["other"]["shop"], customer=customer)
        movement_add(card=card, points=7, note="altrove", shop=world["other"]["shop"], user=None)
    return customer, card


def test_a_store_managers_export_carries_only_their_shops_cards(
    world, shared_customer, mario_api, api
):
    customer, _elsewhere = shared_customer
    mine = mario_api.get(f"/api/v1/customers/{customer.pk}/export/").json()
    assert mine["scope"] == "shops"
    assert [c["shop"] for c in mine["fidelity_cards"]] == ["PV-MINE"]
    notes = [m["note"] for c in mine["fidelity_cards"] for m in c["movements"]]
    assert "altrove" not in notes
    assert mine["push_messages"] == [] and mine["call_center_leads"] == []
    full = api.get(f"/api/v1/customers/{customer.pk}/export/").json()
    assert full["scope"] == "all"
    assert sorted(c["shop"] for c in full["fidelity_cards"]) == ["PV-MINE", "PV-OTHER"]


def test_a_store_managers_timeline_shows_only_their_shops(world, shared_customer, mario):
    from loyalty.timeline import customer_timeline

    customer, elsewhere = shared_customer
    elsewhere.refresh_from_db()
    mine = " ".join(item.text for item in customer_timeline(customer=customer, user=mario))
    assert "PV-MINE" in mine and "PV-OTHER" not in mine and "+7" not in mine
    assert customer_timeline(customer=customer, user=None) == []  # nobody known: nothing


def test_a_store_managers_api_search_finds_no_customer_of_another_shop(world, mario_api):
    other = world["other"]["customer"]
    found = mario_api.get("/api/v1/customers/", {"search": str(other.msisdn)[-6:]}).json()
    assert found["results"] == []
    cards = mario_api.get("/api/v1/fidelity-cards/", {"search": str(other.msisdn)}).json()
    assert cards["results"] == []
