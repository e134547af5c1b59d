from io import StringIO

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, CampaignBatch, Media, Shop
from core.models import SyncStatus

pytestmark = pytest.mark.django_db


def test_demo_data_fills_every_app_once_syncs_it_and_prints_a_login(
    django_capture_on_commit_callbacks,
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data", stdout=out)
    call_command("demo_data", "--no-password", stdout=StringIO())  # idempotent

    assert "user: admin  password: " in out.getvalue()
    assert Shop.objects.count() == 5 and Media.objects.count() == 1
    assert CampaignBatch.objects.get().campaigns.count() == 5
    assert Campaign.objects.count() == 6
    assert set(Campaign.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
