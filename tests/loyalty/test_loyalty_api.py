"""/api/v1/customers/, fidelity-programs, fidelity-cards and their movements."""

import pytest

from loyalty.models import Customer, FidelityCard, PointMovement
from sandbox.models import AmmRecord
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db
CARD_FIELDS = {
    "id",
    "program",
    "code",
    "customer",
    "msisdn",
    "shop",
    "starting_points",
    "starting_amount",
    "send_sms",
    "points",
    "active",
    "activation_date",
    "remote_id",
    "sync_status",
    "sync_error",
}
MOVEMENT_FIELDS = {
    "id",
    "action",
    "points",
    "amount",
    "reward_id",
    "note",
    "send_sms",
    "date",
    "remote_id",
    "sync_status",
    "sync_error",
}


def test_programs_are_read_only(api):
    program = pulled_program()
    listing = api.get("/api/v1/fidelity-programs/").json()
    assert program.name in [p["name"] for p in listing["results"]]
    assert api.post("/api/v1/fidelity-programs/", {"name": "x"}).status_code == 405


def test_a_card_posted_with_msisdn_alone_creates_the_customer(api, deliver):
    program = pulled_program()
    with deliver():
        response = api.post(
            "/api/v1/fidelity-cards/",
            {"program": program.pk, "msisdn": "3478889999"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = api.get(f"/api/v1/fidelity-cards/{response.json()['id']}/").json()
    assert set(body) >= CARD_FIELDS
    assert body["msisdn"] == "+393478889999" and body["sync_status"] == "synced"
    assert body["code"] and body["remote_id"]
    assert Customer.objects.get().pk == body["customer"]


def test_a_bad_card_is_a_400_in_italian(api):
    program = pulled_program()
    response = api.post(
        "/api/v1/fidelity-cards/",
        {"program": program.pk, "msisdn": "0000", "code": "no!"},
        content_type="application/json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "msisdn" in fields or "code" in fields
    assert not FidelityCard.objects.exists()


def test_movements_add_by_amount_reward_and_delete(api, deliver):
    with deliver():
        card = make_card(shop=make_shop(), starting_points=10)
    url = f"/api/v1/fidelity-cards/{card.pk}/movements/"
    with deliver():
        added = api.post(
            url,
            {"action": "ADD", "amount": "25.00", "note": "web"},
            content_type="application/json",
        )
    assert added.status_code == 201, added.content
    movement = api.get(f"{url}{added.json()['id']}/").json()
    assert set(movement) >= MOVEMENT_FIELDS
    assert (movement["points"], movement["sync_status"]) == (5, "synced")

    bad = api.post(url, {"action": "REWARD"}, content_type="application/json")
    assert bad.status_code == 400 and "reward_id" in bad.json()["error"]["fields"]

    with deliver():
        assert api.delete(f"{url}{added.json()['id']}/").status_code == 204
    assert not AmmRecord.objects.exists() and not PointMovement.objects.exists()
    assert api.get(f"/api/v1/fidelity-cards/{card.pk}/").json()["points"] == 10


def test_customers_are_searchable_by_phone(api):
    api.post(
        "/api/v1/customers/",
        {"msisdn": "3470001111", "name": "Gino"},
        content_type="application/json",
    )
    found = api.get("/api/v1/customers/?search=3470001111").json()
    assert [c["name"] for c in found["results"]] == ["Gino"]
