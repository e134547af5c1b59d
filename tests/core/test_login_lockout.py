"""Brute force on the admin and counter logins: locked out after repeated failures (django-axes),
with a clear page, and no username or address in the log."""

import logging
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.campaigns.factories import make_shop

pytestmark = pytest.mark.django_db
PASSWORD = "Giusta-Password-2026!"


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


@pytest.mark.parametrize(
    ("login_url", "username"), [("/admin/login/", "anna.admin"), ("/store/login/", "mario")]
)
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
