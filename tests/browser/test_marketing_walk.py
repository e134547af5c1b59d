"""Issue 24's walk, in Chromium, as the marketing team does it: build an audience in the admin
(rules, count, first rows), write a push to it scheduled on a day the send window is closed,
estimate and confirm it while "now" is outside the window too → postponed to the next opening,
with the reason on its page; open its results; the "Cronologia" of the audience and of the push
name the marketing user as the author of each step. A screenshot goes to the test artefacts."""

import shutil
from datetime import datetime, time, timedelta
from io import StringIO
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.utils import formats, timezone

from loyalty.models import Audience, FidelityCard
from messaging.models import PushBatch, PushSend, SendStatus
from sandbox.models import SmsMessage
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting, make_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"  # var/ is git-ignored
PASSWORD = "Marketing-Walk-2026!"
# Even last digit: the sandbox's SMSHosting has them on a push app (sandbox/smshosting.py).
MILANO_NUMBERS = ("393480000022", "393480000024", "393480000026", "393470000028")


@pytest.fixture
def closed_today_and_tomorrow(settings):
    """Every day open 9–20, but today and tomorrow (the chain's clock) are holidays: whatever
    the hour the test runs at, "now" and a push for tomorrow are outside the window, and the
    next opening is the day after tomorrow at 9:00."""
    today = timezone.localdate()
    settings.SEND_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    settings.SEND_WINDOW_START = "09:00"
    settings.SEND_WINDOW_END = "20:00"
    settings.SEND_WINDOW_HOLIDAYS = [
        (today + timedelta(days=n)).isoformat()
        for n in (-1, 0, 1)  # -1: a run past midnight
    ]
    return today


@pytest.fixture
def customers():
    """Milano: four card holders with 150+ points, three of them with push consent (not
    3470000028), and one with 20 points; Roma: a card holder with 500 points. The audience
    "Milano, at least 100 points, active card" is the first four: 4 in it, 3 with consent."""
    milano, roma = make_shop(code="PV-MI-W"), make_shop(code="PV-RM-W", city="Roma")
    consenting(*MILANO_NUMBERS[:3], "393480000030", "393480000032")
    for n, number in enumerate(MILANO_NUMBERS):
        card = make_card(shop=milano, msisdn="+" + number)
        FidelityCard.objects.filter(pk=card.pk).update(points=150 + 10 * n)
    low = make_card(shop=milano, msisdn="+393480000030")
    FidelityCard.objects.filter(pk=low.pk).update(points=20)
    rome = make_card(shop=roma, msisdn="+393480000032")
    FidelityCard.objects.filter(pk=rome.pk).update(points=500)
    return {"milano": milano, "roma": roma}


@pytest.fixture
def marketing_page(page):
    call_command(
        "createuser", "anna", "--role", "marketing", "--password", PASSWORD, stdout=StringIO()
    )
    page.goto("/admin/login/")
    page.fill("#id_username", "anna")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def _text(page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


def _history_authors(page) -> list[tuple[str, str]]:
    """(author, what) of each line of the open "Cronologia" page."""
    page.wait_for_selector("#audit-history")
    return [
        (
            row.locator(".audit-author").inner_text().strip(),
            row.locator(".audit-what").inner_text().strip(),
        )
        for row in page.locator("#audit-history tr.audit-entry").all()
    ]


def test_marketing_builds_an_audience_sends_a_postponed_push_and_sees_who_did_each_step(
    marketing_page, customers, closed_today_and_tomorrow, tmp_path
):
    page = marketing_page
    today = closed_today_and_tomorrow

    # 1. The audience: Pubblici → Aggiungi, some rules, save and see its count and first rows.
    page.get_by_role("link", name="Pubblici", exact=True).first.click()
    page.wait_for_url("**/admin/loyalty/audience/")
    assert page.locator("#content h1").inner_text().lower().startswith("scegli pubblico")
    page.click(".object-tools a.addlink")
    page.wait_for_url("**/admin/loyalty/audience/add/")
    page.fill("#id_name", "Milano con almeno 100 punti")
    page.select_option("#id_shops", label="PV-MI-W – Milano")
    page.fill("#id_points_min", "100")
    page.select_option("#id_card_active", "true")
    page.click("input[name=_continue]")
    page.wait_for_selector(".audience-count")
    audience = Audience.objects.get()
    assert audience.rules == {
        "shops": [customers["milano"].pk],
        "points_min": 100,
        "card_active": True,
    }
    assert audience.created_by.username == "anna"
    assert _text(page, ".audience-count").startswith("4 clienti nel pubblico")
    rows = page.locator("table.audience-preview tbody tr")
    assert rows.count() == 4
    shown = [" ".join(rows.nth(i).inner_text().split()) for i in range(4)]
    assert all("PV-MI-W" in row for row in shown)
    assert [row.split()[-1] for row in shown] == ["150", "160", "170", "180"]
    assert any("…022" in row for row in shown)
    assert "3480000022" not in page.content()  # the numbers masked

    # 2. The push to it, scheduled for tomorrow noon (a closed day): save, then estimate.
    tomorrow_noon = datetime.combine(
        today + timedelta(days=1), time(12, 0), tzinfo=timezone.get_default_timezone()
    )
    page.goto("/admin/messaging/pushsend/add/")
    page.fill("#id_name", "Promo Milano")
    page.select_option("#id_audience", label="Milano con almeno 100 punti")
    page.fill("#id_text", "Doppi punti nel weekend!")
    page.fill("#id_send_at_0", tomorrow_noon.strftime("%d/%m/%Y"))
    page.fill("#id_send_at_1", "12:00:00")
    page.click("input[name=_continue]")
    page.click("input[value='Calcola il preventivo']")
    page.wait_for_selector("#push-estimate")
    send = PushSend.objects.get()
    assert send.audience == audience and send.status == SendStatus.ESTIMATED
    assert send.send_at == tomorrow_noon
    reach = _text(page, "#push-audience-reach")
    assert "4 nel pubblico, 3 con consenso push/SMS" in reach
    assert "Fuori dalla finestra di invio" in _text(page, "#push-window")

    # 3. Confirmed while "now" is outside the window too: postponed to the next opening.
    page.click("input[value='Conferma e invia']")
    page.wait_for_selector("#send-summary")
    next_opening = datetime.combine(
        today + timedelta(days=2), time(9, 0), tzinfo=timezone.get_default_timezone()
    )
    send.refresh_from_db()
    assert send.status == SendStatus.SENT, send.error
    assert send.send_at == next_opening
    assert send.window_override_reason == "" and send.window_override_by is None
    assert "Confermato e rinviato" in _text(page, "ul.messagelist")
    reason = _text(page, "#push-window")
    assert reason == send.window_reason
    assert "Fuori dalla finestra di invio" in reason and "festivo" in reason
    assert formats.date_format(next_opening, "DATETIME_FORMAT") in reason
    assert "4 nel pubblico, 3 con consenso push/SMS" in _text(page, "#push-audience-reach")
    # SMSHosting got the three numbers with consent and the date of the next opening.
    [batch] = PushBatch.objects.filter(send=send)
    assert sorted(batch.recipients) == sorted(MILANO_NUMBERS[:3])
    messages = SmsMessage.objects.all()
    assert sorted(m.to for m in messages) == sorted(MILANO_NUMBERS[:3])
    assert {m.send_date for m in messages} == {next_opening}

    # 4. Its results page.
    page.click("#send-results")
    page.wait_for_url(f"**/admin/messaging/pushsend/{send.pk}/results/")
    assert "Promo Milano" in page.locator("#content").inner_text()
    assert page.locator("svg.vc-chart").count() >= 1
    totals = {
        key: page.locator(f"#total-{key} .vr-value").inner_text()
        for key in ("recipients", "delivered", "failed", "pending")
    }
    # Scheduled for the next opening: on their way, none delivered or failed yet.
    assert totals == {"recipients": "3", "delivered": "0", "failed": "0", "pending": "3"}
    assert "PV-MI-W" in page.locator("#results-per-shop").inner_text()
    shot = tmp_path / "marketing_walk.png"
    page.screenshot(path=str(shot), full_page=True)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTEFACTS / "marketing_walk.png")
    assert shot.stat().st_size > 10_000

    # 5. The "Cronologia" of the push and of the audience: anna wrote each step.
    page.goto(f"/admin/messaging/pushsend/{send.pk}/change/")
    page.click("a.historylink")
    page.wait_for_url(f"**/admin/messaging/pushsend/{send.pk}/history/")
    push_steps = _history_authors(page)
    assert {what for _author, what in push_steps} >= {"creato", "modificato", "inviato"}
    assert {author for author, _what in push_steps} == {"anna"}, push_steps

    page.goto(f"/admin/loyalty/audience/{audience.pk}/change/")
    page.click("a.historylink")
    page.wait_for_url(f"**/admin/loyalty/audience/{audience.pk}/history/")
    assert _history_authors(page) == [("anna", "creato")]
    # The trail itself agrees: every entry of the walk is anna's, none the system's.
    entries = LogEntry.objects.get_for_objects(PushSend.objects.all()) | (
        LogEntry.objects.get_for_objects(Audience.objects.all())
    )
    assert {entry.actor.username for entry in entries} == {"anna"}
