"""Pull from VolantinoPiù: listShops, listMedia, listCampaigns against the local tables."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Media, Shop
from campaigns.sync import campaign_data, shop_data
from campaigns.volantinopiu import (
    SHOP_DATA_FIELDS,
    RemoteCampaign,
    RemoteMedia,
    RemoteShop,
    format_date_send,
    volantinopiu_client,
)
from core.models import SyncStatus
from core.pull import DriftLine, DriftReport, pull_register

CAMPAIGN_COMPARED = ("kind", "pv_id", "image", "link", "flyer_link", "template_name", "promo_name")


def volantinopiu_pull(*, dry_run: bool, progress=None, **options) -> DriftReport:
    client = volantinopiu_client()
    remote_shops = client.list_shops()
    remote_media = client.list_media()
    remote_campaigns = client.list_campaigns()
    report = DriftReport(provider="VolantinoPiù", dry_run=dry_run)
    with transaction.atomic():
        _pull_shops(remote_shops, report)
        _pull_media(remote_media, report)
        _pull_campaigns(remote_campaigns, report)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _synced_fields(remote_id: str, raw: dict) -> dict:
    now = timezone.now()
    return {
        "remote_id": remote_id,
        "remote_data": raw,
        "sync_status": SyncStatus.SYNCED,
        "synced_at": now,
        "last_sync_attempt_at": now,
    }


def _pull_shops(remote_shops: list[RemoteShop], report: DriftReport) -> None:
    local = {s.remote_id: s for s in Shop.objects.exclude(remote_id=None)}
    codes_here = set(Shop.objects.values_list("code", flat=True))
    for remote in remote_shops:
        shop = local.pop(remote.id, None)
        if shop is None:
            if remote.data.code in codes_here:
                report.add(
                    "different",
                    DriftLine(
                        "shop",
                        remote.data.code,
                        remote_id=remote.id,
                        note=_("a shop with this code is here but not linked to it"),
                    ),
                )
                continue
            report.add("only_remote", DriftLine("shop", remote.data.code, remote_id=remote.id))
            Shop.objects.create(
                **{name: getattr(remote.data, name) for name in SHOP_DATA_FIELDS},
                **_synced_fields(remote.id, remote.raw),
            )
            report.count_imported("shop")
            continue
        differences = _differences(shop_data(shop).wire(), remote.data.wire())
        if differences:
            report.add(
                "different",
                DriftLine("shop", shop.code, shop.pk, remote.id, differences=differences),
            )
        else:
            report.count_in_step("shop")
    for shop in local.values():
        report.add(
            "only_local",
            DriftLine("shop", shop.code, shop.pk, shop.remote_id, note=_("deleted there?")),
        )
    for shop in Shop.objects.filter(remote_id=None):
        report.add("only_local", DriftLine("shop", shop.code, shop.pk, note=_("not sent yet")))


def _pull_media(remote_media: list[RemoteMedia], report: DriftReport) -> None:
    local = {m.remote_id: m for m in Media.objects.exclude(remote_id=None)}
    for remote in remote_media:
        if local.pop(remote.id, None) is not None:
            report.count_in_step("media")
            continue
        report.add(
            "only_remote", DriftLine("media", remote.name or remote.url, remote_id=remote.id)
        )
        Media.objects.create(
            name=remote.name[:200],
            remote_url=remote.url,
            size_bytes=remote.size,
            **_synced_fields(remote.id, remote.raw),
        )
        report.count_imported("media")
    for media in local.values():
        report.add("only_local", DriftLine("media", str(media), media.pk, media.remote_id))


def _pull_campaigns(remote_campaigns: list[RemoteCampaign], report: DriftReport) -> None:
    local = {
        c.remote_id: c
        for c in Campaign.objects.exclude(remote_id=None).select_related("shop", "media")
    }
    shops = {s.remote_id: s for s in Shop.objects.exclude(remote_id=None)}
    media_by_url = {m.remote_url: m for m in Media.objects.exclude(remote_url="")}
    for remote in remote_campaigns:
        campaign = local.pop(remote.id, None)
        if campaign is not None:
            ours = {**campaign_data(campaign).wire(), "kind": campaign.kind}
            theirs = {**remote.data.wire(), "kind": remote.data.kind}
            ours["date_send"] = format_date_send(campaign.date_send)
            differences = _differences(ours, theirs, (*CAMPAIGN_COMPARED, "date_send"))
            if differences:
                report.add(
                    "different",
                    DriftLine("campaign", campaign.promo_name, campaign.pk, remote.id, differences),
                )
            else:
                report.count_in_step("campaign")
            continue
        line = DriftLine("campaign", remote.data.promo_name, remote_id=remote.id)
        report.add("only_remote", line)
        shop = shops.get(str(remote.data.pv_id))
        if shop is None or remote.data.date_send is None:
            line.note = _("not imported: its shop (pv_id %(pv)s) is unknown here") % {
                "pv": remote.data.pv_id
            }
            continue
        media = media_by_url.get(remote.data.image)
        Campaign.objects.create(
            kind=remote.data.kind,
            shop=shop,
            media=media,
            image_url="" if media else remote.data.image,
            link=remote.data.link,
            flyer_link=remote.data.flyer_link,
            date_send=remote.data.date_send,
            template_name=remote.data.template_name,
            promo_name=remote.data.promo_name,
            **_synced_fields(remote.id, remote.raw),
        )
        report.count_imported("campaign")
    for campaign in local.values():
        report.add(
            "only_local",
            DriftLine(
                "campaign",
                campaign.promo_name,
                campaign.pk,
                campaign.remote_id,
                note=_("withdrawn there?"),
            ),
        )


def _differences(ours: dict, theirs: dict, names: tuple[str, ...] | None = None) -> dict:
    names = names or tuple(ours)
    return {
        name: (ours.get(name), theirs.get(name))
        for name in names
        if _normal(ours.get(name)) != _normal(theirs.get(name))
    }


def _normal(value):
    if value in (None, ""):
        return None
    if isinstance(value, float):
        return round(value, 6)
    return str(value)


pull_register("volantinopiu", volantinopiu_pull)
