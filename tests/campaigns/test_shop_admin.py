"""The shop admin and the sync admin pages, through real requests."""

import pytest
from django.urls import reverse

from campaigns.models import Shop
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from tests.campaigns.factories import make_shop, shop_fields

pytestmark = pytest.mark.django_db


def test_a_shop_added_in_the_admin_goes_from_pending_to_synced(
    admin_client, django_capture_on_commit_callbacks, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:campaigns_shop_add"), {**shop_fields(code="PV-ADM"), "latitude": ""}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    shop = Shop.objects.get(code="PV-ADM")
    assert shop.sync_status == SyncStatus.SYNCED
    assert [r["codice"] for r in sandbox_records("volantinopiu", "shop")] == ["PV-ADM"]

    page = admin_client.get(reverse("admin:campaigns_shop_changelist"))
    assert b"sync-badge sync-synced" in page.content


def test_bad_input_in_the_admin_is_explained_in_italian_and_saves_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:campaigns_shop_add"), shop_fields(province="M1", postal_code="abc")
    )
    assert response.status_code == 200
    assert "Inserisci la sigla della provincia" in response.content.decode()
    assert not Shop.objects.exists() and not OutboxEntry.objects.exists()


def test_the_change_page_shows_sync_fields_read_only(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    page = admin_client.get(reverse("admin:campaigns_shop_change", args=[shop.pk])).content.decode()
    assert 'name="remote_id"' not in page and 'name="sync_status"' not in page
    assert "Sincronizzazione" in page


def test_sync_now_and_retry_actions_queue_the_selected_records(
    admin_client, django_capture_on_commit_callbacks, knobs
):
    knobs("volantinopiu", forced_status=403)
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.FAILED

    knobs("volantinopiu", forced_status=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:campaigns_shop_changelist"),
            {"action": "retry_failed", "_selected_action": [shop.pk]},
            follow=True,
        )
    assert "1 record" in response.content.decode()
    shop.refresh_from_db()
    assert shop.sync_status == SyncStatus.SYNCED

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:campaigns_shop_changelist"),
            {"action": "sync_now", "_selected_action": [shop.pk]},
        )
    assert RemoteCall.objects.filter(operation="updateShop", ok=True).count() == 1


def test_deleting_in_the_admin_deletes_at_the_provider(
    admin_client, django_capture_on_commit_callbacks, sandbox_records
):
    with django_capture_on_commit_callbacks(execute=True):
        shops = [make_shop(), make_shop()]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:campaigns_shop_changelist"),
            {"action": "delete_selected", "_selected_action": [s.pk for s in shops], "post": "yes"},
        )
    assert not Shop.objects.exists()
    assert sandbox_records("volantinopiu", "shop") == []


def test_the_outbox_page_lists_failures_and_retries_them(
    admin_client, django_capture_on_commit_callbacks, knobs
):
    knobs("volantinopiu", forced_status=401)
    with django_capture_on_commit_callbacks(execute=True):
        make_shop(code="PV-FAIL")
    entry = OutboxEntry.objects.get()
    page = admin_client.get(reverse("admin:core_outboxentry_changelist") + "?state__exact=failed")
    assert "PV-FAIL" in page.content.decode()
    assert (
        admin_client.get(reverse("admin:core_outboxentry_change", args=[entry.pk])).status_code
        == 200
    )

    knobs("volantinopiu", forced_status=None)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:core_outboxentry_changelist"),
            {"action": "retry", "_selected_action": [entry.pk]},
        )
    entry.refresh_from_db()
    assert entry.state == OutboxState.DONE


def test_the_call_log_page_lists_calls_without_secrets(
    admin_client, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        make_shop()
    page = admin_client.get(reverse("admin:core_remotecall_changelist")).content.decode()
    assert "/addShop" in page
    assert settings.VOLANTINOPIU_TOKEN not in page
