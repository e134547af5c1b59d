"""Playwright driving Debian's Chromium (its own browser download does not work here)."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: bin/setup installs Debian's chromium package"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open(context):
    """A tab that records what the content security policy blocked: a page of ours must never
    need anything the policy forbids (an inline script, a foreign host)."""
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.csp_violations = []
    tab.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and tab.csp_violations.append(message.text)
        ),
    )
    return tab


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="it-IT", viewport={"width": 1280, "height": 900}
    )
    tab = _open(context)
    yield tab
    context.close()
    assert tab.csp_violations == []


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        locale="it-IT",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    tab = _open(context)
    yield tab
    context.close()
    assert tab.csp_violations == []


@pytest.fixture
def admin_page(page, django_user_model):
    django_user_model.objects.create_superuser("marketing", "m@example.com", "Vetrina-Test-2026!")
    page.goto("/admin/login/")
    page.fill("#id_username", "marketing")
    page.fill("#id_password", "Vetrina-Test-2026!")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page
