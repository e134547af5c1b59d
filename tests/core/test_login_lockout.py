"""Brute force on the admin and counter logins (django-axes, core.security.LoginLockoutHandler):
three counters of wrong passwords, each locking at its own limit — one username from one address
(5), one address across usernames (password spraying, 20), one username across addresses (10) —
with a clear page, and only keyed hashes of the username and the address in the log."""

import hashlib
import logging
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from core.security import login_hash
from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db
PASSWORD = "Giusta-Password-2026!"
ADMIN, COUNTER = ("/admin/login/", "anna.admin"), ("/store/login/", "mario")
LOGINS = pytest.mark.parametrize(
    ("login_url", "username"), [ADMIN, COUNTER], ids=["admin", "counter"]
)


@pytest.fixture
def users(deliver):
    get_user_model().objects.create_superuser("anna.admin", "a@example.com", PASSWORD)
    with deliver():
        make_shop(code="PV-LOCK")
    call_command(
        "createstoremanager",
        "mario",
        "--shop",
        "PV-LOCK",
        "--password",
        PASSWORD,
        stdout=StringIO(),
    )


@pytest.fixture
def limits(settings):
    limits = SimpleNamespace(
        pair=settings.AXES_FAILURE_LIMIT,
        per_address=settings.LOGIN_FAILURE_LIMITS[("ip_address",)],
        per_username=settings.LOGIN_FAILURE_LIMITS[("username",)],
    )
    assert limits.pair < limits.per_username < limits.per_address  # the tests rely on it
    return limits


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def wrong(client: Client, login_url: str, username: str):
    return client.post(login_url, {"username": username, "password": "sbagliata"})


def right(client: Client, login_url: str, username: str):
    return client.post(login_url, {"username": username, "password": PASSWORD})


def is_locked_out(response) -> bool:
    return response.status_code == 429 and "Troppi tentativi" in response.content.decode()


# --- one username from one address -------------------------------------------------------------
@LOGINS
def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(
    users, login_url, username, caplog, settings
):
    client = Client()
    caplog.set_level(logging.INFO)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(login_url, {"username": username, "password": "sbagliata"})
        assert response.status_code == 200  # the form again, with its error
    locked = client.post(login_url, {"username": username, "password": "sbagliata"})
    assert locked.status_code == 429
    assert "Troppi tentativi" in locked.content.decode()
    right = client.post(login_url, {"username": username, "password": PASSWORD})
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert username not in caplog.text and "127.0.0.1" not in caplog.text


def test_another_user_from_the_same_place_is_not_locked_out(users, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/store/login/", {"username": "mario", "password": "sbagliata"})
    response = client.post("/admin/login/", {"username": "anna.admin", "password": PASSWORD})
    assert response.status_code == 302


def test_a_successful_login_resets_the_count(users, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/store/login/", {"username": "mario", "password": "sbagliata"})
    assert (
        client.post("/store/login/", {"username": "mario", "password": PASSWORD}).status_code == 302
    )
    client.post("/store/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/store/login/", {"username": "mario", "password": "sbagliata"})
    assert (
        client.post("/store/login/", {"username": "mario", "password": PASSWORD}).status_code == 302
    )


# --- one address, many usernames: password spraying --------------------------------------------
@LOGINS
def test_given_many_usernames_from_one_address_then_the_address_is_locked(
    users, limits, login_url, username
):
    sprayer = from_address("198.51.100.7")
    for number in range(limits.per_address - 1):
        assert wrong(sprayer, login_url, f"utente{number}").status_code == 200

    assert is_locked_out(wrong(sprayer, login_url, "utente-ultimo"))
    assert is_locked_out(right(sprayer, login_url, username))  # whoever it is, from there
    assert right(from_address("198.51.100.8"), login_url, username).status_code == 302


def test_given_a_sprayer_with_an_account_when_it_logs_in_then_the_address_stays_counted(
    users, limits
):
    """A success clears only that username's failures from that address: the sprayer's own
    account (here mario's) cannot wipe the address's count between rounds."""
    sprayer = from_address("198.51.100.7")
    for number in range(limits.per_address - 1):
        wrong(sprayer, "/admin/login/", f"utente{number}")
    assert right(sprayer, *COUNTER).status_code == 302
    sprayer.post("/store/logout/")

    assert is_locked_out(wrong(sprayer, "/admin/login/", "utente-ancora"))


# --- one username, many addresses --------------------------------------------------------------
@LOGINS
def test_given_one_username_from_many_addresses_then_it_is_locked_everywhere(
    users, limits, login_url, username
):
    addresses = [f"203.0.113.{number}" for number in range(1, limits.per_username)]
    for address in addresses:  # one failure from each: no address and no pair near its limit
        assert wrong(from_address(address), login_url, username).status_code == 200

    assert is_locked_out(wrong(from_address("203.0.113.200"), login_url, username))
    assert is_locked_out(right(from_address("192.0.2.1"), login_url, username))  # a new address
    other_url, other_username = COUNTER if (login_url, username) == ADMIN else ADMIN
    assert right(from_address(addresses[0]), other_url, other_username).status_code == 302


def test_given_a_person_mistyping_from_two_places_then_the_username_is_not_locked(users, limits):
    """Up to the pair's limit less one from each of two addresses stays under the username's."""
    for address in ("192.0.2.10", "192.0.2.20"):
        for _ in range(limits.pair - 1):
            assert wrong(from_address(address), *ADMIN).status_code == 200
    assert right(from_address("192.0.2.30"), *ADMIN).status_code == 302


# --- the log -----------------------------------------------------------------------------------
def test_given_a_wrong_password_then_the_log_names_keyed_hashes_never_the_username_or_address(
    users, caplog, settings
):
    caplog.set_level(logging.INFO)
    settings.SECRET_KEY = "la-prima-chiave-segreta-abbastanza-lunga-per-django"
    wrong(from_address("198.51.100.23"), *ADMIN)
    first = login_hash("username", "anna.admin")
    settings.SECRET_KEY = "una-seconda-chiave-segreta-abbastanza-lunga-anche"
    wrong(from_address("198.51.100.23"), *ADMIN)
    second = login_hash("username", "anna.admin")

    assert first != second  # keyed: without the secret key no dictionary maps hashes back
    assert f"#{first}" in caplog.text and f"#{second}" in caplog.text
    assert f"#{login_hash('address', '198.51.100.23')}" in caplog.text
    assert "anna.admin" not in caplog.text and "198.51.100.23" not in caplog.text
    assert hashlib.sha256(b"anna.admin").hexdigest()[:10] not in caplog.text  # no plain hash
