"""The only way to change campaigns data: the admin, the store forms and the API call these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignBatch, CampaignKind, Media, Shop
from campaigns.volantinopiu import SHOP_DATA_FIELDS
from core.audit import AuditEvent, audit_event
from core.models import Operation, SyncStatus
from core.outbox import outbox_enqueue, outbox_record_save
from core.selectors import outbox_create_may_have_arrived

SHOP_EDITABLE_FIELDS = (*SHOP_DATA_FIELDS, "active")
# The fields VolantinoPiù holds; `active` is ours only.
SHOP_REMOTE_FIELDS = SHOP_DATA_FIELDS
CAMPAIGN_FIELDS = (
    "kind",
    "shop",
    "media",
    "image_url",
    "link",
    "flyer_link",
    "date_send",
    "template_name",
    "promo_name",
)


# --- shops ---------------------------------------------------------------------------------
def shop_create(
    *,
    code: str,
    address: str,
    city: str,
    postal_code: str = "",
    province: str = "",
    latitude: Any = None,
    longitude: Any = None,
    email: str = "",
    url: str = "",
    description: str = "",
    active: bool = True,
) -> Shop:
    """Create a shop and queue it for VolantinoPiù. Raises ValidationError on bad input."""
    shop = Shop(
        code=code,
        address=address,
        city=city,
        postal_code=postal_code,
        province=province,
        latitude=latitude,
        longitude=longitude,
        email=email,
        url=url,
        description=description,
        active=active,
    )
    return outbox_record_save(obj=shop, operation=Operation.CREATE)


def shop_update(*, shop: Shop, data: dict[str, Any]) -> Shop:
    """Change some fields of a shop; queue an update only if a field VolantinoPiù holds changed."""
    unknown = set(data) - set(SHOP_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    stored = Shop.objects.get(pk=shop.pk)
    for name, value in data.items():
        setattr(shop, name, value)
    shop.full_clean()
    changed = [
        name for name in SHOP_EDITABLE_FIELDS if getattr(stored, name) != getattr(shop, name)
    ]
    if not changed:
        return shop
    with transaction.atomic():
        shop.save(update_fields=[*changed, "updated_at"])
        if set(changed) & set(SHOP_REMOTE_FIELDS):
            outbox_enqueue(obj=shop, operation=Operation.UPDATE)
    return shop


def shop_delete(*, shop: Shop) -> None:
    """Delete a shop here and, through the outbox, at VolantinoPiù."""
    if shop.campaigns.exists():
        raise ValidationError(
            _("The shop %(shop)s has campaigns: withdraw them first, or make the shop inactive.")
            % {"shop": shop}
        )
    with transaction.atomic():
        outbox_enqueue(obj=shop, operation=Operation.DELETE)
        shop.delete()


# --- media ---------------------------------------------------------------------------------
def media_create(*, file: UploadedFile, name: str = "") -> Media:
    """Store an image and queue its upload to VolantinoPiù. Raises ValidationError if the file
    is not a JPEG/PNG/WebP image within the size limit."""
    media = Media(file=file, name=(name or file.name or "")[:200], size_bytes=file.size)
    return outbox_record_save(obj=media, operation=Operation.CREATE)


def media_delete(*, media: Media) -> None:
    """Delete an image here. VolantinoPiù has no call to delete media: its copy stays there."""
    if media.campaigns.exists():
        raise ValidationError(
            _("The image %(media)s is used by campaigns and cannot be deleted.") % {"media": media}
        )
    with transaction.atomic():
        outbox_enqueue(obj=media, operation=Operation.DELETE)
        media.delete()


# --- campaigns -----------------------------------------------------------------------------
def campaign_is_registered(campaign: Campaign) -> bool:
    """True once VolantinoPiù has (or may have) the campaign: from then on it cannot change."""
    if campaign.remote_id:
        return True
    # A create that was attempted may have reached it, even if no answer came back.
    return outbox_create_may_have_arrived(obj=campaign)


def campaign_create(
    *,
    kind: str = CampaignKind.TEMPLATE,
    shop: Shop,
    date_send: datetime,
    promo_name: str,
    media: Media | None = None,
    image_url: str = "",
    link: str = "",
    flyer_link: str = "",
    template_name: str = "",
    batch: CampaignBatch | None = None,
) -> Campaign:
    """Create a campaign and queue its registration; it waits for its shop and image to reach
    VolantinoPiù first. Raises ValidationError on bad input."""
    campaign = Campaign(
        kind=kind,
        shop=shop,
        media=media,
        image_url=image_url or "",
        link=link or "",
        flyer_link=flyer_link or "",
        date_send=date_send,
        template_name=template_name or "",
        promo_name=promo_name,
        batch=batch,
    )
    return outbox_record_save(obj=campaign, operation=Operation.CREATE)


def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    """Change a campaign that has not been registered yet."""
    if campaign_is_registered(campaign):
        raise ValidationError(
            _(
                "This campaign is already registered with VolantinoPiù, which cannot change it: "
                "withdraw it, or withdraw it and register it again with the changes."
            ),
            code="registered",
        )
    unknown = set(data) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(campaign, name, value)
    return outbox_record_save(obj=campaign, operation=Operation.UPDATE)


def campaign_withdraw(*, campaign: Campaign) -> None:
    """Withdraw a campaign: deleteCampaign at VolantinoPiù (if it got there), gone here."""
    with transaction.atomic():
        audit_event(instance=campaign, event=AuditEvent.WITHDRAWN)  # by the request's user
        outbox_enqueue(obj=campaign, operation=Operation.DELETE)
        campaign.delete()


def campaign_replace(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    """Withdraw a registered campaign and register a new one with the changes, atomically."""
    fields = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
    fields.update(data)
    with transaction.atomic():
        replacement = campaign_create(**fields, batch=campaign.batch)
        campaign_withdraw(campaign=campaign)
    return replacement


def campaign_batch_create(
    *,
    shops: Iterable[Shop],
    kind: str,
    date_send: datetime,
    promo_name: str,
    media: Media | None = None,
    image_url: str = "",
    link: str = "",
    flyer_link: str = "",
    template_name: str = "",
    created_by=None,
) -> CampaignBatch:
    """Create the same campaign for many shops. Shops that cannot take it (inactive) are
    skipped and listed with the reason; bad campaign data refuses the whole batch."""
    shops = list(shops)
    if not shops:
        raise ValidationError(_("Choose at least one shop."))
    batch = CampaignBatch(kind=kind, date_send=date_send, promo_name=promo_name)
    common = {
        "kind": kind,
        "date_send": date_send,
        "promo_name": promo_name,
        "media": media,
        "image_url": image_url,
        "link": link,
        "flyer_link": flyer_link,
        "template_name": template_name,
    }
    with transaction.atomic():
        batch.created_by = created_by
        batch.save()
        for shop in shops:
            if not shop.active:
                batch.skipped.append(
                    {"shop": shop.pk, "code": shop.code, "reason": _("shop not active")}
                )
                continue
            campaign_create(shop=shop, batch=batch, **common)
        if not batch.campaigns.exists():
            raise ValidationError(_("None of the chosen shops is active."))
        batch.save(update_fields=["skipped"])
    return batch


def campaign_batch_progress(*, batch: CampaignBatch) -> dict[str, Any]:
    """Counts of a chain-wide campaign's per-shop outcomes, for its progress view."""
    rows = list(
        batch.campaigns.select_related("shop")
        .order_by("shop__code")
        .values("id", "shop__code", "shop__city", "sync_status", "sync_error", "remote_id")
    )
    counts = {status: 0 for status in ("pending", "synced", "failed")}
    for row in rows:
        row["sync_status_label"] = str(SyncStatus(row["sync_status"]).label)
        counts[row["sync_status"]] = counts.get(row["sync_status"], 0) + 1
    total = len(rows)
    done = counts["synced"] + counts["failed"]
    return {
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "counts": counts,
        "finished": done == total,
        "skipped": batch.skipped,
        "rows": rows,
    }
