"""Outbox handlers for the campaigns app: local records → VolantinoPiù calls."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.utils.translation import gettext as _

from campaigns.images import image_content_type
from campaigns.models import Campaign, Media, Shop
from campaigns.volantinopiu import (
    SHOP_DATA_FIELDS,
    CampaignData,
    RemoteCampaign,
    ShopData,
    format_date_send,
    volantinopiu_client,
)
from core.errors import ProviderNotFound
from core.sync import RemoteState, SyncHandler, sync_handler_register


def shop_data(shop: Shop) -> ShopData:
    """The one mapping from a local shop to what VolantinoPiù receives."""
    return ShopData(**{name: getattr(shop, name) for name in SHOP_DATA_FIELDS})


def campaign_data(campaign: Campaign) -> CampaignData:
    """The one mapping from a local campaign to what VolantinoPiù receives."""
    return CampaignData(
        kind=campaign.kind,
        pv_id=campaign.shop.remote_id or "",
        image=campaign.image,
        date_send=campaign.date_send,
        promo_name=campaign.promo_name,
        link=campaign.link,
        template_name=campaign.template_name,
        flyer_link=campaign.flyer_link,
    )


@sync_handler_register
class ShopSync(SyncHandler):
    provider = "volantinopiu"
    model = Shop

    def create(self, obj: Shop) -> RemoteState:
        remote = volantinopiu_client().add_shop(shop_data(obj))
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: Shop) -> RemoteState:
        try:
            remote = volantinopiu_client().update_shop(obj.remote_id, shop_data(obj))
        except ProviderNotFound as exc:
            exc.user_message = _(
                "VolantinoPiù no longer has this shop (id %(id)s): it was deleted there. "
                "Run a pull to see the differences."
            ) % {"id": obj.remote_id}
            raise
        return RemoteState(remote.id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        # Already gone remotely means the goal of the delete is met.
        with suppress(ProviderNotFound):
            volantinopiu_client().delete_shop(remote_id)

    def find_existing(self, obj: Shop) -> RemoteState | None:
        return self._find_by_code(obj.code)

    def delete_payload(self, obj: Shop) -> dict[str, Any]:
        return {"code": obj.code}

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        return self._find_by_code(payload.get("code", ""))

    @staticmethod
    def _find_by_code(code: str) -> RemoteState | None:
        # The shop code is unique on both sides, so it identifies a shop whose id we never got.
        for remote in volantinopiu_client().list_shops():
            if code and remote.data.code == code:
                return RemoteState(remote.id, remote.raw)
        return None


@sync_handler_register
class MediaSync(SyncHandler):
    """uploadMedia only: VolantinoPiù can neither change nor delete an uploaded file."""

    provider = "volantinopiu"
    model = Media
    remote_delete = False

    def create(self, obj: Media) -> RemoteState:
        with obj.file.open("rb") as stored:
            content_type = image_content_type(stored)
            content = stored.read()
        remote = volantinopiu_client().upload_media(
            filename=obj.file.name.rsplit("/", 1)[-1], content=content, content_type=content_type
        )
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: Media) -> RemoteState:
        # Nothing of an uploaded file can change remotely; confirm it is still listed.
        for remote in volantinopiu_client().list_media():
            if remote.id == obj.remote_id:
                return RemoteState(remote.id, remote.raw)
        raise ProviderNotFound(
            _("VolantinoPiù no longer lists this image (id %(id)s).") % {"id": obj.remote_id},
            provider=self.provider,
            code="NOT_FOUND",
        )

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False, the outbox queues no delete for media."""

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        return {"remote_url": str(state.data.get("url") or "")}

    def find_existing(self, obj: Media) -> RemoteState | None:
        name = obj.file.name.rsplit("/", 1)[-1]
        for remote in volantinopiu_client().list_media():
            if remote.name == name and remote.raw.get("size") == obj.size_bytes:
                return RemoteState(remote.id, remote.raw)
        return None


@sync_handler_register
class CampaignSync(SyncHandler):
    """registerCampaign / registerCampaignFlyer, deleteCampaign; no update call exists."""

    provider = "volantinopiu"
    model = Campaign

    def prerequisites(self, obj: Campaign) -> list:
        return [obj.shop, *([obj.media] if obj.media_id else [])]

    def create(self, obj: Campaign) -> RemoteState:
        remote = volantinopiu_client().register_campaign(campaign_data(obj))
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: Campaign) -> RemoteState:
        # Registered campaigns never change in place: a "sync" only checks it is still there.
        try:
            remote = volantinopiu_client().get_campaign(obj.remote_id)
        except ProviderNotFound as exc:
            exc.user_message = _(
                "VolantinoPiù no longer has this campaign (id %(id)s): it was withdrawn there."
            ) % {"id": obj.remote_id}
            raise
        return RemoteState(remote.id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        with suppress(ProviderNotFound):
            volantinopiu_client().delete_campaign(remote_id)

    def find_existing(self, obj: Campaign) -> RemoteState | None:
        return self._find(campaign_data(obj).wire() | {"type": obj.kind})

    def delete_payload(self, obj: Campaign) -> dict[str, Any]:
        return campaign_data(obj).wire() | {"type": obj.kind}

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        return self._find(payload)

    @staticmethod
    def _find(wire: dict[str, Any]) -> RemoteState | None:
        # No campaign key exists on both sides: shop, kind, promo and send time together do.
        for remote in volantinopiu_client().list_campaigns():
            if _same_campaign(remote, wire):
                return RemoteState(remote.id, remote.raw)
        return None


def _same_campaign(remote: RemoteCampaign, wire: dict[str, Any]) -> bool:
    data = remote.data
    return (
        str(data.pv_id) == str(wire.get("pv_id"))
        and data.kind == wire.get("type")
        and data.promo_name == wire.get("promo_name")
        and data.date_send is not None
        and format_date_send(data.date_send) == wire.get("date_send")
    )
