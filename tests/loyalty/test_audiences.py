"""Audiences: saved rule sets over customers, counted and previewed in the admin and the API."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from loyalty.audiences import audience_rules_clean, audience_rules_customers, audience_save
from loyalty.models import Audience, Customer, CustomerTag, FidelityCard, PointMovement
from loyalty.selectors import audience_customers
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program
from tests.tokens import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "Audience-Test-2026!"


def _card(
    world, who: str, *, shop, points: int, active: bool = True, moved_days_ago=None, program=None
):
    card = make_card(shop=shop, program=program or world["program"], msisdn=world["numbers"][who])
    FidelityCard.objects.filter(pk=card.pk).update(points=points, active=active)
    if moved_days_ago is not None:
        PointMovement.objects.create(
            card=card, action="ADD", points=5, date=timezone.now() - timedelta(days=moved_days_ago)
        )
    return card


@pytest.fixture
def world():
    """Milano and Roma; giulia (VIP, Milano, 300 points, bought 10 days ago), marco (Milano, 50
    points, bought 100 days ago), sara (Roma, 500 points, inactive card, never bought, customer
    for 400 days), luca (VIP, no card) and an erased customer with a Milano card."""
    world = {
        "program": pulled_program(),
        "milano": make_shop(code="PV-MI-A"),
        "roma": make_shop(code="PV-RM-A"),
        "numbers": {
            "giulia": "+39 347 555 0001",
            "marco": "+39 347 555 0002",
            "sara": "+39 347 555 0003",
            "luca": "+39 347 555 0004",
            "erased": "+39 347 555 0005",
        },
    }
    _card(world, "giulia", shop=world["milano"], points=300, moved_days_ago=10)
    _card(world, "marco", shop=world["milano"], points=50, moved_days_ago=100)
    _card(world, "sara", shop=world["roma"], points=500, active=False)
    _card(world, "erased", shop=world["milano"], points=900, moved_days_ago=1)
    luca = Customer.objects.create(msisdn=world["numbers"]["luca"], name="Luca")
    for who, number in world["numbers"].items():
        world[who] = Customer.objects.get(msisdn=number.replace(" ", ""))
    Customer.objects.filter(pk=world["sara"].pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    Customer.objects.filter(pk=world["erased"].pk).update(erased_at=timezone.now())
    vip = CustomerTag.objects.create(name="VIP")
    vip.customers.add(world["giulia"], luca)
    world["vip"] = vip
    return world


def _names(world, rules) -> set[str]:
    ids = set(audience_rules_customers(audience_rules_clean(rules)).values_list("pk", flat=True))
    return {who for who in ("giulia", "marco", "sara", "luca", "erased") if world[who].pk in ids}


def _day(days_ago: int) -> str:
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


# --- rules → customers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (lambda w: {}, {"giulia", "marco", "sara", "luca"}),
        (lambda w: {"shops": [w["milano"].pk]}, {"giulia", "marco"}),
        (lambda w: {"shops": [w["milano"].pk, w["roma"].pk]}, {"giulia", "marco", "sara"}),
        (lambda w: {"program": w["program"].pk}, {"giulia", "marco", "sara"}),
        (lambda w: {"points_min": 300}, {"giulia", "sara"}),
        (lambda w: {"points_max": 300}, {"giulia", "marco"}),
        (lambda w: {"points_min": 100, "points_max": 400}, {"giulia"}),
        (lambda w: {"last_movement_after": _day(30)}, {"giulia"}),
        # Never bought counts as "no movement since": sara is in, as the call list wants.
        (lambda w: {"last_movement_before": _day(60)}, {"marco", "sara"}),
        (lambda w: {"last_movement_after": _day(200), "last_movement_before": _day(60)}, {"marco"}),
        (lambda w: {"card_active": True}, {"giulia", "marco"}),
        (lambda w: {"card_active": False}, {"sara"}),
        (lambda w: {"created_since": _day(30)}, {"giulia", "marco", "luca"}),
        (lambda w: {"tag": w["vip"].pk}, {"giulia", "luca"}),
        (lambda w: {"tag": w["vip"].pk, "shops": [w["milano"].pk]}, {"giulia"}),
        (lambda w: {"shops": [], "program": None}, {"giulia", "marco", "sara", "luca"}),
    ],
)
def test_each_rule_picks_its_customers(world, rules, expected):
    assert _names(world, rules(world)) == expected


def test_the_last_movement_day_counts_whole_days_both_ends_included(world):
    assert _names(world, {"last_movement_before": _day(10)}) >= {"giulia"}
    assert "giulia" in _names(world, {"last_movement_after": _day(10)})
    assert "giulia" not in _names(world, {"last_movement_before": _day(11)})


def test_the_card_rules_hold_for_one_and_the_same_card(world):
    """Marco's Milano card has 50 points, his new Roma card 700: "Milano with ≥ 200" is not him."""
    make_card(shop=world["roma"], customer=world["marco"], starting_points=700)
    rules = {"shops": [world["milano"].pk], "points_min": 200}
    assert _names(world, rules) == {"giulia"}
    assert _names(world, {"points_min": 200}) == {"giulia", "sara", "marco"}


def test_every_rule_together_and_the_selector_count_each_customer_once(world):
    make_card(shop=world["milano"], customer=world["giulia"], starting_points=250)
    rules = {
        "shops": [world["milano"].pk],
        "program": world["program"].pk,
        "points_min": 200,
        "points_max": 400,
        "last_movement_after": _day(30),
        "last_movement_before": _day(0),
        "card_active": True,
        "created_since": _day(5),
        "tag": world["vip"].pk,
    }
    audience = audience_save(name="Tutto", rules=rules)
    assert list(audience_customers(audience)) == [world["giulia"]]
    assert audience_customers(audience).count() == 1


def test_a_rule_stored_unknown_is_refused_never_ignored(world):
    audience = Audience.objects.create(name="Vecchia", rules={"consent": "given"})
    with pytest.raises(ValidationError):
        audience_customers(audience)


# --- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"points_min": 500, "points_max": 100}, "points_max"),
        (
            {"last_movement_after": "2025-03-01", "last_movement_before": "2025-02-01"},
            "last_movement_before",
        ),
        ({"points_min": "many"}, "points_min"),
        ({"points_min": 1.5}, "points_min"),
        ({"points_min": True}, "points_min"),
        ({"shops": 3}, "shops"),
        ({"shops": [999999]}, "shops"),
        ({"program": 999999}, "program"),
        ({"tag": 999999}, "tag"),
        ({"card_active": "yes"}, "card_active"),
        ({"created_since": "01/02/2025"}, "created_since"),
        ({"created_since": 20250101}, "created_since"),
    ],
)
def test_a_wrong_rule_is_named_and_nothing_is_saved(world, rules, field):
    with pytest.raises(ValidationError) as caught:
        audience_save(name="Sbagliata", rules=rules)
    assert field in caught.value.message_dict
    assert not Audience.objects.exists()


def test_rules_that_are_not_an_object_are_refused():
    with pytest.raises(ValidationError):
        audience_rules_clean(["shops"])


# --- API -----------------------------------------------------------------------------------------
def test_the_api_creates_lists_counts_and_previews_an_audience(api, world):
    rules = {"shops": [world["milano"].pk], "points_min": 10, "card_active": True}
    response = api.post(
        "/api/v1/audiences/",
        {"name": "Milano attivi", "rules": rules},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "name", "rules", "count"}
    assert body["count"] == 2
    assert body["rules"] == {"shops": [world["milano"].pk], "points_min": 10, "card_active": True}
    audience = Audience.objects.get()
    assert audience.created_by.username == "script"

    listing = api.get("/api/v1/audiences/").json()
    assert [(a["name"], a["count"]) for a in listing["results"]] == [("Milano attivi", 2)]

    preview = api.get(f"/api/v1/audiences/{audience.pk}/preview/").json()
    assert preview["count"] == 2
    rows = {row["id"]: row for row in preview["results"]}
    assert set(rows) == {world["giulia"].pk, world["marco"].pk}
    giulia = rows[world["giulia"].pk]
    assert giulia["msisdn"] == "…001" and giulia["shop"] == "PV-MI-A" and giulia["points"] == 300
    assert "555" not in giulia["msisdn"]

    response = api.patch(
        f"/api/v1/audiences/{audience.pk}/",
        {"rules": {"shops": [world["milano"].pk], "points_min": 100}},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["count"] == 1
    assert response.json()["name"] == "Milano attivi"


def test_the_api_previews_rules_without_saving(api, world):
    response = api.post(
        "/api/v1/audiences/preview/",
        {"rules": {"tag": world["vip"].pk}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2
    assert {row["name"] for row in response.json()["results"]} == {"Maria Bianchi", "Luca"}
    assert not Audience.objects.exists()


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"points_min": 500, "points_max": 100}, "points_max"),
        (
            {"last_movement_after": "2025-03-01", "last_movement_before": "2025-02-01"},
            "last_movement_before",
        ),
    ],
)
def test_a_wrong_rule_answers_400_naming_it_in_italian(api, world, rules, field):
    response = api.post(
        "/api/v1/audiences/",
        {"name": "Sbagliata", "rules": rules},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="it",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]["rules"]
    message = error["fields"]["rules"][field][0]
    assert any(word in message for word in ("nessuno", "Regola sconosciuta")), message
    assert not Audience.objects.exists()


def test_the_same_name_twice_is_a_400(api, world):
    audience_save(name="Milano", rules={})
    response = api.post(
        "/api/v1/audiences/", {"name": "Milano", "rules": {}}, content_type="application/json"
    )
    assert response.status_code == 400 and "name" in response.json()["error"]["fields"]


# --- who may ---------------------------------------------------------------------------------
def _user(username: str, role: str):
    call_command("createuser", username, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=username)


def _token_client(user) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    return client


def test_marketing_and_scripts_manage_audiences_auditors_only_read(world):
    audience = audience_save(name="Milano", rules={"shops": [world["milano"].pk]})
    body = {"name": "Roma", "rules": {"shops": [world["roma"].pk]}}
    for role in ("marketing", "api"):
        client = _token_client(_user(f"u-{role}", role))
        assert client.get("/api/v1/audiences/").status_code == 200
        created = client.post(
            "/api/v1/audiences/", {**body, "name": f"Roma {role}"}, content_type="application/json"
        )
        assert created.status_code == 201, (role, created.content)
    auditor = _token_client(_user("revisore", "auditor"))
    assert auditor.get(f"/api/v1/audiences/{audience.pk}/preview/").json()["count"] == 2
    assert (
        auditor.post("/api/v1/audiences/", body, content_type="application/json").status_code == 403
    )
    assert (
        auditor.post(
            "/api/v1/audiences/preview/", {"rules": {}}, content_type="application/json"
        ).status_code
        == 403
    )
    assert auditor.delete(f"/api/v1/audiences/{audience.pk}/").status_code == 403


def test_store_managers_and_users_without_a_role_reach_no_audience(world):
    audience = audience_save(name="Milano", rules={"shops": [world["milano"].pk]})
    call_command("createstoremanager", "mario", "--shop", "PV-MI-A", stdout=StringIO())
    nobody = get_user_model().objects.create_user("nessuno", password=PASSWORD)
    for user in (get_user_model().objects.get(username="mario"), nobody):
        client = _token_client(user)
        for url in ("/api/v1/audiences/", f"/api/v1/audiences/{audience.pk}/preview/"):
            assert client.get(url).status_code == 403, (user.username, url)
    assert Client().get("/api/v1/audiences/").status_code == 401


# --- admin ---------------------------------------------------------------------------------------
@pytest.fixture
def marketing():
    client = Client()
    client.force_login(_user("anna", "marketing"))
    return client


def test_marketing_builds_an_audience_in_the_admin_and_sees_its_count_and_first_rows(
    marketing, world
):
    response = marketing.post(
        "/admin/loyalty/audience/add/",
        {
            "name": "Milano da riattivare",
            "shops": [world["milano"].pk],
            "points_min": "10",
            "points_max": "",
            "last_movement_before": _day(60),
            "card_active": "true",
            "_continue": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    audience = Audience.objects.get()
    assert audience.rules == {
        "shops": [world["milano"].pk],
        "points_min": 10,
        "last_movement_before": _day(60),
        "card_active": True,
    }
    assert audience.created_by.username == "anna"
    page = marketing.get(response["Location"]).content.decode()
    assert "1 cliente" in page or "1 customer" in page
    assert "…002" in page and "PV-MI-A" in page
    assert "3475550002" not in page

    listing = marketing.get("/admin/loyalty/audience/").content.decode()
    assert "PV-MI-A" in listing  # the rules in words


def test_the_admin_changes_an_audience_and_refuses_an_impossible_range(marketing, world):
    audience = audience_save(name="Punti", rules={"points_min": 100})
    url = f"/admin/loyalty/audience/{audience.pk}/change/"
    page = marketing.get(url).content.decode()
    assert 'name="points_min"' in page and 'value="100"' in page
    response = marketing.post(url, {"name": "Punti", "points_min": "500", "points_max": "100"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["points_max"]
    audience.refresh_from_db()
    assert audience.rules == {"points_min": 100}
    response = marketing.post(
        url,
        {
            "name": "Punti",
            "last_movement_after": "2025-03-01",
            "last_movement_before": "2025-02-01",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["last_movement_before"]
    response = marketing.post(url, {"name": "Punti alti", "points_min": "400"})
    assert response.status_code == 302
    audience.refresh_from_db()
    assert audience.name == "Punti alti" and audience.rules == {"points_min": 400}


def test_the_admin_does_not_widen_an_audience_whose_shop_was_deleted(marketing, world):
    """The form cannot show a deleted shop: saving what it shows would drop the rule and pick
    every customer. Refused until the shops are chosen again."""
    spare = make_shop(code="PV-TO-A")
    audience = audience_save(name="Torino", rules={"shops": [spare.pk]})
    gone = spare.pk
    spare.delete()
    url = f"/admin/loyalty/audience/{audience.pk}/change/"
    response = marketing.post(url, {"name": "Torino"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["shops"]
    audience.refresh_from_db()
    assert audience.rules == {"shops": [gone]}
    assert audience_customers(audience).count() == 0
    response = marketing.post(url, {"name": "Torino", "shops": [world["roma"].pk]})
    assert response.status_code == 302
    audience.refresh_from_db()
    assert audience.rules == {"shops": [world["roma"].pk]}


def test_an_auditor_reads_an_audience_in_the_admin_but_cannot_change_it(world):
    audience = audience_save(name="VIP", rules={"tag": world["vip"].pk})
    client = Client()
    client.force_login(_user("revisore", "auditor"))
    page = client.get(f"/admin/loyalty/audience/{audience.pk}/change/").content.decode()
    assert "VIP" in page and 'name="tag"' not in page
    assert client.get("/admin/loyalty/audience/add/").status_code == 403
    response = client.post(f"/admin/loyalty/audience/{audience.pk}/change/", {"name": "Altro"})
    assert response.status_code == 403
    audience.refresh_from_db()
    assert audience.name == "VIP"


def test_a_store_manager_is_turned_away_from_the_audiences_admin(world):
    call_command("createstoremanager", "mario", "--shop", "PV-MI-A", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username="mario"))
    response = client.get("/admin/loyalty/audience/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_tags_are_edited_on_the_customer_page(marketing, world):
    marco = world["marco"]
    url = f"/admin/loyalty/customer/{marco.pk}/change/"
    response = marketing.post(
        url,
        {
            "name": marco.name,
            "surname": marco.surname,
            "email": "",
            "push_sms": "",
            "whatsapp": "",
            "calls": "",
            "tags": [world["vip"].pk],
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(marco.tags.all()) == [world["vip"]]
    assert _names(world, {"tag": world["vip"].pk}) == {"giulia", "marco", "luca"}


def test_the_add_page_offers_every_rule_with_a_date_picker(marketing, world):
    page = marketing.get("/admin/loyalty/audience/add/").content.decode()
    for rule in ("shops", "program", "points_min", "points_max", "card_active", "tag"):
        assert f'name="{rule}"' in page
    assert 'type="date" name="last_movement_before"' in page
    assert "PV-MI-A" in page and "VIP" in page


def test_the_demo_data_has_two_audiences_with_customers(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data", "--no-password", stdout=StringIO())
    picked = {
        a.name: set(audience_customers(a).values_list("name", flat=True))
        for a in Audience.objects.all()
    }
    assert set(picked) == {"Clienti di Milano con carta attiva", "Clienti VIP con almeno 5 punti"}
    # Milano's card holders: Giulia and Marco, and the card holders of the demo's history.
    assert {"Giulia", "Marco"} <= picked["Clienti di Milano con carta attiva"]
    assert "Sara" not in picked["Clienti di Milano con carta attiva"]
    assert picked["Clienti VIP con almeno 5 punti"] == {"Giulia", "Sara"}  # 6 and 11 points
