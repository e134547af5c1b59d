"""The product as people use it, in headless Chromium: admin, push wizard, lead import, and the
counter on a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Shop
from core.models import SyncStatus
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting, pulled_program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_see_the_dashboard(admin_page):
    assert admin_page.locator("#vetrina-dashboard").is_visible()
    assert "Sincronizzazione con i fornitori" in admin_page.content()


def test_a_shop_created_in_the_admin_turns_synced(admin_page):
    admin_page.goto("/admin/campaigns/shop/add/")
    admin_page.fill("#id_code", "PV-UI-01")
    admin_page.fill("#id_address", "Via Dante 1")
    admin_page.fill("#id_postal_code", "20121")
    admin_page.fill("#id_city", "Milano")
    admin_page.fill("#id_province", "MI")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url("**/admin/campaigns/shop/")
    row = admin_page.locator("tr", has_text="PV-UI-01")
    assert row.locator(".sync-badge").inner_text() == "sincronizzato"
    assert Shop.objects.get(code="PV-UI-01").sync_status == SyncStatus.SYNCED


def test_a_flyer_campaign_created_in_the_admin(admin_page):
    make_shop(code="PV-UI-02", city="Roma")
    when = timezone.localtime(timezone.now() + timedelta(days=3))
    admin_page.goto("/admin/campaigns/campaign/add/")
    admin_page.select_option("#id_kind", "flyer")
    admin_page.locator("#id_shop + .select2 .select2-selection").click()
    admin_page.fill(".select2-search__field", "PV-UI-02")
    admin_page.click(".select2-results__option >> text=PV-UI-02")
    admin_page.fill("#id_image_url", "https://cdn.example.com/volantino.jpg")
    admin_page.fill("#id_flyer_link", "https://example.com/volantino.pdf")
    admin_page.fill("#id_date_send_0", when.strftime("%d/%m/%Y"))
    admin_page.fill("#id_date_send_1", when.strftime("%H:%M:%S"))
    admin_page.fill("#id_promo_name", "Volantino UI")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url("**/admin/campaigns/campaign/")
    assert Campaign.objects.get().sync_status == SyncStatus.SYNCED
    assert "Volantino UI" in admin_page.content()


def test_the_push_wizard_goes_from_draft_to_sent(admin_page):
    consenting("393480000002", "393480000004")
    admin_page.goto("/admin/messaging/pushsend/add/")
    admin_page.fill("#id_name", "Promo UI")
    admin_page.fill("#id_recipients", "3480000002\n3480000004")
    admin_page.fill("#id_text", "Sconti nel weekend!")
    admin_page.click("input[name=_continue]")
    admin_page.click("input[value='Calcola il preventivo']")
    admin_page.wait_for_selector("#push-estimate")
    admin_page.click("input[value='Conferma e invia']")
    admin_page.wait_for_selector("#delivery-rate")
    assert "Confermato" in admin_page.content()


def test_a_lead_csv_with_a_bad_row_shows_its_error(admin_page, tmp_path):
    from callcenter.models import CallCampaign, CallRecord

    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
    csv = tmp_path / "leads.csv"
    csv.write_text("customer_name,tel1\nAnna,3471234567\nBruno,12\n")
    admin_page.goto(f"/admin/callcenter/callcampaign/{campaign.pk}/import/")
    admin_page.set_input_files("#id_file", str(csv))
    admin_page.click("input[type=submit]")
    errors = admin_page.locator("#import-errors")
    assert "3" in errors.locator("td").first.inner_text()
    assert "non è un numero di telefono valido" in errors.inner_text()
    admin_page.click("text=Importa le righe valide")
    admin_page.wait_for_url("**/admin/core/job/**")
    admin_page.wait_for_function(
        "document.getElementById('job-result').textContent.includes('1 lead aggiunti')"
    )
    assert list(CallRecord.objects.values_list("tel1", flat=True)) == ["393471234567"]


def test_enrol_and_load_points_at_the_counter_on_a_phone(phone):
    from io import StringIO

    from django.core.management import call_command

    make_shop(code="PV-PHONE")
    program = pulled_program()
    call_command(
        "createstoremanager",
        "banco",
        "--shop",
        "PV-PHONE",
        "--password",
        "Banco-Test-2026!",
        stdout=StringIO(),
    )

    phone.goto("/store/")
    phone.fill("#id_username", "banco")
    phone.fill("#id_password", "Banco-Test-2026!")
    phone.click("main button[type=submit]")  # the header's button switches language
    phone.click("text=Registra un nuovo cliente")
    phone.select_option("#id_program", str(program.pk))
    phone.fill("#id_msisdn", "347 123 9999")
    phone.fill("#id_name", "Irene")
    phone.check("#id_consent_push_sms")
    phone.click("button:has-text('Crea la carta')")
    assert phone.locator(".balance").inner_text().startswith("0")
    phone.fill("#id_amount", "27.50")
    phone.click("button:has-text('Carica punti')")
    assert "5 punti caricati." in phone.content()
    assert phone.locator(".balance").inner_text().startswith("5")
    # Everything fits the phone's width: nothing to scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_flyer_asked_at_the_counter_is_approved_in_the_admin(browser, live_server, tmp_path):
    """Two people: a store manager on a phone asks, marketing approves; the flyer is synced."""
    from io import StringIO

    from django.core.management import call_command

    from store.models import FlyerRequest
    from tests.campaigns.images import image_bytes

    make_shop(code="PV-FLYER")
    for command in (
        ("createstoremanager", "banco", "--shop", "PV-FLYER"),
        ("createuser", "anna", "--role", "marketing"),
    ):
        call_command(*command, "--password", "Vetrina-Test-2026!", stdout=StringIO())
    picture = tmp_path / "natale.png"
    picture.write_bytes(image_bytes("PNG"))

    shop_side = browser.new_context(base_url=live_server.url, locale="it-IT", is_mobile=True)
    counter = shop_side.new_page()
    counter.goto("/store/")
    counter.fill("#id_username", "banco")
    counter.fill("#id_password", "Vetrina-Test-2026!")
    counter.click("main button[type=submit]")
    counter.click("text=Chiedi una campagna volantino")
    counter.fill("#id_promo_name", "Natale al PV-FLYER")
    when = timezone.localtime() + timedelta(days=4)
    counter.fill("#id_date_send", when.strftime("%Y-%m-%dT%H:%M"))
    counter.set_input_files("#id_image", str(picture))
    counter.fill("#id_flyer_link", "https://example.com/natale.pdf")
    counter.click("button:has-text('Invia la richiesta')")
    assert "Richiesta inviata" in counter.locator("ul.messages").inner_text()
    assert "in attesa del marketing" in counter.content()

    office = browser.new_context(base_url=live_server.url, locale="it-IT").new_page()
    office.goto("/admin/login/")
    office.fill("#id_username", "anna")
    office.fill("#id_password", "Vetrina-Test-2026!")
    office.click("input[type=submit]")
    office.goto(f"/admin/store/flyerrequest/{FlyerRequest.objects.get().pk}/change/")
    office.click("input[name=_approve]")
    assert "Approvata" in office.locator("ul.messagelist").inner_text()

    def synced():
        request = FlyerRequest.objects.select_related("campaign").get()
        return request.campaign and request.campaign.sync_status == SyncStatus.SYNCED

    for _ in range(50):
        if synced():
            break
        office.wait_for_timeout(200)
    assert synced()
    counter.reload()
    assert "approvata" in counter.content()
    shop_side.close()
    office.context.close()


def test_the_api_documentation_page_loads_under_the_security_policy(admin_page):
    admin_page.goto("/api/schema/ui/")
    admin_page.wait_for_selector("text=API di Vetrina")
    assert admin_page.locator(".opblock").count() > 10
