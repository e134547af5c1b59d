import pytest

pytestmark = pytest.mark.django_db


def test_the_ui_is_italian_even_for_an_english_browser(client):
    page = client.get("/store/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Accedi al banco" in page.content.decode()


def test_english_is_available_by_choice(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/store/login/"})
    page = client.get("/store/login/")
    assert "Log in to the counter" in page.content.decode()
    assert "Italiano" in page.content.decode()  # the way back
