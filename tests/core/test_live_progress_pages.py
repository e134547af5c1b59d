"""The admin's live pages share one script (core/static/core/live_progress.js) and one way to
answer it (core/admin.py LiveProgressAdminMixin): each page loads the script and names its JSON,
which answers who may view the record, and nobody else."""

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from callcenter.models import CallCampaign, CallUpload
from campaigns.models import CampaignBatch
from core.admin import LiveProgressAdminMixin
from core.models import Job
from core.roles import AUDITOR
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from tests.loyalty.factories import consenting

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    """A chain-wide member of the staff with no permission yet: `staff.allow("app", "codename")`."""
    group = Group.objects.get(name=AUDITOR.group)
    group.permissions.clear()
    user = get_user_model().objects.create_user("mario", password="x", is_staff=True)
    user.groups.add(group)
    client.force_login(user)

    def allow(app_label: str, codename: str) -> None:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )

    client.allow = allow
    return client


@pytest.fixture
def records(deliver):
    consenting("393480000002")
    send = push_send_create(name="Promo", text="Sconti!", recipients=["3480000002"])
    push_send_estimate(send=send)
    with deliver():
        push_send_confirm(send=send)
    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
    return {
        "callcenter_callupload": CallUpload.objects.create(campaign=campaign, chunks_total=2),
        "campaigns_campaignbatch": CampaignBatch.objects.create(
            kind="flyer", promo_name="Volantino", date_send="2026-12-31T10:00:00Z"
        ),
        "core_job": Job.objects.create(kind="pull", label="queued"),
        "messaging_pushsend": send,
    }


JSON_NAMES = {
    "callcenter_callupload": "callcenter_callupload_progress",
    "campaigns_campaignbatch": "campaigns_campaignbatch_progress",
    "core_job": "core_job_progress",
    "messaging_pushsend": "messaging_pushsend_counts",
}


@pytest.mark.parametrize("model", list(JSON_NAMES))
def test_each_live_page_loads_the_one_script_and_names_its_json(admin_client, records, model):
    obj = records[model]
    page = admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk])).content.decode()
    json_url = reverse(f"admin:{JSON_NAMES[model]}", args=[obj.pk])
    assert "core/live_progress.js" in page and f'data-progress-url="{json_url}"' in page
    assert "_progress.js" not in page.replace("live_progress.js", "")
    answer = admin_client.get(json_url)
    assert answer.status_code == 200 and "finished" in answer.json()


@pytest.mark.parametrize("model", list(JSON_NAMES))
def test_a_live_json_answers_only_who_may_view_the_record(staff, records, model):
    obj = records[model]
    json_url = reverse(f"admin:{JSON_NAMES[model]}", args=[obj.pk])
    assert staff.get(json_url).status_code == 403

    app_label, model_name = model.split("_", 1)
    staff.allow(app_label, f"view_{model_name}")
    assert staff.get(json_url).status_code == 200
    missing = reverse(f"admin:{JSON_NAMES[model]}", args=[obj.pk + 1000])
    assert staff.get(missing).status_code == 404


def test_a_draft_push_send_is_not_followed(admin_client):
    send = push_send_create(name="Bozza", text="Sconti!", recipients=["3480000002"])
    page = admin_client.get(reverse("admin:messaging_pushsend_change", args=[send.pk]))
    assert "data-progress-url" not in page.content.decode()


def test_a_finished_job_page_is_not_followed_and_an_open_one_is(admin_client):
    job = Job.objects.create(kind="pull", label="queued")
    page = admin_client.get(reverse("admin:core_job_change", args=[job.pk])).content.decode()
    assert 'data-finished="0"' in page and "data-progress-reload" in page
    job.status, job.result = "done", "ok"
    job.save()
    page = admin_client.get(reverse("admin:core_job_change", args=[job.pk])).content.decode()
    assert 'data-finished="1"' in page


def test_the_pull_link_is_shown_to_who_may_pull(admin_client, staff):
    shops = admin_client.get(reverse("admin:campaigns_shop_changelist")).content.decode()
    assert (
        f'href="{reverse("admin:campaigns_pull")}"' in shops and "Importa da VolantinoPiù" in shops
    )

    staff.allow("campaigns", "view_shop")
    shops = staff.get(reverse("admin:campaigns_shop_changelist")).content.decode()
    assert reverse("admin:campaigns_pull") not in shops
    assert staff.get(reverse("admin:campaigns_pull")).status_code == 403


def test_an_admin_followed_live_must_say_what_its_page_reads():
    with pytest.raises(TypeError, match="progress"):
        type("NoProgressAdmin", (LiveProgressAdminMixin, django_admin.ModelAdmin), {})
