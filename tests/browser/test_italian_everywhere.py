"""Italian everywhere a user looks (issue 25): every admin list, add form and change form, every
custom admin page (dashboard, jobs, pulls, uploads, tokens, provider checks…) and the counter,
crawled in Chromium as Italian users (the default language, no cookie), on the demo data. Any
English UI word left on a page fails the test, naming the page and the line it is on.

What is read is what a person sees: the page's visible text (Chromium's innerText, collapsed
sections opened, the calendar and clock pop-ups shown), its title, and the tooltips,
placeholders, labels for assistive technology and button texts. Code spans (`<code>`, `<pre>`)
hold technical identifiers (a provider's field names, JSON) and are left out; so are the
records' own values, which are the demo's Italian data."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from tests.browser.conftest import _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Words and phrases of an English UI (Django's admin, its widgets and JavaScript, DRF, axes,
# knox, management pages), matched as whole words whatever their case (column headers and the
# sidebar are shown in capitals). Words that are also Italian are not listed: No, Note, Date,
# Zone, State, Code, Password, Email, Link, Lead, Token, Push, Sandbox, Record, Extra.
ENGLISH_UI = (
    # Django's admin: actions, buttons, links, filters, pagination, breadcrumbs, sidebar
    "Select",
    "Select an option",
    "Run",
    "Go",
    "Filter",
    "Filter by",
    "Filters",
    "Choose",
    "Choose all",
    "Remove",
    "Remove all",
    "Add",
    "Change",
    "Delete",
    "Save",
    "Search",
    "Home",
    "You are",
    "None",
    "Yes",
    "Show",
    "Hide",
    "Today",
    "Now",
    "Yesterday",
    "Tomorrow",
    "Midnight",
    "Noon",
    "Clear",
    "Cancel",
    "Close",
    "View",
    "History",
    "Log in",
    "Log out",
    "Logout",
    "Welcome",
    "Username",
    "Action",
    "Actions",
    "Previous",
    "Next",
    "Page",
    "Pagination",
    "Breadcrumbs",
    "Model name",
    "Enabled",
    "Disabled",
    "Error",
    "Errors",
    "Please",
    "Submit",
    "Back",
    "Sort",
    "Toggle",
    "Theme",
    "Recent actions",
    "My actions",
    "Skip",
    "Set password",
    "Reset password",
    "Forgotten",
    "Unknown",
    "Any date",
    "Past 7 days",
    "This month",
    "This year",
    "Forbidden",
    "Not Found",
    "Server Error",
    # Field and model names Django derives from attribute names (third-party models)
    "Access",
    "Attempt",
    "Attempts",
    "Failures",
    "Locked",
    "Created",
    "Updated",
    "User",
    "Users",
    "Expiry",
    "Expires",
    "Auth",
    "Axes",
    "Knox",
    "Name",
    "Time",
    "Type",
    "Status",
    "Value",
    "Message",
    "Detail",
    "Details",
    "Description",
    "Address",
    "City",
    "Customer",
    "Phone",
    "Country",
    "Age",
    "Gender",
    "Total",
    "Active",
    "Path",
    "Format",
    "Ordering",
    "Delivered",
    "Pending",
    "Inserted",
)
# Words of an English sentence, matched as written (and capitalised): "TO" is Torino's province.
ENGLISH_PROSE = (
    "the",
    "and",
    "of",
    "is",
    "are",
    "with",
    "this",
    "by",
    "for",
    "to",
    "you",
    "your",
    "not",
    "has",
    "have",
    "was",
    "will",
    "be",
    "can",
    "must",
    "should",
    "could",
    "would",
    "there",
    "which",
    "when",
    "only",
    "from",
    "selected",
    "them",
    "click",
    "in step",
)
_EDGES = r"(?<![\w/.#@=-])(?:{})(?![\w/.#@=(-])"
ENGLISH = re.compile(
    _EDGES.format("|".join(re.escape(w) for w in sorted(ENGLISH_UI, key=len, reverse=True))),
    re.IGNORECASE,
)
ENGLISH_SENTENCE = re.compile(
    _EDGES.format(
        "|".join(
            re.escape(variant)
            for word in sorted(ENGLISH_PROSE, key=len, reverse=True)
            for variant in (word, word.capitalize())
        )
    )
)

# What Chromium shows: the text, the hidden pop-ups opened, and the attributes people read.
COLLECT = """() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.calendarbox, .clockbox').forEach(e => e.style.display = 'block');
  const extra = [document.title];
  const attrs = ['title', 'placeholder', 'aria-label', 'alt'];
  document.querySelectorAll('*').forEach(e => {
    for (const a of attrs) if (e.getAttribute(a)) extra.push(e.getAttribute(a));
    if (e.matches('input[type=submit], input[type=button], input[type=reset]')) extra.push(e.value);
    if (e.tagName === 'OPTION') extra.push(e.textContent);
  });
  document.querySelectorAll('code, pre, kbd, samp').forEach(e => e.remove());
  return document.body.innerText + '\\n' + extra.join('\\n');
}"""


def english_in(text: str) -> list[str]:
    return sorted(
        {
            line.strip()[:160]
            for line in text.splitlines()
            if ENGLISH.search(line) or ENGLISH_SENTENCE.search(line)
        }
    )


def test_the_word_list_finds_english_and_spares_italian():
    assert english_in("- Select an option -\nRun 0 di 4 selezionati") == [
        "- Select an option -",
        "Run 0 di 4 selezionati",
    ]
    assert english_in("Filter by creato") and english_in("AUTH TOKEN") and english_in("AXES")
    assert english_in("Choose titolari di carta di questi negozi by selecting them")
    assert english_in("Note: Enter times in the Europe/Rome timezone. (You are 1 hour behind.)")
    assert english_in("DELIVERED: 2") and english_in("Shops in step: 7")
    assert english_in("JSON parse error - Expecting value: line 1 column 1 (char 0)")
    italian = (
        "- Seleziona un'opzione -\nEsegui 0 di 4 selezionati\nNote: 2\nDate importanti\n"
        "Codice negozio\nPagina iniziale › Negozi\nconsegnato: 2\nPer codice errore\n"
        "Volantino di dicembre – PV-MI-01\ncard.list\n/fidelity/list\nregisterCampaignFlyer\n"
        "customer_name, tel1\nSono state importate 3 carte (code di lavoro).\nPer provincia\nTO"
    )
    assert english_in(italian) == []


class Crawl:
    def __init__(self, tab):
        self.tab = tab
        self.found: dict[str, list[str]] = {}
        self.seen: list[str] = []

    def read(self, label: str | None = None) -> str:
        self.tab.wait_for_load_state("networkidle")
        text = self.tab.evaluate(COLLECT)
        where = label or self.tab.url.split("//", 1)[-1].split("/", 1)[-1]
        self.seen.append(where)
        if hits := english_in(text):
            self.found["/" + where.lstrip("/")] = hits
        return text

    def visit(self, url: str) -> str:
        response = self.tab.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        return self.read()

    def report(self) -> str:
        return "\n".join(
            f"{page}\n" + "\n".join(f"    {line}" for line in lines)
            for page, lines in self.found.items()
        )


def _log_in(tab, username: str, password: str, login_url: str, landing: str) -> None:
    tab.goto(login_url)
    tab.fill("#id_username", username)
    tab.fill("#id_password", password)
    tab.click("form:has(#id_password) [type=submit]")
    tab.wait_for_url(f"**{landing}")


def _demo_data() -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from messaging.models import InboundCall
    from sandbox.knobs import knob_set

    call_command("demo_data", "--no-password", stdout=io.StringIO())
    knob_set(provider="amm", latency_ms=0)
    AccessAttempt.objects.create(
        username="x", ip_address="127.0.0.1", user_agent="test", failures_since_start=1
    )
    AccessFailureLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="test")
    AccessLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="test")
    InboundCall.objects.create(endpoint="getObject", status_code=200, detail="")


def _admin_urls(user) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{name}_change", args=[first.pk]))
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    urls += [reverse("admin:app_list", args=[label]) for label in labels]
    return urls


def test_the_admin_speaks_italian_on_every_page(browser, live_server, django_user_model):
    from callcenter.models import CallCampaign
    from campaigns.models import Campaign, Shop
    from loyalty.models import Customer

    _demo_data()
    user = django_user_model.objects.create_superuser(
        "italiana", "i@example.com", "Vetrina-Test-2026!"
    )
    # Another time zone than the server's: the admin's date widgets then show their note.
    context = browser.new_context(
        base_url=live_server.url,
        locale="it-IT",
        timezone_id="Europe/London",
        viewport={"width": 1366, "height": 900},
    )
    tab = _open(context)
    crawl = Crawl(tab)

    tab.goto("/admin/login/")
    crawl.read("admin/login/")
    _log_in(tab, "italiana", "Vetrina-Test-2026!", "/admin/login/", "/admin/")

    for url in _admin_urls(user):
        crawl.visit(url)

    shop = Shop.objects.order_by("pk").first()
    campaign = Campaign.objects.exclude(remote_id="").order_by("pk").first() or (
        Campaign.objects.order_by("pk").first()
    )
    call_campaign = CallCampaign.objects.order_by("pk").first()
    customer = Customer.objects.order_by("pk").first()
    for url in (
        f"/admin/campaigns/shop/{shop.pk}/history/",
        f"/admin/campaigns/shop/{shop.pk}/delete/",
        f"/admin/campaigns/campaign/{campaign.pk}/withdraw/",
        f"/admin/loyalty/customer/{customer.pk}/erase/",
        "/admin/loyalty/donotcall/import/",
        f"/admin/callcenter/callcampaign/{call_campaign.pk}/inactive/",
        "/admin/password_change/",
        "/admin/campaigns/shop/?q=nessun-negozio-cosi",
    ):
        crawl.visit(url)

    # A form sent empty: Django's error messages.
    crawl.visit("/admin/campaigns/shop/add/")
    tab.click("input[name=_save]")
    crawl.read("admin/campaigns/shop/add/ (sent empty)")

    # The delete-selected action's confirmation page.
    crawl.visit("/admin/campaigns/shop/")
    tab.check("#action-toggle")
    tab.select_option("select[name=action]", "delete_selected")
    tab.click("button[name=index]")
    crawl.read("admin/campaigns/shop/ (delete selected: confirmation)")

    # Pulls run as jobs: the job page with its report.
    for url in ("/admin/campaigns/shop/pull/", "/admin/loyalty/fidelityprogram/pull/"):
        crawl.visit(url)
        tab.click("#content-main button[name=mode][value=import]")
        tab.wait_for_url("**/admin/core/job/*/change/")
        tab.wait_for_selector("text=/completato|fallito/i")
        crawl.read(f"{url} → job page")

    # A lead file: its preview job page.
    crawl.visit(f"/admin/callcenter/callcampaign/{call_campaign.pk}/import/")
    tab.set_input_files(
        "#id_file",
        files=[
            {
                "name": "lead.csv",
                "mimeType": "text/csv",
                "buffer": b"customer_name,tel1\nAnna,3471234567\nBruno,12\n",
            }
        ],
    )
    tab.click("input[type=submit]")
    tab.wait_for_selector("#import-errors")
    crawl.read("lead import → preview")

    # A provider check, and a new API token shown once.
    crawl.visit("/admin/core/providercheck/")
    tab.click(".provider-volantinopiu button[value=check]")
    crawl.read("admin/core/providercheck/ (after a check)")
    crawl.visit("/admin/core/apitoken/add/")
    tab.select_option("#id_user", index=1)
    tab.click("#content-main button[type=submit]")
    crawl.read("admin/core/apitoken/add/ (token made)")

    # The API's index as a browser shows it (each resource's page is its developer
    # documentation, written in English like the schema's).
    crawl.visit("/api/v1/")

    tab.goto("/admin/")
    tab.locator("#logout-form [type=submit]").click()
    crawl.read("admin/logout/")
    context.close()

    assert len(crawl.seen) > 100
    assert not crawl.found, "English on these pages:\n" + crawl.report()


def test_the_counter_speaks_italian_on_every_page(browser, live_server):
    from loyalty.models import FidelityCard

    _demo_data()
    call_command(
        "createstoremanager",
        "banco.prova",
        "--shop",
        "PV-MI-01",
        "--password",
        "Vetrina-Test-2026!",
        stdout=io.StringIO(),
    )
    context = browser.new_context(
        base_url=live_server.url,
        locale="it-IT",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    tab = _open(context)
    crawl = Crawl(tab)

    crawl.visit("/store/login/?next=/store/")
    _log_in(tab, "banco.prova", "Vetrina-Test-2026!", "/store/login/?next=/store/", "/store/")
    card = FidelityCard.objects.filter(shop__code="PV-MI-01").order_by("pk").first()
    for url in ("/store/", "/store/enrol/", f"/store/cards/{card.pk}/", "/store/flyers/"):
        crawl.visit(url)
    # A form sent empty: the counter's error messages.
    crawl.visit("/store/enrol/")
    tab.locator("main form [type=submit]").first.click()
    crawl.read("store/enrol/ (sent empty)")
    context.close()

    assert len(crawl.seen) >= 6
    assert not crawl.found, "English on these pages:\n" + crawl.report()
