"""Italian everywhere a user looks (issue 25), the parts a browser is not needed for: Django's
and the third-party apps' messages their catalogues lack, supplied by ours (the admin's
JavaScript ones through the djangojs catalogue), permissions, axes and knox named in Italian,
statuses shown by their labels, DRF's parse errors, the pull report and the commands' output,
the API schema's title and the error pages. The crawl of every page is
tests/browser/test_italian_everywhere.py."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from core.pull import DriftLine, DriftReport
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def italian():
    with translation.override("it"):
        yield


def test_every_message_our_catalogue_supplies_reads_in_italian():
    """LOCALE_PATHS come after Django's and the packages' own catalogues, so that our entry is
    the one gettext finds for a message those leave untranslated or lack."""
    from core import upstream_messages

    english = [message for message in upstream_messages.MESSAGES if gettext(message) == message]
    assert english == []
    assert ngettext("…and %(count)d more object.", "…and %(count)d more objects.", 2) == (
        "…e altri %(count)d oggetti."
    )


def test_djangos_own_untranslated_strings_come_out_in_italian():
    from django.db.models.fields import BLANK_CHOICE_LABEL

    assert str(BLANK_CHOICE_LABEL) == "- Seleziona un'opzione -"
    assert gettext("Run") == "Esegui"
    assert gettext("Filter by %(field_name)s") % {"field_name": "creato"} == "Filtra per creato"


def test_the_admin_action_bar_and_date_filter_are_italian(admin_client):
    make_shop()
    page = admin_client.get("/admin/core/outboxentry/").content.decode()
    assert "- Seleziona un&#x27;opzione -" in page and ">Esegui</button>" in page
    assert "Filtra per creato" in page
    assert "Select an option" not in page and ">Run<" not in page and "Filter by" not in page


def test_the_admins_javascript_catalogue_carries_our_translations(admin_client):
    """The pickers of filter_horizontal and the calendar's texts come from the jsi18n view,
    which merges locale/it/LC_MESSAGES/djangojs.po over the admin's own catalogue."""
    script = admin_client.get(reverse("admin:jsi18n")).content.decode()
    catalog = json.loads(script.split("const newcatalog = ", 1)[1].split(";\n", 1)[0])
    assert catalog["Choose all %s"] == "Scegli tutti i %s"
    assert catalog["Remove all %s"] == "Rimuovi tutti i %s"
    assert catalog["Today (%(date)s)"] == "Oggi (%(date)s)"
    assert catalog[
        "Note: Enter times in the %(timezone)s timezone. (You are %(offset)s hour behind.)"
    ] == [
        "Nota: inserisci gli orari nel fuso orario %(timezone)s. (Sei indietro di %(offset)s ora.)",
        "Nota: inserisci gli orari nel fuso orario %(timezone)s. (Sei indietro di %(offset)s ore.)",
    ]
    assert catalog["Midnight"] == "Mezzanotte"  # the admin's own catalogue is still there


def test_axes_and_knox_have_italian_names(admin_client):
    from axes.models import AccessAttempt
    from django.apps import apps

    assert str(apps.get_app_config("axes").verbose_name) == "Protezione degli accessi"
    assert str(apps.get_app_config("knox").verbose_name) == "Archivio dei token API"
    attempt = AccessAttempt.objects.create(
        username="mario", ip_address="10.0.0.1", user_agent="x", failures_since_start=1
    )
    assert str(attempt).startswith("Tentativi di accesso di mario da 10.0.0.1, ")
    page = admin_client.get("/admin/").content.decode()
    assert "Protezione degli accessi" in page and "Tentativi di accesso" in page
    assert "Axes" not in page and "Access attempts" not in page
    listing = admin_client.get("/admin/axes/accessattempt/").content.decode()
    assert "Attempted Access" not in listing and ">Status<" not in listing


def test_permissions_are_named_in_italian(admin_client):
    page = admin_client.get("/admin/auth/group/add/").content.decode()
    assert "Campagne (VolantinoPiù) | negozio | Può aggiungere: negozio" in page
    assert "Banco negozio | richiesta di volantino | Può approvare o rifiutare" in page
    assert "Can add" not in page and "Can view" not in page and "Knox" not in page


def test_api_tokens_list_names_knoxs_columns(admin_client):
    page = admin_client.get("/admin/core/apitoken/").content.decode()
    assert "Per creato" in page or "Per data di creazione" in page
    assert "Per created" not in page and ">Expiry<" not in page


def test_form_labels_are_capitalised_as_django_does(admin_client):
    page = admin_client.get("/admin/messaging/pushsend/add/").content.decode()
    assert ">Numeri:</label>" in page and ">Gruppi della rubrica:</label>" in page
    assert ">numeri:" not in page


def test_a_sent_push_shows_its_statuses_by_their_italian_labels(admin_client, deliver):
    from messaging.services import push_send_confirm, push_send_create, push_send_estimate

    consenting("393480000002", "393480000004")
    send = push_send_create(name="x", text="y", recipients=["3480000002", "3480000004"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    page = admin_client.get(reverse("admin:messaging_pushsend_change", args=[send.pk]))
    statuses = page.content.decode().split('id="send-statuses">', 1)[1].split("</p>", 1)[0]
    assert statuses == "accettato da SMSHosting: 2"
    counts = admin_client.get(reverse("admin:messaging_pushsend_counts", args=[send.pk])).json()
    assert counts["statuses"] == [["accettato da SMSHosting", 2]]
    assert counts["by_status"] == {"INSERTED": 2}  # the codes stay for scripts
    messages = admin_client.get("/admin/messaging/pushmessage/").content.decode()
    assert "accettato da SMSHosting" in messages and ">INSERTED<" not in messages


def test_drfs_json_parse_error_is_said_in_italian(api):
    response = api.post("/api/v1/shops/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": "Il corpo della richiesta non è JSON valido (riga 1, colonna 2).",
        }
    }


def test_the_pull_report_names_records_in_italian():
    report = DriftReport(provider="VolantinoPiù", dry_run=False)
    report.in_step.update({"shop": 7, "media": 2})
    report.imported["campaign"] = 1
    report.add("only_remote", DriftLine("shop", "PV-XX-01", remote_id="9"))
    report.in_step["messaggi aggiornati"] = 3  # a label already (messaging's pull)
    lines = report.as_text().splitlines()
    assert "  Negozi allineati: 7" in lines and "  Immagini allineate: 2" in lines
    assert "  Messaggi aggiornati: 3" in lines
    assert "  - negozio PV-XX-01 (id 9)" in lines
    assert "Campagne importate: 1" in lines
    dry = DriftReport(provider="AMM", dry_run=True, imported={"card": 4})
    assert "Carte fedeltà da importare: 4" in dry.as_text()


def test_the_pull_command_speaks_italian(deliver):
    with deliver():
        make_shop()
    out = StringIO()
    call_command("pull", "volantinopiu", "--dry-run", "--no-progress", stdout=out)
    assert "Negozi allineati: 1" in out.getvalue()
    assert "shop allineati" not in out.getvalue()


def test_createuser_speaks_italian():
    out = StringIO()
    call_command("createuser", "gestionale", "--role", "api", stdout=out)
    text = out.getvalue()
    assert text.startswith("Utente gestionale creato: script API")
    assert "Password (mostrata solo ora): " in text and "Token API: vtr_" in text


def test_the_api_schema_has_an_italian_title_and_description(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["info"]["title"] == "API di Vetrina"
    assert schema["info"]["description"].startswith("Negozi, campagne, fidelity")
    error = schema["components"]["schemas"]["Error"]
    assert error["description"].startswith("Ogni errore dell'API")


def test_the_error_pages_are_italian(client):
    page = client.get("/nessuna-pagina-cosi/")
    assert page.status_code == 404
    assert "Pagina non trovata" in page.content.decode()
    assert "Not Found" not in page.content.decode()


@pytest.mark.parametrize("code", [400, 403, 404, 500])
def test_each_error_page_says_what_happened_in_italian(code):
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("it"):
        page = render_to_string(f"{code}.html")

    assert f"({code}) · Vetrina" in page and "Torna" in page
    heading = page[page.index("<h1>") + 4 : page.index("</h1>")]
    assert heading.strip() and heading in page[page.index("<title>") : page.index("</title>")]
