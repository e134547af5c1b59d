"""API tokens are secrets: stored as a digest only, shown once when made (createuser, the
admin's add page and its "new token" action), listed by their first characters, revocable by
marketing; an auditor reads the list and changes nothing."""

from __future__ import annotations

import re
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client

from core.models import ApiToken
from core.tokens import api_token_create

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r"vtr_[0-9a-f]{64}")


def _user(username: str, role: str) -> Client:
    call_command(
        "createuser", username, "--role", role, "--password", "Pw-lunga-2026!", stdout=StringIO()
    )
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def marketing() -> Client:
    return _user("anna", "marketing")


@pytest.fixture
def script():
    out = StringIO()
    call_command("createuser", "gestionale", "--role", "api", stdout=out)
    return get_user_model().objects.get(username="gestionale"), TOKEN.search(out.getvalue())[0]


def _works(token: str) -> bool:
    return Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/shops/").status_code == 200


def test_createuser_shows_the_token_once_and_stores_only_its_digest(script):
    user, token = script
    assert _works(token)
    stored = ApiToken.objects.get(user=user)
    assert token not in (stored.digest, stored.token_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        assert token not in repr(cursor.fetchall())


def test_the_token_list_shows_a_prefix_and_the_date_never_the_token(marketing, script):
    _holder, token = script
    page = marketing.get("/admin/core/apitoken/").content.decode()
    assert token[:12] in page and token not in page and "gestionale" in page
    detail = marketing.get(f"/admin/core/apitoken/{ApiToken.objects.get().pk}/change/")
    assert detail.status_code == 200 and token not in detail.content.decode()


def test_marketing_makes_a_token_that_is_shown_once(marketing, script):
    user, _token = script
    form = marketing.get("/admin/core/apitoken/add/")
    assert form.status_code == 200
    made = marketing.post("/admin/core/apitoken/add/", {"user": user.pk})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    token = TOKEN.search(made.content.decode())[0]
    assert _works(token)
    assert token not in marketing.get("/admin/core/apitoken/").content.decode()


def test_a_token_is_made_only_for_scripts_and_store_managers(marketing):
    staff = get_user_model().objects.get(username="anna")
    refused = marketing.post("/admin/core/apitoken/add/", {"user": staff.pk})
    assert refused.status_code == 200 and not ApiToken.objects.exists()


def test_new_token_action_replaces_the_old_one(marketing, script):
    _holder, old = script
    response = marketing.post(
        "/admin/core/apitoken/",
        {"action": "replace", "_selected_action": [ApiToken.objects.get().pk]},
    )
    new = TOKEN.search(response.content.decode())[0]
    assert new != old and _works(new) and not _works(old)


def test_marketing_revokes_a_token(marketing, script):
    _holder, token = script
    pk = ApiToken.objects.get().pk
    response = marketing.post(f"/admin/core/apitoken/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not _works(token)


def test_an_auditor_reads_the_list_and_can_neither_make_nor_revoke(script):
    auditor = _user("revisore", "auditor")
    assert auditor.get("/admin/core/apitoken/").status_code == 200
    assert auditor.get("/admin/core/apitoken/add/").status_code == 403
    pk = ApiToken.objects.get().pk
    assert auditor.post(f"/admin/core/apitoken/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiToken.objects.filter(pk=pk).exists()


def test_a_store_manager_can_hold_a_token_for_their_shops_scripts(db):
    from tests.campaigns.factories import make_shop

    make_shop(code="PV-TOK")
    call_command("createstoremanager", "mario", "--shop", "PV-TOK", stdout=StringIO())
    mario = get_user_model().objects.get(username="mario")
    _token, secret = api_token_create(user=mario)
    assert Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/v1/shops/").status_code == 200


def test_plain_text_tokens_of_the_old_table_are_hashed_and_the_table_dropped(db):
    """core/migrations/0006: an install that had DRF's plain-text tokens keeps them working."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("core.migrations.0006_api_tokens_hashed")
    user = get_user_model().objects.create_user("vecchio")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, "
            "user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, "2026-01-01 10:00:00", user.pk]
        )
    # The step reads only the editor's connection (SQLite's real editor refuses to open inside
    # the test's transaction).
    migration.hash_existing_tokens(apps, SimpleNamespace(connection=connection))
    assert "authtoken_token" not in connection.introspection.table_names()
    stored = ApiToken.objects.get(user=user)
    assert stored.digest != key
    from knox.auth import TokenAuthentication

    assert TokenAuthentication().authenticate_credentials(key.encode())[0] == user
