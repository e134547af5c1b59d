"""The call-center admin through real requests: import with preview, uploads and decisions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from callcenter.models import CallCampaign, CallRecord, CallUpload
from sandbox.models import WolkvoxRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")


def test_a_lead_file_is_previewed_then_imported_without_its_bad_rows(
    admin_client, campaign, deliver
):
    url = reverse("admin:callcenter_import", args=[campaign.pk])
    csv = b"customer_name,tel1,email\nAnna,3471234567,anna@example.com\nBruno,12,\n"
    with deliver():  # the preview is a job: a worker reads the file, its page shows the result
        response = admin_client.post(url, {"file": SimpleUploadedFile("leads.csv", csv)})
    assert response.status_code == 302 and "/admin/core/job/" in response["Location"]
    preview = admin_client.get(response["Location"]).content.decode()
    assert (
        "1 nuovi lead" in preview
        and 'id="import-errors"' in preview
        and "non è un numero di telefono valido" in preview
    )
    assert not CallRecord.objects.exists()  # a preview saves nothing

    token = preview.split('name="token" value="')[1].split('"')[0]
    with deliver():
        response = admin_client.post(url, {"token": token})
    job_page = admin_client.get(response["Location"]).content.decode()
    assert "1 lead aggiunti, 0 uniti, 1 righe escluse." in job_page and "riga 3" in job_page
    assert list(CallRecord.objects.values_list("tel1", flat=True)) == ["393471234567"]


def test_a_file_of_the_wrong_kind_is_refused(admin_client, campaign):
    url = reverse("admin:callcenter_import", args=[campaign.pk])
    page = admin_client.post(
        url, {"file": SimpleUploadedFile("leads.pdf", b"%PDF")}
    ).content.decode()
    assert "Carica un file .csv o .xlsx." in page


def test_upload_from_the_admin_shows_live_progress(admin_client, deliver, campaign):
    CallRecord.objects.create(campaign=campaign, source="import", tel1="393471234567")
    with deliver():
        response = admin_client.post(
            reverse("admin:callcenter_callcampaign_changelist"),
            {"action": "upload_leads", "_selected_action": [campaign.pk]},
        )
    upload = CallUpload.objects.get()
    assert response["Location"] == reverse("admin:callcenter_callupload_change", args=[upload.pk])
    page = admin_client.get(response["Location"]).content.decode()
    assert 'id="upload-bar"' in page and "live_progress.js" in page
    progress = admin_client.get(
        reverse("admin:callcenter_callupload_progress", args=[upload.pk])
    ).json()
    assert (progress["finished"], progress["records_confirmed"], progress["percent"]) == (
        True,
        1,
        100,
    )
    assert WolkvoxRecord.objects.count() == 1


def test_a_decision_on_a_lost_chunk_from_the_admin(admin_client, deliver, campaign, knobs):
    CallRecord.objects.create(campaign=campaign, source="import", tel1="393471234567")
    knobs("wolkvox", malformed_json=True)
    with deliver():
        admin_client.post(
            reverse("admin:callcenter_callcampaign_changelist"),
            {"action": "upload_leads", "_selected_action": [campaign.pk]},
        )
    upload = CallUpload.objects.get()
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from core.outbox import outbox_sweep

    knobs("wolkvox", malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    page = admin_client.get(
        reverse("admin:callcenter_callupload_change", args=[upload.pk])
    ).content.decode()
    assert "Sono arrivati: contali come consegnati" in page
    chunk = upload.chunks.get()
    admin_client.post(
        reverse("admin:callcenter_callupload_decide", args=[upload.pk]),
        {"chunk": [chunk.pk], "decision": "delivered"},
    )
    upload.refresh_from_db()
    assert (upload.status, upload.records_confirmed) == ("done", 1)
    assert WolkvoxRecord.objects.count() == 1
