"""One service per use case: a customer with consents (customer_save), a movement of any action
(movement_create), a card's starting points; and the push-send fields, declared once."""

from decimal import Decimal

import pytest

from loyalty.consent import consent_set
from loyalty.models import Channel, ConsentEvent, ConsentSource, Customer, PointMovement
from loyalty.services import customer_get_or_create, customer_save, movement_create
from messaging.api.serializers import PushSendSerializer
from messaging.forms import PushSendForm
from messaging.services import SEND_AUDIENCE_FIELDS, SEND_FIELDS, SEND_INPUT_FIELDS
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db


def _consents(customer: Customer) -> tuple[str, str, str]:
    customer.refresh_from_db()
    return customer.consent_push_sms, customer.consent_whatsapp, customer.consent_calls


def test_a_new_customer_is_saved_with_the_consents_named(admin_user):
    customer = customer_save(
        msisdn="348 000 0003",
        name="Bea",
        consents={Channel.PUSH_SMS: True, Channel.CALLS: False},
        source=ConsentSource.API,
        user=admin_user,
    )
    assert _consents(customer) == ("given", "unknown", "withdrawn")
    events = ConsentEvent.objects.filter(customer=customer)
    assert sorted(events.values_list("channel", "source", "by")) == [
        ("calls", "api", admin_user.pk),
        ("push_sms", "api", admin_user.pk),
    ]


def test_a_known_number_only_fills_in_what_is_empty():
    customer_get_or_create(msisdn="+393480000004", name="Carla")
    saved = customer_save(
        msisdn="+39 348 000 0004",
        name="Other",
        surname="Rossi",
        consents={},
        source=ConsentSource.STORE,
    )
    assert (saved.name, saved.surname, Customer.objects.count()) == ("Carla", "Rossi", 1)


def test_an_existing_customer_takes_the_details_given_and_other_consents_stay():
    dario = customer_get_or_create(msisdn="+393480000005", name="Dario", email="d@example.com")
    consent_set(customer=dario, channel=Channel.WHATSAPP, given=True, source="store")
    customer_save(
        customer=dario,
        name="Dario",
        surname="Neri",
        email="",
        consents={Channel.CALLS: None},  # unknown already: no change, no history
        source=ConsentSource.ADMIN,
    )
    dario.refresh_from_db()
    assert (dario.surname, dario.email) == ("Neri", "")
    assert _consents(dario) == ("unknown", "given", "unknown")
    assert ConsentEvent.objects.filter(customer=dario).count() == 1


def test_a_refused_consent_leaves_no_customer_behind():
    with pytest.raises(ValueError):
        customer_save(msisdn="+393480000006", consents={"fax": True}, source=ConsentSource.API)
    assert not Customer.objects.exists()


def test_the_admin_adds_a_customer_with_every_consent_of_its_form(admin_client):
    response = admin_client.post(
        "/admin/loyalty/customer/add/",
        {
            "msisdn": "+393480000007",
            "name": "Elsa",
            "surname": "",
            "email": "",
            "push_sms": "1",
            "whatsapp": "0",
            "calls": "",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    elsa = Customer.objects.get()
    assert (elsa.name, _consents(elsa)) == ("Elsa", ("given", "withdrawn", "unknown"))
    assert set(ConsentEvent.objects.values_list("source", flat=True)) == {"admin"}


def test_the_api_creates_then_patches_a_customer_changing_only_what_it_names(api):
    created = api.post(
        "/api/v1/customers/",
        {"msisdn": "3480000008", "name": "Fede", "surname": "Gallo", "consent_whatsapp": True},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["consent_push_sms"], body["consent_whatsapp"], body["consent_calls"]) == (
        None,
        True,
        None,
    )
    patched = api.patch(
        f"/api/v1/customers/{body['id']}/",
        {"name": "Federica", "consent_calls": False},
        content_type="application/json",
    ).json()
    assert (patched["name"], patched["surname"], patched["consent_whatsapp"]) == (
        "Federica",
        "Gallo",
        True,
    )
    assert sorted(ConsentEvent.objects.values_list("channel", "source")) == [
        ("calls", "api"),
        ("whatsapp", "api"),
    ]


def test_movement_create_does_each_action_and_ignores_what_it_does_not_use(admin_user):
    card = make_card(starting_points=40)
    added = movement_create(card=card, action="ADD", points=5, reward_id=9, user=admin_user)
    assert (added.points, added.reward_id, added.created_by, card.points) == (
        5,
        None,
        admin_user,
        45,
    )
    reward = movement_create(card=card, action="REWARD", reward_id=7, points=3, send_sms=True)
    assert (reward.points, reward.reward_id, reward.send_sms, reward.created_by) == (
        0,
        7,
        True,
        None,
    )
    reset = movement_create(card=card, action="AZZERA", send_sms=True, note="fine anno")
    assert (reset.points, reset.send_sms, reset.note, card.points) == (-45, False, "fine anno", 0)


def test_the_admin_adds_movements_and_cards_through_the_services(admin_client):
    card = make_card(starting_points=10)
    fields = {"card": card.pk, "points": "", "amount": "", "reward_id": "", "note": "", "shop": ""}
    admin_client.post(
        "/admin/loyalty/pointmovement/add/", {**fields, "action": "ADD", "points": "4"}
    )
    admin_client.post("/admin/loyalty/pointmovement/add/", {**fields, "action": "AZZERA"})
    movements = PointMovement.objects.order_by("id").values_list("action", "points", "created_by")
    admin = card.movements.first().created_by_id
    assert list(movements) == [("ADD", 4, admin), ("AZZERA", -14, admin)]

    program = pulled_program()
    shop = make_shop()
    response = admin_client.post(
        "/admin/loyalty/fidelitycard/add/",
        {
            "program": program.pk,
            "customer": card.customer_id,
            "shop": shop.pk,
            "code": "",
            "starting_points": "99",  # the amount decides, as on the counter and in the API
            "starting_amount": "30",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    enrolled = card.customer.cards.exclude(pk=card.pk).get()
    assert (enrolled.starting_amount, enrolled.starting_points) == (
        Decimal("30"),
        int(Decimal("30") / program.point_value),
    )


def test_the_push_send_fields_are_declared_once():
    assert tuple(PushSendForm._meta.fields) == SEND_INPUT_FIELDS
    declared = PushSendSerializer.Meta.fields
    assert declared[1 : 1 + len(SEND_INPUT_FIELDS)] == SEND_INPUT_FIELDS
    assert set(SEND_FIELDS) | set(SEND_AUDIENCE_FIELDS) == set(SEND_INPUT_FIELDS)
    assert not set(SEND_FIELDS) & set(SEND_AUDIENCE_FIELDS)
