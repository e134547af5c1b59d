"""Outbox handlers for the campaigns app: local records → VolantinoPiù calls.

VolantinoPiù's document prints no answers, so a create may well be answered "success" with no id
(`{"success": true}`, see `campaigns.volantinopiu`). Each handler then finds the record it just
made by listing and matching exactly what it sent — the same lookup that finds a record whose
answer was lost (`find_existing`) — and adopts it only when exactly one record matches and no
other local record holds it already; otherwise the entry stops with a ContractDrift for a person
to look at, and never adopts a guess."""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from campaigns.images import image_content_type
from campaigns.models import Campaign, Media, Shop
from campaigns.volantinopiu import (
    SHOP_DATA_FIELDS,
    CampaignData,
    RemoteMedia,
    ShopData,
    campaign_matches,
    media_url,
    volantinopiu_client,
)
from core.errors import ContractDrift, ProviderNotFound
from core.models import SyncedModel
from core.selectors import outbox_remote_ids_deleted
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


@contextmanager
def _gone_there(message: str) -> Iterator[None]:
    """A record VolantinoPiù no longer has: its ProviderNotFound says `message`, which tells
    the user what happened there."""
    try:
        yield
    except ProviderNotFound as exc:
        exc.user_message = message
        raise


class ListingLookup(SyncHandler):
    """What the three handlers share: the records a listing shows that match ours exactly and
    that no other local record holds. `matches` gives them; one match is the record, none is
    "not there", several cannot be told apart."""

    provider = "volantinopiu"
    listing: ClassVar[str]

    @abstractmethod
    def matches(self, obj: SyncedModel) -> list[RemoteState]:
        """The listed records that are exactly `obj` (each handler knows its own fields)."""

    def find_existing(self, obj: SyncedModel) -> RemoteState | None:
        return self.at_most_one(self.matches(obj))

    def resolve_missing_id(self, obj: SyncedModel, operation: str) -> RemoteState:
        """A create answered success without an id: the one listed record matching what we
        sent, or a ContractDrift (never the first of several, never a guess)."""
        found = self.matches(obj)
        if len(found) == 1:
            return found[0]
        raise ContractDrift(
            _(
                "VolantinoPiù accepted %(operation)s but its answer had no id, and %(listing)s "
                "shows no single record matching what was sent (%(count)d found). Check at "
                "VolantinoPiù whether the %(record)s is there before retrying."
            )
            % {
                "operation": operation,
                "listing": self.listing,
                "count": len(found),
                "record": self.model._meta.verbose_name,
            },
            provider=self.provider,
            fields=("id",),
        )

    def at_most_one(self, found: list[RemoteState]) -> RemoteState | None:
        if len(found) <= 1:
            return found[0] if found else None
        raise ContractDrift(
            _(
                "%(listing)s shows %(count)d records matching this %(record)s and none is held "
                "here: Vetrina cannot tell which one is ours. Check at VolantinoPiù before "
                "retrying."
            )
            % {
                "listing": self.listing,
                "count": len(found),
                "record": self.model._meta.verbose_name,
            },
            provider=self.provider,
            fields=("id",),
        )

    def not_held(self, remote_ids: list[str], *, exclude_pk: Any = None) -> set[str]:
        """Those of `remote_ids` that are nobody else's: no local record (other than
        `exclude_pk`) holds them, and no delete of a record gone from here names them (a
        withdrawn campaign registered again with the same fields is listed twice until its
        delete is through: the old one is not ours)."""
        held = set(
            self.model._default_manager.exclude(pk=exclude_pk)
            .filter(remote_id__in=remote_ids)
            .values_list("remote_id", flat=True)
        )
        held |= outbox_remote_ids_deleted(model=self.model, remote_ids=remote_ids)
        return {remote_id for remote_id in remote_ids if remote_id not in held}


@sync_handler_register
class ShopSync(ListingLookup):
    model = Shop
    listing = "listShops"
    # A shop deleted here in the second after its batch's claim is added at VolantinoPiù and
    # then deleted by its own delete entry: a listing entry for a moment, no message to anyone.
    read_with_claim = True

    def create(self, obj: Shop) -> RemoteState:
        remote = volantinopiu_client().add_shop(shop_data(obj))
        if remote.id is None:
            return self.resolve_missing_id(obj, "addShop")
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: Shop) -> RemoteState:
        gone = _(
            "VolantinoPiù no longer has this shop (id %(id)s): it was deleted there. "
            "Run a pull to see the differences."
        )
        with _gone_there(gone % {"id": obj.remote_id}):
            remote = volantinopiu_client().update_shop(obj.remote_id, shop_data(obj))
        return RemoteState(remote.id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        # Already gone remotely means the goal of the delete is met.
        with suppress(ProviderNotFound):
            volantinopiu_client().delete_shop(remote_id)

    def matches(self, obj: Shop) -> list[RemoteState]:
        return self._with_code(obj.code, exclude_pk=obj.pk)

    def delete_payload(self, obj: Shop) -> dict[str, Any]:
        return {"code": obj.code}

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        return self.at_most_one(self._with_code(payload.get("code", "")))

    def _with_code(self, code: str, *, exclude_pk: Any = None) -> list[RemoteState]:
        # The shop code (`codice`) is unique on both sides: it identifies a shop whose id we
        # never got.
        if not code:
            return []
        listed = [s for s in volantinopiu_client().list_shops() if s.data.code == code]
        free = self.not_held([s.id for s in listed], exclude_pk=exclude_pk)
        return [RemoteState(s.id, s.raw) for s in listed if s.id in free]


@sync_handler_register
class MediaSync(ListingLookup):
    """uploadMedia only: VolantinoPiù can neither change nor delete an uploaded file."""

    model = Media
    listing = "listMedia"
    remote_delete = False

    def create(self, obj: Media) -> RemoteState:
        with obj.file.open("rb") as stored:
            content_type = image_content_type(stored)
            content = stored.read()
        client = volantinopiu_client()
        remote = client.upload_media(
            filename=_file_name(obj), content=content, content_type=content_type
        )
        if remote.id is None:
            return self.resolve_missing_id(obj, "uploadMedia")
        if not remote.url:
            # Campaigns need the file's address: an answer with the id but no url is completed
            # from the listing (the same record, by id).
            listed = next((m for m in client.list_media() if m.id == remote.id), None)
            if listed is not None:
                return RemoteState(listed.id, listed.raw)
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
        return {"remote_url": media_url(state.data)}

    def matches(self, obj: Media) -> list[RemoteState]:
        """The listed files with our file's name, no other image here holds, that are our
        file: by `sha256` when the listing gives it, else by `size`. When the listing gives
        neither, the newest of them (the upload we just made is the last one made)."""
        if not obj.file:
            return []
        with obj.file.open("rb") as stored:
            content = stored.read()
        name, size, digest = _file_name(obj), len(content), hashlib.sha256(content).hexdigest()
        named = [m for m in volantinopiu_client().list_media() if m.name == name]
        free = self.not_held([m.id for m in named], exclude_pk=obj.pk)
        named = [m for m in named if m.id in free]
        verifiable = [m for m in named if m.sha256 or m.size is not None]
        if verifiable:
            ours = [m for m in verifiable if (m.sha256 == digest if m.sha256 else m.size == size)]
        else:
            ours = _newest(named)
        return [RemoteState(m.id, m.raw) for m in ours]


def _file_name(media: Media) -> str:
    return media.file.name.rsplit("/", 1)[-1]


def _newest(media: list[RemoteMedia]) -> list[RemoteMedia]:
    """The most recent of several listed files: the highest id when every id is a number,
    else the latest `created_at` when every one has it, else the last listed."""
    if not media:
        return []
    if all(m.id.isdigit() for m in media):
        return [max(media, key=lambda m: int(m.id))]
    if all(m.created_at for m in media):
        return [max(media, key=lambda m: m.created_at)]
    return [media[-1]]


@sync_handler_register
class CampaignSync(ListingLookup):
    """registerCampaign / registerCampaignFlyer, deleteCampaign; no update call exists."""

    model = Campaign
    listing = "listCampaigns"

    def prerequisites(self, obj: Campaign) -> list:
        return [obj.shop, *([obj.media] if obj.media_id else [])]

    def create(self, obj: Campaign) -> RemoteState:
        data = campaign_data(obj)
        remote = volantinopiu_client().register_campaign(data)
        if remote.id is None:
            return self.resolve_missing_id(obj, data.operation)
        return RemoteState(remote.id, remote.raw)

    def update(self, obj: Campaign) -> RemoteState:
        # Registered campaigns never change in place: a "sync" only checks it is still there.
        gone = _("VolantinoPiù no longer has this campaign (id %(id)s): it was withdrawn there.")
        with _gone_there(gone % {"id": obj.remote_id}):
            remote = volantinopiu_client().get_campaign(obj.remote_id)
        return RemoteState(remote.id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        with suppress(ProviderNotFound):
            volantinopiu_client().delete_campaign(remote_id)

    def matches(self, obj: Campaign) -> list[RemoteState]:
        return self._matching(campaign_data(obj).sent(), exclude_pk=obj.pk)

    def delete_payload(self, obj: Campaign) -> dict[str, Any]:
        return campaign_data(obj).sent()

    def find_for_delete(self, payload: dict[str, Any]) -> RemoteState | None:
        return self.at_most_one(self._matching(payload))

    def _matching(self, sent: dict[str, Any], *, exclude_pk: Any = None) -> list[RemoteState]:
        # No campaign key exists on both sides: shop, promo, send time and image together do.
        listed = [c for c in volantinopiu_client().list_campaigns() if campaign_matches(c, sent)]
        free = self.not_held([c.id for c in listed], exclude_pk=exclude_pk)
        return [RemoteState(c.id, c.raw) for c in listed if c.id in free]
