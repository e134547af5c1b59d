"""Media and campaigns end to end through the services, the outbox and the sandbox."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign, Media, Shop
from campaigns.services import (
    campaign_batch_create,
    campaign_batch_progress,
    campaign_is_registered,
    campaign_replace,
    campaign_update,
    campaign_withdraw,
    media_create,
    media_delete,
    shop_update,
)
from campaigns.volantinopiu import format_date_send
from core.models import OutboxEntry, RemoteCall, SyncStatus
from tests.campaigns.factories import make_campaign, make_media, make_shop
from tests.campaigns.images import (
    fake_image_upload,
    image_upload,
    truncated_jpeg_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_shop(deliver):
    with deliver():
        shop = make_shop(code="PV-CAMP")
    shop.refresh_from_db()
    return shop


# --- media ---------------------------------------------------------------------------------
@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_an_image_is_uploaded_as_multipart_file_and_its_remote_url_kept(
    deliver, sandbox_records, image_format
):
    with deliver():
        media = make_media(file=image_upload(f"promo.{image_format.lower()}", image_format))

    media.refresh_from_db()
    assert media.sync_status == SyncStatus.SYNCED
    remote = sandbox_records("volantinopiu", "media")
    assert len(remote) == 1 and remote[0]["size"] == media.size_bytes
    assert media.remote_url == remote[0]["url"]
    assert (media.width, media.height) == (64, 40)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (fake_image_upload, "non è un'immagine leggibile"),
        (truncated_jpeg_upload, "non è un'immagine leggibile"),
        (lambda: image_upload("animata.gif", "GIF"), "non sono accettate"),
    ],
)
def test_a_bad_image_is_refused_with_a_clear_message_and_nothing_is_sent(upload, message):
    with pytest.raises(ValidationError) as refused:
        media_create(file=upload())
    assert message in " ".join(refused.value.messages)
    assert not Media.objects.exists() and not OutboxEntry.objects.exists()


def test_an_image_over_the_size_limit_is_refused(settings):
    settings.MEDIA_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as refused:
        media_create(file=image_upload(size=(400, 400), image_format="PNG"))
    assert "al massimo" in " ".join(refused.value.messages) or "most" in " ".join(
        refused.value.messages
    )
    assert not Media.objects.exists()


def test_deleting_an_image_makes_no_remote_call_because_the_api_has_none(deliver):
    with deliver():
        media = make_media()
    with deliver():
        media_delete(media=media)
    assert [c.operation for c in RemoteCall.objects.all()] == ["uploadMedia"]
    assert not OutboxEntry.objects.filter(operation="delete").exists()


# --- campaigns -----------------------------------------------------------------------------
def test_a_template_campaign_is_registered_with_the_documented_fields(
    deliver, synced_shop, sandbox_records
):
    with deliver():
        campaign = make_campaign(synced_shop, kind="template")

    campaign.refresh_from_db()
    assert campaign.sync_status == SyncStatus.SYNCED
    [remote] = sandbox_records("volantinopiu", "campaign")
    assert remote == {
        "id": int(campaign.remote_id),
        "type": "template",
        "pv_id": int(synced_shop.remote_id),
        "image": "https://cdn.example.com/volantino.jpg",
        "link": "https://example.com/promo",
        "date_send": format_date_send(campaign.date_send),
        "template_name": "promo_settimanale",
        "promo_name": "Sottocosto di primavera",
    }
    assert RemoteCall.objects.filter(operation="registerCampaign", ok=True).count() == 1


def test_a_flyer_campaign_uses_an_uploaded_image(deliver, synced_shop, sandbox_records):
    with deliver():
        media = make_media()
        campaign = make_campaign(synced_shop, kind="flyer", media=media, image_url="")

    campaign.refresh_from_db()
    assert campaign.sync_status == SyncStatus.SYNCED
    [remote] = sandbox_records("volantinopiu", "campaign")
    assert remote["type"] == "flyer"
    assert remote["image"] == Media.objects.get().remote_url
    assert remote["flyer_link"] == "https://example.com/volantino.pdf"
    assert RemoteCall.objects.filter(operation="registerCampaignFlyer").count() == 1


def test_a_campaign_waits_for_its_shop_and_goes_out_after_it(deliver, knobs, sandbox_records):
    knobs("volantinopiu", forced_status=503, forced_remaining=1)  # the shop's first try fails
    with deliver():
        shop = make_shop()
        campaign = make_campaign(shop)

    campaign.refresh_from_db()
    assert campaign.sync_status == SyncStatus.PENDING
    assert "In attesa" in campaign.sync_error
    assert sandbox_records("volantinopiu", "campaign") == []

    from core.outbox import outbox_retry

    with deliver():
        outbox_retry(entries=OutboxEntry.objects.filter(object_key=shop.outbox_key))

    campaign.refresh_from_db()
    assert campaign.sync_status == SyncStatus.SYNCED
    operations = [c.operation for c in RemoteCall.objects.order_by("id")]
    assert operations.index("registerCampaign") > operations.index("addShop")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date_send": timezone.now() - timedelta(hours=1)}, "date_send", "futuro"),
        ({"link": "not a url"}, "link", "URL valido"),
        ({"template_name": ""}, "template_name", "nome del template"),
        ({"image_url": ""}, "media", "immagine"),
    ],
)
def test_bad_campaign_input_is_refused_and_nothing_is_sent(synced_shop, changes, field, message):
    with pytest.raises(ValidationError) as refused:
        make_campaign(synced_shop, **changes)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_an_inactive_shop_cannot_receive_a_campaign(synced_shop):
    shop_update(shop=synced_shop, data={"active": False})
    with pytest.raises(ValidationError) as refused:
        make_campaign(synced_shop)
    assert "non è attivo" in refused.value.message_dict["shop"][0]


def test_a_registered_campaign_cannot_be_edited_in_place(deliver, synced_shop):
    with deliver():
        campaign = make_campaign(synced_shop)
    assert campaign_is_registered(campaign)

    with pytest.raises(ValidationError) as refused:
        campaign_update(campaign=campaign, data={"promo_name": "Altro"})
    assert "ritirala" in refused.value.messages[0]
    assert Campaign.objects.get().promo_name == "Sottocosto di primavera"


def test_a_campaign_not_yet_sent_can_be_edited_and_goes_out_once(
    deliver, synced_shop, sandbox_records, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as held:
        campaign = make_campaign(synced_shop)
        campaign_update(campaign=campaign, data={"promo_name": "Promo corretta"})
    for callback in held:
        callback()
    assert [c["promo_name"] for c in sandbox_records("volantinopiu", "campaign")] == [
        "Promo corretta"
    ]


def test_withdraw_deletes_the_campaign_at_volantinopiu(deliver, synced_shop, sandbox_records):
    with deliver():
        campaign = make_campaign(synced_shop)
    with deliver():
        campaign_withdraw(campaign=campaign)
    assert sandbox_records("volantinopiu", "campaign") == []
    assert not Campaign.objects.exists()
    assert RemoteCall.objects.filter(operation="deleteCampaign", ok=True).count() == 1


def test_withdraw_and_register_again_replaces_the_remote_campaign(
    deliver, synced_shop, sandbox_records
):
    with deliver():
        campaign = make_campaign(synced_shop, promo_name="Prima versione")
    with deliver():
        replacement = campaign_replace(campaign=campaign, data={"promo_name": "Seconda versione"})

    assert [c["promo_name"] for c in sandbox_records("volantinopiu", "campaign")] == [
        "Seconda versione"
    ]
    replacement.refresh_from_db()
    assert replacement.sync_status == SyncStatus.SYNCED
    assert list(Campaign.objects.all()) == [replacement]


def test_a_rejected_campaign_shows_the_providers_reason(deliver, synced_shop, knobs):
    with deliver():
        campaign = make_campaign(synced_shop)
        knobs("volantinopiu", forced_status=None)
    # The provider refuses a date in the past (e.g. the campaign waited too long).
    Campaign.objects.filter(pk=campaign.pk).update(remote_id=None)
    Campaign.objects.filter(pk=campaign.pk).update(date_send=timezone.now() - timedelta(days=1))
    from core.services import records_sync_now

    with deliver():
        records_sync_now(objects=Campaign.objects.all())
    campaign.refresh_from_db()
    assert campaign.sync_status == SyncStatus.FAILED
    assert "date send" in campaign.sync_error


def test_a_chain_wide_campaign_reaches_every_active_shop_and_reports_each(deliver, sandbox_records):
    with deliver():
        shops = [make_shop() for _ in range(4)]
    shop_update(shop=shops[3], data={"active": False})

    with deliver():
        batch = campaign_batch_create(
            shops=shops,
            kind="flyer",
            date_send=timezone.now() + timedelta(days=3),
            promo_name="Volantino di Natale",
            image_url="https://cdn.example.com/natale.jpg",
            flyer_link="https://example.com/natale.pdf",
        )

    progress = campaign_batch_progress(batch=batch)
    assert (progress["total"], progress["done"], progress["finished"]) == (3, 3, True)
    assert progress["counts"]["synced"] == 3
    assert [s["code"] for s in progress["skipped"]] == [shops[3].code]
    remote = sandbox_records("volantinopiu", "campaign")
    active_ids = [int(s.remote_id) for s in Shop.objects.filter(active=True)]
    assert sorted(c["pv_id"] for c in remote) == sorted(active_ids)
