"""Flyer requests from the counter: created by a store manager for one of their shops, decided
by marketing staff. Approval registers the flyer with VolantinoPiù through the outbox."""

from __future__ import annotations

import os
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.images import validate_campaign_image
from campaigns.models import CampaignKind, Shop
from campaigns.services import campaign_create, media_create
from core.audit import AuditEvent, audit_event
from store.access import store_shops
from store.models import FlyerRequest, FlyerRequestStatus


def flyer_request_create(
    *,
    user,
    shop: Shop,
    promo_name: str,
    date_send: datetime,
    image: UploadedFile,
    flyer_link: str,
    note: str = "",
) -> FlyerRequest:
    """A store manager asks for a flyer for one of their shops. Raises ValidationError on bad
    input or a shop that is not theirs; nothing is saved then."""
    if not store_shops(user).filter(pk=shop.pk).exists():
        raise ValidationError({"shop": _("You can ask for flyers for your own shops only.")})
    validate_campaign_image(image)
    request = FlyerRequest(
        shop=shop,
        promo_name=promo_name,
        date_send=date_send,
        image=image,
        flyer_link=flyer_link,
        note=note,
        requested_by=user,
    )
    request.full_clean()
    if request.date_send <= timezone.now():
        raise ValidationError({"date_send": _("The send date must be in the future.")})
    request.save()
    return request


def flyer_request_approve(*, flyer_request: FlyerRequest, user, note: str = "") -> FlyerRequest:
    """Register the requested flyer: its image goes to uploadMedia, then the campaign to
    registerCampaignFlyer (the campaign waits for its image and shop, as every campaign does)."""
    with transaction.atomic():
        flyer_request = _pending_locked(flyer_request)
        with flyer_request.image.open("rb") as stored:
            name = os.path.basename(flyer_request.image.name)
            media = media_create(file=File(stored, name=name), name=flyer_request.promo_name)
        campaign = campaign_create(
            kind=CampaignKind.FLYER,
            shop=flyer_request.shop,
            date_send=flyer_request.date_send,
            promo_name=flyer_request.promo_name,
            media=media,
            flyer_link=flyer_request.flyer_link,
        )
        _decide(flyer_request, FlyerRequestStatus.APPROVED, user, note)
        flyer_request.campaign = campaign
        flyer_request.save()
        audit_event(
            instance=flyer_request,
            event=AuditEvent.APPROVED,
            user=user,
            details={"campaign": campaign.pk},
        )
    return flyer_request


def flyer_request_reject(*, flyer_request: FlyerRequest, user, reason: str) -> FlyerRequest:
    """Turn the request down; the reason is shown to the store manager."""
    if not reason.strip():
        raise ValidationError(
            {"decision_note": _("Write the reason: the store manager will read it.")}
        )
    with transaction.atomic():
        flyer_request = _pending_locked(flyer_request)
        _decide(flyer_request, FlyerRequestStatus.REJECTED, user, reason.strip())
        flyer_request.save()
        audit_event(instance=flyer_request, event=AuditEvent.REJECTED, user=user)
    return flyer_request


def _pending_locked(flyer_request: FlyerRequest) -> FlyerRequest:
    locked = (
        FlyerRequest.objects.select_for_update().select_related("shop").get(pk=flyer_request.pk)
    )
    if locked.status != FlyerRequestStatus.PENDING:
        raise ValidationError(
            _("This request was already %(status)s.") % {"status": locked.get_status_display()}
        )
    return locked


def _decide(flyer_request: FlyerRequest, status: str, user, note: str) -> None:
    flyer_request.status = status
    flyer_request.decided_by = user
    flyer_request.decided_at = timezone.now()
    if note:
        flyer_request.decision_note = note
