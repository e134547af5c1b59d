"""The four pages followed live by core/static/core/live_progress.js, in headless Chromium: a
call-center upload, a chain-wide campaign, a push send and a job. What the database says while
the page is open reaches it without a reload; a page that needs the server for its final form
is loaded again when it ends."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from callcenter.models import CallCampaign, CallUpload, UploadStatus
from campaigns.models import Campaign, CampaignBatch
from core.models import Job, JobStatus, SyncStatus
from messaging.models import PushMessage, message_status_label
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _text(page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


def _wait_for_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).textContent"
        ".replace(/\\s+/g, ' ').includes(text)",
        arg=[selector, text],
    )


def test_an_upload_page_follows_the_chunks_then_shows_the_final_table(admin_page):
    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
    upload = CallUpload.objects.create(campaign=campaign, chunks_total=2, records_total=20)
    admin_page.goto(f"/admin/callcenter/callupload/{upload.pk}/change/")
    assert admin_page.locator("#upload-bar").get_attribute("aria-valuenow") == "0"

    CallUpload.objects.filter(pk=upload.pk).update(
        chunks_done=1, records_sent=10, records_confirmed=9
    )
    _wait_for_text(admin_page, "#upload-summary", "blocchi 1 su 2")
    assert "lead inviati 10 su 20, confermati da Wolkvox 9." in _text(admin_page, "#upload-summary")
    assert admin_page.locator("#upload-bar").get_attribute("aria-valuenow") == "50"
    assert admin_page.locator("#upload-bar-fill").get_attribute("style").count("width: 50%") == 1

    CallUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.DONE, chunks_done=2, records_sent=20, records_confirmed=20
    )
    # Finished: loaded again, so the server renders the final page (and nothing polls any more).
    admin_page.wait_for_selector('.vetrina-upload[data-finished="1"]')
    assert admin_page.locator("#upload-bar").get_attribute("aria-valuenow") == "100"


def test_a_chain_wide_campaign_page_follows_each_shop(admin_page):
    shops = [make_shop(code=f"PV-LIVE-{n}") for n in range(2)]
    batch = CampaignBatch.objects.create(
        kind="flyer", promo_name="Volantino catena", date_send=timezone.now() + timedelta(days=3)
    )
    campaigns = [
        Campaign.objects.create(
            batch=batch,
            shop=shop,
            kind="flyer",
            promo_name="Volantino catena",
            date_send=batch.date_send,
            image_url="https://cdn.example.com/v.jpg",
            flyer_link="https://example.com/v.pdf",
            sync_status=SyncStatus.PENDING,
        )
        for shop in shops
    ]
    admin_page.goto(f"/admin/campaigns/campaignbatch/{batch.pk}/change/")
    first = admin_page.locator(f'#batch-rows tr[data-id="{campaigns[0].pk}"]')
    assert first.locator(".sync-badge").get_attribute("class") == "sync-badge sync-pending"

    Campaign.objects.filter(pk=campaigns[0].pk).update(sync_status=SyncStatus.SYNCED)
    Campaign.objects.filter(pk=campaigns[1].pk).update(
        sync_status=SyncStatus.FAILED, sync_error="Negozio sconosciuto"
    )
    _wait_for_text(admin_page, "#batch-summary", "Completato.")
    assert _text(admin_page, "#batch-summary").startswith(
        "2 negozi su 2 completati: 1 registrati, 1 falliti, 0 in attesa."
    )
    assert first.locator(".sync-badge").get_attribute("class") == "sync-badge sync-synced"
    assert first.locator(".sync-badge").inner_text() == "sincronizzato"
    assert "rgb(27, 127, 59)" in first.locator(".sync-badge").evaluate(
        "badge => getComputedStyle(badge).backgroundColor"
    )
    second = admin_page.locator(f'#batch-rows tr[data-id="{campaigns[1].pk}"]')
    assert second.locator(".error").inner_text() == "Negozio sconosciuto"
    assert "rgb(176, 0, 32)" in second.locator(".sync-badge").evaluate(
        "badge => getComputedStyle(badge).backgroundColor"
    )


def test_a_push_send_page_follows_its_deliveries(admin_page):
    consenting("393480000002", "393480000004")
    send = push_send_create(name="Promo", text="Sconti!", recipients=["3480000002", "3480000004"])
    push_send_estimate(send=send)
    push_send_confirm(send=send)
    admin_page.goto(f"/admin/messaging/pushsend/{send.pk}/change/")
    assert "Consegnati: 0 su 2" in _text(admin_page, "#send-summary")

    PushMessage.objects.filter(send=send).update(status="DELIVERED")
    with translation.override("it"):
        delivered = message_status_label("DELIVERED")
    _wait_for_text(admin_page, "#send-statuses", f"{delivered}: 2")
    assert "Consegnati: 2 su 2 (100% dei raggiunti)." in _text(admin_page, "#send-summary")
    assert admin_page.locator("#delivery-rate").get_attribute("aria-valuenow") == "100"


def test_a_job_page_follows_the_steps_then_shows_the_result(admin_page):
    job = Job.objects.create(kind="pull", label="Confronto", params={"provider": "amm"})
    admin_page.goto(f"/admin/core/job/{job.pk}/change/")
    assert admin_page.locator("#job-status [data-progress-if]").is_hidden()  # no count yet

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, step="lettura delle carte", done=3, total=4
    )
    _wait_for_text(admin_page, "#job-status", "lettura delle carte 3/4")
    assert admin_page.locator("#job-bar").get_attribute("aria-valuenow") == "75"
    assert admin_page.locator("#job-status strong").is_visible()

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, done=4, result="Tutto allineato.", finished_at=timezone.now()
    )
    admin_page.wait_for_selector('.vetrina-job[data-finished="1"]')  # loaded again
    assert admin_page.locator("#job-result").inner_text() == "Tutto allineato."
