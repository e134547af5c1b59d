"""Outbox handlers for the campaigns app: local records → VolantinoPiù calls."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.utils.translation import gettext as _

from campaigns.models import Shop
from campaigns.volantinopiu import SHOP_DATA_FIELDS, ShopData, volantinopiu_client
from core.errors import ProviderNotFound
from core.sync import RemoteState, SyncHandler, sync_handler_register


def shop_data(shop: Shop) -> ShopData:
    """The one mapping from a local shop to what VolantinoPiù receives."""
    return ShopData(**{name: getattr(shop, name) for name in SHOP_DATA_FIELDS})


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
