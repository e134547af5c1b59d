"""Issue 24, "Done when": the audience marketing builds in the admin and the same one built
through /api/v1/audiences/ with a token hold the same rules and count the same customers, with
the same first rows; a rule on an unknown field or an impossible range answers 400 naming the
field, and nothing is saved or changed. Real requests through the test client."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from loyalty.models import Audience, Customer, CustomerTag, FidelityCard, PointMovement
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Audience-Parity-2026!"
COUNT = re.compile(r'class="audience-count"><strong>(\d+) client')
PREVIEW_IDS = re.compile(r'/admin/loyalty/customer/(\d+)/change/">')


def _day(days_ago: int) -> str:
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def world():
    """Milano and Roma, twelve card holders: points 0, 50, …, 550 alternating between the two
    shops, bought n×10 days ago (the first never), every third card inactive, the even ones
    tagged VIP; an erased Milano customer with 900 points who stopped buying long ago."""
    program = pulled_program()
    milano, roma = make_shop(code="PV-MI-P"), make_shop(code="PV-RM-P", city="Roma")
    vip = CustomerTag.objects.create(name="VIP")
    for n in range(12):
        card = make_card(shop=milano if n % 2 == 0 else roma, program=program)
        FidelityCard.objects.filter(pk=card.pk).update(points=50 * n, active=n % 3 != 2)
        if n:
            PointMovement.objects.create(
                card=card, action="ADD", points=5, date=timezone.now() - timedelta(days=10 * n)
            )
        if n % 4 == 0:
            vip.customers.add(card.customer)
    erased = make_card(shop=milano, program=program)
    FidelityCard.objects.filter(pk=erased.pk).update(points=900)
    Customer.objects.filter(pk=erased.customer_id).update(erased_at=timezone.now())
    return {"program": program, "milano": milano, "roma": roma, "vip": vip}


@pytest.fixture
def anna():
    call_command(
        "createuser", "anna", "--role", "marketing", "--password", PASSWORD, stdout=StringIO()
    )
    return get_user_model().objects.get(username="anna")


def _admin(user) -> Client:
    """Signed in through the admin's own login form."""
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, "the admin login failed"
    return client


def _api(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    return client


# Each case: the admin's form fields, the same rules as the API's JSON, and how many match.
CASES = {
    "milano_with_points": (
        lambda w: {"shops": [w["milano"].pk], "points_min": "100", "card_active": "true"},
        lambda w: {"shops": [w["milano"].pk], "points_min": 100, "card_active": True},
        # Milano, active, 100+: n = 4, 6, 10 (n = 2 and 8 are inactive; the erased one never).
        3,
    ),
    "stopped_buying": (
        lambda w: {"last_movement_before": _day(45), "points_max": "400"},
        lambda w: {"last_movement_before": _day(45), "points_max": 400},
        # Nothing after 45 days ago and at most 400 points: n = 0 (never bought), 5, 6, 7, 8.
        5,
    ),
    "every_rule": (
        lambda w: {
            "shops": [w["milano"].pk, w["roma"].pk],
            "program": w["program"].pk,
            "points_min": "0",
            "points_max": "500",
            "last_movement_after": _day(95),
            "last_movement_before": _day(15),
            "card_active": "true",
            "created_since": _day(1),
            "tag": w["vip"].pk,
        },
        lambda w: {
            "shops": sorted([w["milano"].pk, w["roma"].pk]),
            "program": w["program"].pk,
            "points_min": 0,
            "points_max": 500,
            "last_movement_after": _day(95),
            "last_movement_before": _day(15),
            "card_active": True,
            "created_since": _day(1),
            "tag": w["vip"].pk,
        },
        # VIP (n = 0, 4, 8), active (not 8), bought between 95 and 15 days ago (not 0): n = 4.
        1,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_api_builds_the_same_audience_as_the_admin_and_counts_the_same(world, anna, case):
    form, rules, expected = (part(world) if callable(part) else part for part in CASES[case])

    # The admin: marketing saves the audience and reads its count and first rows on its page.
    admin = _admin(anna)
    saved = admin.post(
        "/admin/loyalty/audience/add/", {"name": f"Admin {case}", **form, "_continue": "1"}
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    page = admin.get(saved["Location"]).content.decode()
    [shown] = COUNT.findall(page)
    admin_count, admin_rows = int(shown), [int(pk) for pk in PREVIEW_IDS.findall(page)]
    from_admin = Audience.objects.get(name=f"Admin {case}")
    assert from_admin.rules == rules

    # The API, with anna's token: the same rules, the same count, the same first rows.
    api = _api(anna)
    created = api.post(
        "/api/v1/audiences/",
        {"name": f"API {case}", "rules": rules},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["rules"] == from_admin.rules
    assert body["count"] == admin_count == expected
    preview = api.get(f"/api/v1/audiences/{body['id']}/preview/").json()
    assert preview["count"] == expected
    assert [row["id"] for row in preview["results"]] == admin_rows
    # The admin's audience read through the API counts the same too.
    assert api.get(f"/api/v1/audiences/{from_admin.pk}/").json()["count"] == expected
    assert Audience.objects.get(pk=body["id"]).created_by == anna


@pytest.mark.parametrize(
    ("rules", "field", "words"),
    [
        ({"colour": "rosso"}, "colour", "Regola sconosciuta"),
        ({"shops": [], "points_at_least": 200}, "points_at_least", "Regola sconosciuta"),
        ({"points_min": 500, "points_max": 100}, "points_max", "nessuno"),
        (
            {"last_movement_after": _day(10), "last_movement_before": _day(40)},
            "last_movement_before",
            "nessuno",
        ),
        ({"points_min": "tanti"}, "points_min", "numero intero"),
        ({"last_movement_after": "31/12/2025"}, "last_movement_after", "data"),
    ],
)
def test_a_bad_rule_answers_400_naming_the_field_and_nothing_changes(
    world, anna, rules, field, words
):
    api = _api(anna)
    kept = api.post(
        "/api/v1/audiences/",
        {"name": "Milano", "rules": {"shops": [world["milano"].pk]}},
        content_type="application/json",
    ).json()
    attempts = [
        api.post(
            "/api/v1/audiences/",
            {"name": "Sbagliata", "rules": rules},
            content_type="application/json",
        ),
        api.post("/api/v1/audiences/preview/", {"rules": rules}, content_type="application/json"),
        api.patch(
            f"/api/v1/audiences/{kept['id']}/", {"rules": rules}, content_type="application/json"
        ),
    ]
    for response in attempts:
        assert response.status_code == 400, response.content
        fields = response.json()["error"]["fields"]
        assert list(fields) == ["rules"] and list(fields["rules"]) == [field], fields
        assert words in " ".join(fields["rules"][field]), fields
    assert list(Audience.objects.values_list("name", "rules")) == [
        ("Milano", {"shops": [world["milano"].pk]})
    ]
    assert api.get(f"/api/v1/audiences/{kept['id']}/").json()["count"] == 6
