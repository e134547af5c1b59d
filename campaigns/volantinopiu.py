"""VolantinoPiù client (`../shared/api-docs/volantinopiu-campaigns-media-shops.txt`).

Bearer token; JSON bodies with `Content-Type: application/json` and `Accept: application/json`;
Italian field names on the wire. The document shows requests only: responses are read as
`{"success": …, "data": …}` (or a bare object/list), errors as `{"message", "errors"}`, and
`date_send` is written `YYYY-MM-DD HH:MM:SS` in Italian time (see docs/sandbox.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from core import errors
from core.http import ProviderClient, Response, Session, cached_client_factory


@dataclass(frozen=True)
class ShopData:
    """A shop as we send it, with our names; `wire()` gives the provider's names."""

    code: str
    address: str
    city: str
    postal_code: str = ""
    province: str = ""
    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None
    email: str = ""
    url: str = ""
    description: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "indirizzo": self.address,
            "cap": self.postal_code or None,
            "citta": self.city,
            "provincia": self.province or None,
            "latitude": float(self.latitude) if self.latitude is not None else None,
            "longitude": float(self.longitude) if self.longitude is not None else None,
            "codice": self.code,
            "mail": self.email or None,
            "url": self.url or None,
            "descrizione": self.description or None,
        }


@dataclass(frozen=True)
class RemoteShop:
    id: str
    data: ShopData
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteShop:
        def text(name: str) -> str:
            value = raw.get(name)
            return "" if value is None else str(value)

        def number(name: str) -> Decimal | None:
            value = raw.get(name)
            return None if value in (None, "") else Decimal(str(value))

        return cls(
            id=str(raw["id"]),
            data=ShopData(
                code=text("codice"),
                address=text("indirizzo"),
                city=text("citta"),
                postal_code=text("cap"),
                province=text("provincia"),
                latitude=number("latitude"),
                longitude=number("longitude"),
                email=text("mail"),
                url=text("url"),
                description=text("descrizione"),
            ),
            raw=raw,
        )


SHOP_DATA_FIELDS = tuple(f.name for f in fields(ShopData))
# Every example of the document sends it, GETs included; a body sets it by itself, and the
# multipart upload sets its own (so it is not a session header).
JSON_HEADER = {"Content-Type": "application/json"}

# The document gives no format for date_send: Laravel's default datetime format, in the
# provider's (Italian) local time.
DATE_SEND_FORMAT = "%Y-%m-%d %H:%M:%S"
PROVIDER_TZ = ZoneInfo("Europe/Rome")


def format_date_send(value: datetime) -> str:
    return value.astimezone(PROVIDER_TZ).strftime(DATE_SEND_FORMAT)


def parse_date_send(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, DATE_SEND_FORMAT).replace(tzinfo=PROVIDER_TZ)
    except ValueError:
        return datetime.fromisoformat(value)


@dataclass(frozen=True)
class RemoteMedia:
    id: str
    url: str
    name: str
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteMedia:
        return cls(
            id=str(raw["id"]),
            url=str(raw.get("url") or raw.get("path") or ""),
            name=str(raw.get("name") or raw.get("filename") or ""),
            raw=raw,
        )


@dataclass(frozen=True)
class CampaignData:
    """A campaign as we register it. `kind` is "template" (registerCampaign) or "flyer"
    (registerCampaignFlyer); `pv_id` is the shop's VolantinoPiù id, `image` a media URL."""

    kind: str
    pv_id: str
    image: str
    date_send: datetime
    promo_name: str
    link: str = ""
    template_name: str = ""
    flyer_link: str = ""

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"pv_id": _wire_id(self.pv_id), "image": self.image}
        if self.kind == "flyer":
            body["flyer_link"] = self.flyer_link
        else:
            body["link"] = self.link
        body["date_send"] = format_date_send(self.date_send)
        if self.kind != "flyer":
            body["template_name"] = self.template_name
        body["promo_name"] = self.promo_name
        return body


@dataclass(frozen=True)
class RemoteCampaign:
    id: str
    data: CampaignData
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteCampaign:
        kind = raw.get("type") or ("flyer" if raw.get("flyer_link") else "template")
        return cls(
            id=str(raw["id"]),
            data=CampaignData(
                kind=str(kind),
                pv_id=str(raw.get("pv_id") or ""),
                image=str(raw.get("image") or ""),
                date_send=parse_date_send(raw.get("date_send")),
                promo_name=str(raw.get("promo_name") or ""),
                link=str(raw.get("link") or ""),
                template_name=str(raw.get("template_name") or ""),
                flyer_link=str(raw.get("flyer_link") or ""),
            ),
            raw=raw,
        )


class VolantinoPiuClient(ProviderClient):
    provider = "volantinopiu"

    def __init__(self, *, base_url: str, token: str, **timeouts: float) -> None:
        self._token = token
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        session.headers["Authorization"] = f"Bearer {self._token}"
        session.headers["Accept"] = "application/json"

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response)
        if not isinstance(body, dict):
            return "", ""
        message = str(body.get("message") or "")
        field_errors = body.get("errors")
        if isinstance(field_errors, dict) and field_errors:
            details = "; ".join(
                f"{name}: {' '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}"
                for name, msgs in field_errors.items()
            )
            return "VALIDATION", details
        return str(body.get("code") or ""), message

    # --- shops -----------------------------------------------------------------------------
    def list_shops(self) -> list[RemoteShop]:
        response = self.request("GET", "listShops", operation="listShops", headers=JSON_HEADER)
        return [RemoteShop.from_wire(item) for item in self._data_list(response)]

    def add_shop(self, shop: ShopData) -> RemoteShop:
        response = self.request("POST", "addShop", operation="addShop", json_body=shop.wire())
        return RemoteShop.from_wire(self._data_object(response))

    def update_shop(self, remote_id: str, shop: ShopData) -> RemoteShop:
        body = {"id": _wire_id(remote_id), **shop.wire()}
        response = self.request("POST", "updateShop", operation="updateShop", json_body=body)
        data = self._data_object(response, required=False)
        return RemoteShop.from_wire(data if data.get("id") else {**shop.wire(), **body})

    def delete_shop(self, remote_id: str) -> None:
        response = self.request(
            "DELETE", "deleteShop", operation="deleteShop", json_body={"id": _wire_id(remote_id)}
        )
        self._unwrap(response)  # a 200 saying success: false did not delete anything

    # --- media ------------------------------------------------------------------------------
    def list_media(self) -> list[RemoteMedia]:
        response = self.request("GET", "listMedia", operation="listMedia", headers=JSON_HEADER)
        return [RemoteMedia.from_wire(item) for item in self._data_list(response)]

    def upload_media(self, *, filename: str, content: bytes, content_type: str) -> RemoteMedia:
        response = self.request(
            "POST",
            "uploadMedia",
            operation="uploadMedia",
            files={"file": (filename, content, content_type)},
        )
        return RemoteMedia.from_wire(self._data_object(response))

    # --- campaigns --------------------------------------------------------------------------
    def register_campaign(self, campaign: CampaignData) -> RemoteCampaign:
        """registerCampaign (template) or registerCampaignFlyer (flyer), by `campaign.kind`."""
        operation = "registerCampaignFlyer" if campaign.kind == "flyer" else "registerCampaign"
        response = self.request("POST", operation, operation=operation, json_body=campaign.wire())
        data = self._data_object(response)
        return RemoteCampaign.from_wire({"type": campaign.kind, **campaign.wire(), **data})

    def list_campaigns(self) -> list[RemoteCampaign]:
        response = self.request(
            "GET", "listCampaigns", operation="listCampaigns", headers=JSON_HEADER
        )
        return [RemoteCampaign.from_wire(item) for item in self._data_list(response)]

    def get_campaign(self, remote_id: str) -> RemoteCampaign:
        response = self.request(
            "GET",
            "listCampaigns",
            operation="listCampaigns",
            params={"id": remote_id},
            headers=JSON_HEADER,
        )
        data = self._unwrap(response)
        if isinstance(data, list):  # some answers wrap the one campaign in a list
            data = next((c for c in data if str(c.get("id")) == str(remote_id)), None)
        if not isinstance(data, dict) or not data.get("id"):
            raise errors.ProviderNotFound(provider=self.provider, code="NOT_FOUND", status=200)
        return RemoteCampaign.from_wire(data)

    def delete_campaign(self, remote_id: str) -> None:
        response = self.request(
            "DELETE",
            "deleteCampaign",
            operation="deleteCampaign",
            json_body={"id": _wire_id(remote_id)},
        )
        self._unwrap(response)  # a 200 saying success: false did not delete anything

    # --- answers ---------------------------------------------------------------------------
    def _unwrap(self, response: Response) -> Any:
        body = self.json(response)
        if isinstance(body, dict) and body.get("success") is False:
            raise errors.ProviderRejected(
                str(body.get("message") or ""), provider=self.provider, status=response.status_code
            )
        if isinstance(body, dict) and "data" in body:
            return body["data"]
        return body

    def _data_list(self, response: Response) -> list[dict[str, Any]]:
        data = self._unwrap(response)
        if not isinstance(data, list):
            raise self._unexpected(response)
        return data

    def _data_object(self, response: Response, *, required: bool = True) -> dict:
        data = self._unwrap(response)
        if isinstance(data, dict) and (data.get("id") or not required):
            return data
        if not required:
            return {}
        raise self._unexpected(response)

    def _unexpected(self, response: Response) -> errors.ProviderError:
        return errors.ProviderTimeout(
            _("VolantinoPiù sent an answer we cannot read; the outcome will be checked."),
            provider=self.provider,
            code="UNEXPECTED_RESPONSE",
            status=response.status_code,
        )


def _wire_id(remote_id: str) -> int | str:
    return int(remote_id) if str(remote_id).isdigit() else remote_id


@cached_client_factory
def _client(base_url: str, token: str, connect: float, read: float) -> VolantinoPiuClient:
    return VolantinoPiuClient(
        base_url=base_url, token=token, connect_timeout=connect, read_timeout=read
    )


def volantinopiu_client() -> VolantinoPiuClient:
    """The process's client, built from settings (one pooled session per configuration)."""
    return _client(
        settings.VOLANTINOPIU_BASE_URL,
        settings.VOLANTINOPIU_TOKEN,
        settings.PROVIDER_CONNECT_TIMEOUT,
        settings.PROVIDER_READ_TIMEOUT,
    )
