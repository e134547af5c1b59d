"""Media, campaigns and chain-wide campaigns in the admin, through real requests."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignBatch, Media
from core.models import SyncStatus
from tests.campaigns.factories import make_campaign, make_shop
from tests.campaigns.images import fake_image_upload, image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(deliver):
    with deliver():
        created = make_shop(code="PV-ADMIN")
    created.refresh_from_db()
    return created


def local_form_date(days: int = 5) -> dict:
    when = timezone.localtime(timezone.now() + timedelta(days=days))
    return {"date_send_0": when.strftime("%d/%m/%Y"), "date_send_1": when.strftime("%H:%M:%S")}


def test_an_image_uploaded_in_the_admin_is_sent_and_shown_with_a_thumbnail(admin_client, deliver):
    with deliver():
        response = admin_client.post(
            reverse("admin:campaigns_media_add"), {"file": image_upload(), "name": "Natale"}
        )
    assert response.status_code == 302
    media = Media.objects.get()
    assert media.sync_status == SyncStatus.SYNCED and media.remote_url
    listing = admin_client.get(reverse("admin:campaigns_media_changelist")).content.decode()
    assert f'src="{media.file.url}"' in listing


def test_a_file_that_is_not_an_image_is_refused_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:campaigns_media_add"), {"file": fake_image_upload(), "name": "x"}
    )
    assert response.status_code == 200
    assert "Invia un&#x27;immagine valida" in response.content.decode()
    assert not Media.objects.exists()


def test_a_campaign_added_in_the_admin_is_registered(admin_client, deliver, shop, sandbox_records):
    data = {
        "kind": "template",
        "shop": shop.pk,
        "image_url": "https://cdn.example.com/a.jpg",
        "link": "https://example.com/promo",
        "template_name": "promo_settimanale",
        "promo_name": "Promo admin",
        **local_form_date(),
    }
    with deliver():
        response = admin_client.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Campaign.objects.get().sync_status == SyncStatus.SYNCED
    assert [c["promo_name"] for c in sandbox_records("volantinopiu", "campaign")] == ["Promo admin"]


def test_a_past_date_is_explained_in_the_admin_and_saves_nothing(admin_client, shop):
    data = {
        "kind": "flyer",
        "shop": shop.pk,
        "image_url": "https://cdn.example.com/a.jpg",
        "flyer_link": "https://example.com/v.pdf",
        "promo_name": "Vecchia",
        **local_form_date(days=-1),
    }
    response = admin_client.post(reverse("admin:campaigns_campaign_add"), data)
    assert "La data di invio deve essere nel futuro." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_registered_campaign_is_read_only_with_withdraw_offered(admin_client, deliver, shop):
    with deliver():
        campaign = make_campaign(shop)
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "che non può modificare una campagna registrata" in html
    assert 'name="promo_name"' not in html
    assert reverse("admin:campaigns_campaign_withdraw", args=[campaign.pk]) in html

    # A crafted POST cannot change it either.
    admin_client.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]), {"promo_name": "Hack"}
    )
    assert Campaign.objects.get().promo_name == "Sottocosto di primavera"


def test_withdraw_from_the_admin_asks_then_deletes_remotely(
    admin_client, deliver, shop, sandbox_records
):
    with deliver():
        campaign = make_campaign(shop)
    url = reverse("admin:campaigns_campaign_withdraw", args=[campaign.pk])
    assert "Sì, ritirala" in admin_client.get(url).content.decode()
    with deliver():
        admin_client.post(url)
    assert not Campaign.objects.exists()
    assert sandbox_records("volantinopiu", "campaign") == []


def test_withdraw_and_register_again_from_the_admin(admin_client, deliver, shop, sandbox_records):
    with deliver():
        campaign = make_campaign(shop, promo_name="Versione 1")
    add_url = reverse("admin:campaigns_campaign_add") + f"?replace={campaign.pk}"
    form = admin_client.get(add_url).content.decode()
    assert "Stai sostituendo" in form and 'value="Versione 1"' in form

    data = {
        "kind": "template",
        "shop": shop.pk,
        "image_url": campaign.image_url,
        "link": campaign.link,
        "template_name": campaign.template_name,
        "promo_name": "Versione 2",
        **local_form_date(),
    }
    with deliver():
        response = admin_client.post(add_url, data)
    assert response.status_code == 302
    assert list(Campaign.objects.values_list("promo_name", flat=True)) == ["Versione 2"]
    assert [c["promo_name"] for c in sandbox_records("volantinopiu", "campaign")] == ["Versione 2"]


def test_a_chain_wide_campaign_from_selected_shops_shows_its_progress(
    admin_client, deliver, sandbox_records
):
    with deliver():
        shops = [make_shop() for _ in range(3)]
    response = admin_client.post(
        reverse("admin:campaigns_shop_changelist"),
        {"action": "create_campaign_for_shops", "_selected_action": [s.pk for s in shops[:2]]},
    )
    add_url = response["Location"]
    form = admin_client.get(add_url).content.decode()
    assert form.count("checked") >= 2

    data = {
        "kind": "flyer",
        "promo_name": "Volantino catena",
        "image_url": "https://cdn.example.com/v.jpg",
        "flyer_link": "https://example.com/v.pdf",
        "shops": [s.pk for s in shops[:2]],
        **local_form_date(),
    }
    with deliver():
        response = admin_client.post(add_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    batch = CampaignBatch.objects.get()
    page = admin_client.get(response["Location"]).content.decode()
    assert "2 negozi su 2 completati" in page
    progress = admin_client.get(
        reverse("admin:campaigns_campaignbatch_progress", args=[batch.pk])
    ).json()
    assert progress["finished"] and progress["counts"]["synced"] == 2
    assert len(sandbox_records("volantinopiu", "campaign")) == 2


def test_a_chain_wide_campaign_with_bad_data_creates_nothing(admin_client, shop):
    data = {
        "kind": "template",
        "promo_name": "Senza link",
        "image_url": "https://cdn.example.com/v.jpg",
        "shops": [shop.pk],
        **local_form_date(),
    }
    response = admin_client.post(reverse("admin:campaigns_campaignbatch_add"), data)
    assert "Una campagna template richiede un link." in response.content.decode()
    assert not CampaignBatch.objects.exists() and not Campaign.objects.exists()
