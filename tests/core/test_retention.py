"""Retention: beat forgets the call log, the log of Aisac's inbound calls and finished jobs
after LOG_RETENTION_DAYS, and previewed lead files after 24 hours."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from callcenter.models import CallCampaign
from callcenter.previews import IMPORT_DIR
from core.models import Job, JobStatus, RemoteCall
from core.tasks import retention_purge_task
from messaging.models import InboundCall

pytestmark = pytest.mark.django_db


def remote_call(age: timedelta) -> RemoteCall:
    return RemoteCall.objects.create(
        provider="amm",
        operation="getCard",
        method="GET",
        path="/cards",
        status_code=200,
        duration_ms=5,
        ok=True,
        created_at=timezone.now() - age,
    )


def inbound_call(age: timedelta) -> InboundCall:
    call = InboundCall.objects.create(endpoint="getObject", user_key="…501", status_code=200)
    InboundCall.objects.filter(pk=call.pk).update(at=timezone.now() - age)
    return call


def job(status: str, finished_age: timedelta | None) -> Job:
    return Job.objects.create(
        kind="pull",
        label="pull amm",
        status=status,
        finished_at=None if finished_age is None else timezone.now() - finished_age,
    )


def run_beat_purge():
    """What beat's `retention-purge` entry runs, through Celery as the worker would."""
    assert settings.CELERY_BEAT_SCHEDULE["retention-purge"]["task"] == retention_purge_task.name
    return retention_purge_task.apply().get()


def test_given_the_defaults_when_reading_the_retention_then_90_days_and_an_hourly_beat_entry():
    assert settings.LOG_RETENTION_DAYS == 90
    assert settings.CELERY_BEAT_SCHEDULE["retention-purge"]["schedule"] <= 3600


def test_given_logs_and_jobs_older_than_the_retention_when_beat_purges_then_only_they_go():
    old, recent = timedelta(days=91), timedelta(days=89)
    kept_calls = [remote_call(recent).pk]
    remote_call(old)
    kept_inbound = [inbound_call(recent).pk]
    inbound_call(old)
    kept_jobs = [
        job(JobStatus.DONE, recent).pk,
        job(JobStatus.FAILED, recent).pk,
        job(JobStatus.RUNNING, None).pk,  # not finished: never purged
        job(JobStatus.QUEUED, None).pk,
    ]
    job(JobStatus.DONE, old)
    job(JobStatus.FAILED, old)

    report = run_beat_purge()

    assert report["remote_calls"] == 1 and report["inbound_calls"] == 1 and report["jobs"] == 2
    assert list(RemoteCall.objects.values_list("pk", flat=True)) == kept_calls
    assert list(InboundCall.objects.values_list("pk", flat=True)) == kept_inbound
    assert sorted(Job.objects.values_list("pk", flat=True)) == sorted(kept_jobs)


def test_given_log_retention_days_set_when_beat_purges_then_that_many_days_are_kept(settings):
    settings.LOG_RETENTION_DAYS = 7
    kept = remote_call(timedelta(days=6))
    remote_call(timedelta(days=8))
    inbound_call(timedelta(days=8))
    run_beat_purge()
    assert list(RemoteCall.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not InboundCall.objects.exists()


def test_given_a_large_call_log_when_beat_purges_then_it_deletes_in_batches(monkeypatch):
    from core import retention

    monkeypatch.setattr(retention, "DELETE_BATCH", 3)
    for _ in range(8):
        remote_call(timedelta(days=100))
    assert run_beat_purge()["remote_calls"] == 8
    assert not RemoteCall.objects.exists()


@pytest.fixture
def campaign():
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")


def preview(admin_client, campaign, deliver) -> str:
    """Preview a lead file in the admin (a job); answers its token (the stored file's name)."""
    with deliver():
        response = admin_client.post(
            reverse("admin:callcenter_import", args=[campaign.pk]),
            {"file": SimpleUploadedFile("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")},
        )
    page = admin_client.get(response["Location"]).content.decode()
    return page.split('name="token" value="')[1].split('"')[0]


def test_given_a_lead_file_previewed_and_never_confirmed_when_24_hours_pass_then_it_is_deleted(
    admin_client, campaign, deliver
):
    token = preview(admin_client, campaign, deliver)
    stored = IMPORT_DIR / token
    assert stored.exists()

    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        run_beat_purge()
    assert stored.exists()  # a preview is kept a day for its confirmation

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert run_beat_purge()["lead_import_previews"] >= 1
    assert not stored.exists()


def test_given_an_expired_preview_when_confirming_then_the_page_asks_for_the_file_again(
    admin_client, campaign, deliver
):
    token = preview(admin_client, campaign, deliver)
    (IMPORT_DIR / token).unlink()  # what the purge does after 24 hours
    url = reverse("admin:callcenter_import", args=[campaign.pk])
    response = admin_client.post(url, {"token": token}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Questa anteprima è scaduta" in response.content.decode()
    assert not Job.objects.filter(kind="lead_import").exists()
