"""A job's page followed live in headless Chromium: the preview of a lead file appears, with
**Importa**, as soon as the worker finishes it — the page shown while it was queued reloads."""

import pytest

from core.jobs import job_run
from core.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_preview_page_shows_the_preview_when_its_job_ends(admin_page, monkeypatch):
    from callcenter.models import CallCampaign
    from core.tasks import job_run_task

    monkeypatch.setattr(job_run_task, "delay", lambda *args, **kwargs: None)  # no worker yet
    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
    admin_page.goto(f"/admin/callcenter/callcampaign/{campaign.pk}/import/")
    admin_page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "leads.csv",
                "mimeType": "text/csv",
                "buffer": b"customer_name,tel1\nAnna,3471234567\nBruno,12\n",
            }
        ],
    )
    admin_page.click("input[type=submit]")
    admin_page.wait_for_url("**/admin/core/job/**")
    assert admin_page.locator("#import-preview").count() == 0  # queued: nothing to show yet

    job_run(job_id=Job.objects.get(kind="lead_preview").pk)  # a worker runs it
    admin_page.wait_for_selector("#import-preview")
    assert "1 nuovi lead" in admin_page.locator("#import-preview").inner_text()
    assert "non è un numero di telefono valido" in admin_page.locator("#import-errors").inner_text()
    assert admin_page.locator("#import-confirm input[type=submit]").is_visible()
