"""VolantinoPiù client (`../shared/api-docs/volantinopiu-campaigns-media-shops.txt`).

Requests: the document's, exactly. "Per autenticare le richieste, includi un'intestazione
Authorization con il valore "Bearer {YOUR_AUTH_KEY}""; every example sends
`'Content-Type' => 'application/json'` and `'Accept' => 'application/json'` (uploadMedia:
`multipart/form-data`, field `'name' => 'file'`); the Italian field names of its `'json'` blocks.

Answers: the document prints none. Every endpoint's example ends with "Risposta ricevuta:" followed
by "Richiesta fallita con errore:" (Scribe's "try it out" box, never filled in), so every shape
below is our reading of a Laravel/Scribe API, documented next to the code that reads it (see
"reading answers" in `VolantinoPiuClient`) and listed in docs/going-live.md. In short:

- a body with or without a `{"success": …, "data": …}` wrapper (a bare object or list too, and
  `data` next to a `message`); `success: false` is a refusal, typed;
- ids as numbers or as text (`17`, `"17"`, `"shop-abc"`);
- a write whose answer says success but carries no id (`{"success": true}`) returns its record
  with `id=None`: `campaigns.sync` then finds the new record by listing and matching exactly what
  it sent; this module never guesses an id;
- anything else it cannot read is a `core.errors.ContractDrift` naming the field (the call log
  keeps the answer's shape); a 2xx body that is not JSON stays a MALFORMED_RESPONSE (`self.json`),
  which is checked like a lost answer.

`volantinopiu_preflight()` is the read-only check of `manage.py checkproviders`: listShops,
listMedia and listCampaigns, naming every field that differs from what this module reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from core import errors
from core.http import ProviderClient, Response, Session, provider_client
from core.preflight import Probe, ProviderPreflight, provider_preflight
from core.provider_settings import provider_settings
from core.shapes import MAX_ITEMS_LOOKED_AT, Expected, fields_differing, items_differing
from core.wire import id_text

# What the client is made from: VOLANTINOPIU_BASE_URL, VOLANTINOPIU_TOKEN.
SETTINGS = ("BASE_URL", "TOKEN")


class Unreadable(ValueError):
    """A field of an answer this module cannot read; the client turns it into a ContractDrift
    naming `field` ("data[].latitude")."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(field)


# --- reading one value ---------------------------------------------------------------------
# What we accept for a value, whichever endpoint it comes from. The document sends every field
# as `null` in its examples and says nothing of types, so: text may come as a number, numbers
# (coordinates, sizes) as numeric text, and ids as either.
def read_id(value: Any, field: str) -> str:
    """An id as text: a whole number (17, 17.0) or non-blank text ("17", "shop-abc")."""
    text = id_text(value)
    if text is None:
        raise Unreadable(field)
    return text


def _text(raw: Mapping[str, Any], name: str, where: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise Unreadable(f"{where}.{name}")


def _number(raw: Mapping[str, Any], name: str, where: str) -> Decimal | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise Unreadable(f"{where}.{name}") from None
        if number.is_finite():
            return number
    raise Unreadable(f"{where}.{name}")


def _optional_id(raw: Mapping[str, Any], name: str, where: str) -> str:
    value = raw.get(name)
    if value is None or value == "":
        return ""
    return read_id(value, f"{where}.{name}")


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
        # The document's addShop body, in its order: 'indirizzo', 'cap', 'citta', 'provincia',
        # 'latitude', 'longitude', 'codice', 'mail', 'url', 'descrizione'.
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
    """A shop as VolantinoPiù holds it. `id` is None only for the answer to a write that said
    success without giving the id (see `VolantinoPiuClient.add_shop`)."""

    id: str | None
    data: ShopData
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, raw: dict[str, Any], where: str = "data") -> RemoteShop:
        """A listed or returned shop: `id` required (number or text); the document's fields
        optional (a missing one reads as empty), text or number; coordinates numbers or numeric
        text. A field of another type raises Unreadable naming it."""
        if not isinstance(raw, Mapping):
            raise Unreadable(where)
        if "id" not in raw:
            raise Unreadable(f"{where}.id")
        return cls(id=read_id(raw["id"], f"{where}.id"), data=shop_data_from(raw, where), raw=raw)


def shop_data_from(raw: Mapping[str, Any], where: str) -> ShopData:
    return ShopData(
        code=_text(raw, "codice", where),
        address=_text(raw, "indirizzo", where),
        city=_text(raw, "citta", where),
        postal_code=_text(raw, "cap", where),
        province=_text(raw, "provincia", where),
        latitude=_number(raw, "latitude", where),
        longitude=_number(raw, "longitude", where),
        email=_text(raw, "mail", where),
        url=_text(raw, "url", where),
        description=_text(raw, "descrizione", where),
    )


SHOP_DATA_FIELDS = tuple(f.name for f in fields(ShopData))
# Every example of the document sends it, GETs included; a body sets it by itself, and the
# multipart upload sets its own (so it is not a session header).
JSON_HEADER = {"Content-Type": "application/json"}

# The document gives no format for date_send ('date_send' => null): Laravel's default datetime
# format, in the provider's (Italian) local time.
DATE_SEND_FORMAT = "%Y-%m-%d %H:%M:%S"
PROVIDER_TZ = ZoneInfo("Europe/Rome")


def format_date_send(value: datetime) -> str:
    return value.astimezone(PROVIDER_TZ).strftime(DATE_SEND_FORMAT)


def parse_date_send(value: str | None) -> datetime | None:
    """Our own format back, or ISO 8601 (what Laravel's `datetime` cast serialises to,
    "2026-12-01T08:30:00.000000Z"); a time without a zone is Italian time."""
    if not value:
        return None
    try:
        return datetime.strptime(value, DATE_SEND_FORMAT).replace(tzinfo=PROVIDER_TZ)
    except ValueError:
        parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PROVIDER_TZ)


@dataclass(frozen=True)
class RemoteMedia:
    """An uploaded file. `id` is None only for an upload answered without one. `size` and
    `sha256` are what the listing says of the file, when it says it (the sandbox does)."""

    id: str | None
    url: str
    name: str
    raw: dict[str, Any]
    size: int | None = None
    sha256: str = ""

    @classmethod
    def from_wire(cls, raw: dict[str, Any], where: str = "data") -> RemoteMedia:
        """`id` required; `url` (or `path`) and `name` (or `filename`) text; `size` a whole
        number or numeric text; `sha256` text. All but the id optional."""
        if not isinstance(raw, Mapping):
            raise Unreadable(where)
        if "id" not in raw:
            raise Unreadable(f"{where}.id")
        return cls(id=read_id(raw["id"], f"{where}.id"), **media_fields_from(raw, where))

    @property
    def created_at(self) -> str:
        """When the listing says the file was uploaded (Laravel's `created_at`, as text); ""
        when it does not say."""
        stamp = self.raw.get("created_at")
        return stamp if isinstance(stamp, str) else ""


def media_url(raw: Mapping[str, Any]) -> str:
    """The file's address in a media answer or listing, as kept with the record: `url`, else
    `path`; "" when neither is text."""
    url = raw.get("url") or raw.get("path") or ""
    return url if isinstance(url, str) else ""


def media_fields_from(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    url_field = "url" if raw.get("url") is not None or "path" not in raw else "path"
    name_field = "name" if raw.get("name") is not None or "filename" not in raw else "filename"
    size = _number(raw, "size", where)
    if size is not None and (size < 0 or size != size.to_integral_value()):
        raise Unreadable(f"{where}.size")
    return {
        "url": _text(raw, url_field, where),
        "name": _text(raw, name_field, where),
        "raw": dict(raw),
        "size": int(size) if size is not None else None,
        "sha256": _text(raw, "sha256", where).strip().lower(),
    }


@dataclass(frozen=True)
class CampaignData:
    """A campaign as we register it. `kind` is "template" (registerCampaign) or "flyer"
    (registerCampaignFlyer); `pv_id` is the shop's VolantinoPiù id, `image` a media URL."""

    kind: str
    pv_id: str
    image: str
    date_send: datetime | None
    promo_name: str
    link: str = ""
    template_name: str = ""
    flyer_link: str = ""

    @property
    def operation(self) -> str:
        """The call that registers it: registerCampaignFlyer for a flyer, else registerCampaign."""
        return "registerCampaignFlyer" if self.kind == "flyer" else "registerCampaign"

    def wire(self) -> dict[str, Any]:
        # registerCampaign: 'pv_id', 'image', 'link', 'date_send', 'template_name', 'promo_name';
        # registerCampaignFlyer: 'pv_id', 'image', 'flyer_link', 'date_send', 'promo_name'.
        body: dict[str, Any] = {"pv_id": _wire_id(self.pv_id), "image": self.image}
        if self.kind == "flyer":
            body["flyer_link"] = self.flyer_link
        else:
            body["link"] = self.link
        body["date_send"] = format_date_send(self.date_send) if self.date_send else None
        if self.kind != "flyer":
            body["template_name"] = self.template_name
        body["promo_name"] = self.promo_name
        return body

    def sent(self) -> dict[str, Any]:
        """The registration as sent, with its kind (`type`, as the sandbox lists it): what a
        listed campaign is matched against (`campaign_matches`)."""
        return self.wire() | {"type": self.kind}


CAMPAIGN_KINDS = ("template", "flyer")


@dataclass(frozen=True)
class RemoteCampaign:
    """A registered campaign. `id` is None only for a registration answered without one."""

    id: str | None
    data: CampaignData
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, raw: dict[str, Any], where: str = "data") -> RemoteCampaign:
        """`id` required; `pv_id` number or text; `date_send` our format or ISO 8601;
        the rest text. `type` ("template"/"flyer") is the sandbox's; without it a campaign with
        a `flyer_link` is a flyer. All but the id optional."""
        if not isinstance(raw, Mapping):
            raise Unreadable(where)
        if "id" not in raw:
            raise Unreadable(f"{where}.id")
        return cls(
            id=read_id(raw["id"], f"{where}.id"), data=campaign_data_from(raw, where), raw=raw
        )


def campaign_data_from(raw: Mapping[str, Any], where: str) -> CampaignData:
    stated = raw.get("type")
    if isinstance(stated, str) and stated.strip().lower() in CAMPAIGN_KINDS:
        kind = stated.strip().lower()
    else:
        kind = "flyer" if raw.get("flyer_link") else "template"
    date_text = _text(raw, "date_send", where)
    try:
        date_send = parse_date_send(date_text.strip())
    except ValueError:
        raise Unreadable(f"{where}.date_send") from None
    return CampaignData(
        kind=kind,
        pv_id=_optional_id(raw, "pv_id", where),
        image=_text(raw, "image", where),
        date_send=date_send,
        promo_name=_text(raw, "promo_name", where),
        link=_text(raw, "link", where),
        template_name=_text(raw, "template_name", where),
        flyer_link=_text(raw, "flyer_link", where),
    )


def campaign_matches(remote: RemoteCampaign, sent: Mapping[str, Any]) -> bool:
    """Whether a listed campaign is exactly the registration `sent` (CampaignData.sent()):
    pv_id, promo_name, date_send (to the second, Italian time) and image; and, when the listing
    states them, the kind (`type`) and the links and template name sent (a campaign registered
    again with another link is another campaign)."""
    data = remote.data
    stated = remote.raw.get("type")
    return (
        data.pv_id == str(sent.get("pv_id"))
        and data.promo_name == sent.get("promo_name")
        and data.image == sent.get("image")
        and data.date_send is not None
        and format_date_send(data.date_send) == sent.get("date_send")
        and (not isinstance(stated, str) or stated.strip().lower() == sent.get("type"))
        and all(
            remote.raw.get(name) in (None, "") or getattr(data, name) == sent[name]
            for name in ("link", "flyer_link", "template_name")
            if name in sent
        )
    )


# --- what the preflight compares ----------------------------------------------------------
# The fields each listing must carry for this module to use it (resolve an id, match a lost
# answer, pull), with the JSON types read there; then fields read only when present.
ID_TYPES = ("number", "text")
TEXT_OR_NULL = ("text", "number", "blank text", "null")
NUMBER_OR_NULL = ("number", "text", "blank text", "null")
SHOP_EXPECTED: Expected = {"id": ID_TYPES, "codice": ("text", "number")}
SHOP_OPTIONAL: Expected = {
    "indirizzo": TEXT_OR_NULL,
    "cap": TEXT_OR_NULL,
    "citta": TEXT_OR_NULL,
    "provincia": TEXT_OR_NULL,
    "latitude": NUMBER_OR_NULL,
    "longitude": NUMBER_OR_NULL,
    "mail": TEXT_OR_NULL,
    "url": TEXT_OR_NULL,
    "descrizione": TEXT_OR_NULL,
}
MEDIA_EXPECTED: Expected = {"id": ID_TYPES, "name": ("text",), "url": ("text",)}
MEDIA_OPTIONAL: Expected = {"size": NUMBER_OR_NULL, "sha256": TEXT_OR_NULL}
CAMPAIGN_EXPECTED: Expected = {
    "id": ID_TYPES,
    "pv_id": ID_TYPES,
    "image": ("text",),
    "date_send": ("text",),
    "promo_name": ("text",),
}
CAMPAIGN_OPTIONAL: Expected = {
    "type": TEXT_OR_NULL,
    "link": TEXT_OR_NULL,
    "flyer_link": TEXT_OR_NULL,
    "template_name": TEXT_OR_NULL,
}

# A refusal (`success: false`) whose message says the record does not exist is typed as a 404
# would be: a delete of something already gone has reached its goal.
NOT_FOUND_WORDING = re.compile(r"not found|non trovat|inesistent|does not exist|non esiste", re.I)

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """A 2xx answer taken apart: what it carries (`payload`), where that was (`where`: "data"
    inside a wrapper, "answer" for a bare body) and whether it said `success: true`."""

    body: Any
    payload: Any
    where: str
    acknowledged: bool


class VolantinoPiuClient(ProviderClient):
    provider = "volantinopiu"

    def __init__(self, *, base_url: str, token: str, **timeouts: float) -> None:
        self._token = token
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        # "includi un'intestazione Authorization con il valore "Bearer {YOUR_AUTH_KEY}"" (and
        # every example's 'Accept' => 'application/json', which core.http sends for all).
        session.headers["Authorization"] = f"Bearer {self._token}"

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response)
        if not isinstance(body, dict):
            return "", ""
        return self._error_in(body)

    @staticmethod
    def _error_in(body: Mapping[str, Any]) -> tuple[str, str]:
        """Laravel's error body: `{"message": …}`, with `"errors": {field: [messages]}` for a
        validation failure (422). Only text is taken (never a structure's values)."""
        message = body.get("message")
        message = message.strip()[:500] if isinstance(message, str) else ""
        field_errors = body.get("errors")
        if isinstance(field_errors, dict) and field_errors:
            details = "; ".join(
                f"{name}: {' '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}"
                for name, msgs in field_errors.items()
            )
            return "VALIDATION", details[:1000]
        code = body.get("code")
        return (str(code)[:64] if isinstance(code, str | int) and code != "" else ""), message

    # --- shops -----------------------------------------------------------------------------
    def list_shops(self) -> list[RemoteShop]:
        return self._listing("listShops")

    def add_shop(self, shop: ShopData) -> RemoteShop:
        """addShop. A success without an id returns the shop with `id=None` (see above)."""

        def read(response: Response) -> RemoteShop:
            found = self._read_written(response, "addShop")
            if found is None:
                return RemoteShop(id=None, data=shop, raw={})
            raw, where = found
            if raw.get("id") in (None, ""):
                return RemoteShop(id=None, data=shop, raw=raw)
            return RemoteShop.from_wire(raw, where)

        return self.request(
            "POST", "addShop", operation="addShop", json_body=shop.wire(), read=read
        )

    def update_shop(self, remote_id: str, shop: ShopData) -> RemoteShop:
        body = {"id": _wire_id(remote_id), **shop.wire()}

        def read(response: Response) -> RemoteShop:
            # We know the id: an answer without the shop (`{"success": true}`, a message, an
            # empty body) means "done" and we keep what we sent; a shop in the answer is
            # preferred (the provider's copy), and must be this shop.
            answer = self._answer(response, "updateShop")
            raw = answer.payload
            if raw is None or (isinstance(raw, Mapping) and not raw):
                return RemoteShop(id=str(remote_id), data=shop, raw={**body})
            if not isinstance(raw, Mapping):
                raise Unreadable(answer.where)
            merged = {**body, **raw}
            if merged.get("id") in (None, ""):
                merged["id"] = body["id"]
            remote = RemoteShop.from_wire(merged, answer.where)
            if remote.id != str(remote_id):
                raise Unreadable(f"{answer.where}.id")
            return remote

        return self.request("POST", "updateShop", operation="updateShop", json_body=body, read=read)

    def delete_shop(self, remote_id: str) -> None:
        self._delete("deleteShop", remote_id)

    # --- media ------------------------------------------------------------------------------
    def list_media(self) -> list[RemoteMedia]:
        return self._listing("listMedia")

    def upload_media(self, *, filename: str, content: bytes, content_type: str) -> RemoteMedia:
        """uploadMedia: "'multipart' => [['name' => 'file', 'contents' => fopen(…)]]". The
        document's `'Content-Type' => 'multipart/form-data'` is set by the multipart encoder,
        with the boundary the header needs. A success without an id returns `id=None`."""

        def read(response: Response) -> RemoteMedia:
            found = self._read_written(response, "uploadMedia")
            raw, where = found if found is not None else ({}, "data")
            if raw.get("id") in (None, ""):
                return RemoteMedia(id=None, **media_fields_from(raw, where))
            return RemoteMedia.from_wire(raw, where)

        return self.request(
            "POST",
            "uploadMedia",
            operation="uploadMedia",
            files={"file": (filename, content, content_type)},
            read=read,
        )

    # --- campaigns --------------------------------------------------------------------------
    def register_campaign(self, campaign: CampaignData) -> RemoteCampaign:
        """registerCampaign (template) or registerCampaignFlyer (flyer), by `campaign.kind`.
        A success without an id returns the campaign with `id=None`."""
        operation = campaign.operation
        sent = campaign.sent()

        def read(response: Response) -> RemoteCampaign:
            found = self._read_written(response, operation)
            raw, where = found if found is not None else ({}, "data")
            merged = {**sent, **raw}
            if raw.get("id") in (None, ""):
                merged.pop("id", None)
                return RemoteCampaign(id=None, data=campaign, raw=merged)
            return RemoteCampaign.from_wire(merged, where)

        return self.request(
            "POST", operation, operation=operation, json_body=campaign.wire(), read=read
        )

    def list_campaigns(self) -> list[RemoteCampaign]:
        # The document's example sends `?id=` blank ("Se viene fornito un parametro 'id' …
        # recupera una campagna specifica"): Scribe's placeholder for an optional parameter. We
        # leave it out for the whole list, which cannot be mistaken for a lookup of no id.
        return self._listing("listCampaigns")

    def get_campaign(self, remote_id: str) -> RemoteCampaign:
        """listCampaigns?id=…: "recupera una campagna specifica tramite il suo ID". Read: the
        campaign (bare or in `data`), or a list holding it; an empty list or `data: null` is
        "not found" (so is a 404); an object with another id cannot be read."""

        def read(response: Response) -> RemoteCampaign:
            answer = self._answer(response, "listCampaigns")
            data = answer.payload
            if isinstance(data, list):
                for index, item in enumerate(data):
                    where = f"{answer.where}[{index}]"
                    if isinstance(item, Mapping) and "id" in item:
                        if read_id(item["id"], f"{where}.id") == str(remote_id):
                            return RemoteCampaign.from_wire(item, where)
                    else:
                        raise Unreadable(f"{where}.id")
                data = None
            if data is None:
                raise errors.ProviderNotFound(provider=self.provider, code="NOT_FOUND", status=200)
            campaign = RemoteCampaign.from_wire(data, answer.where)
            if campaign.id != str(remote_id):
                raise Unreadable(f"{answer.where}.id")
            return campaign

        return self._get("listCampaigns", read, params={"id": remote_id})

    def delete_campaign(self, remote_id: str) -> None:
        self._delete("deleteCampaign", remote_id)

    # --- the calls' common forms --------------------------------------------------------------
    def _get(self, operation: str, read: Callable[[Response], Any], **kwargs: Any) -> Any:
        # Every example of the document sends the JSON header, GETs included.
        return self.request(
            "GET", operation, operation=operation, headers=JSON_HEADER, read=read, **kwargs
        )

    def _listing(self, operation: str) -> list[Any]:
        """A whole listing (listShops, listMedia, listCampaigns), each item read by its
        reader (LIST_READERS)."""
        reader = LIST_READERS[operation]
        return self._get(operation, lambda r: self._read_list(r, operation, reader))

    def _delete(self, operation: str, remote_id: str) -> None:
        self.request(
            "DELETE",
            operation,
            operation=operation,
            json_body={"id": _wire_id(remote_id)},
            read=lambda r: self._done(r, operation),
        )

    # --- reading answers -------------------------------------------------------------------
    # The document prints no answer ("Risposta ricevuta:" is followed by "Richiesta fallita con
    # errore:" under every endpoint). It is generated by Scribe for a Laravel application, so
    # we read what such an application answers, and the other plausible shapes too:
    #   {"success": true, "data": X}   the sandbox's usual answer (X an object or a list);
    #   {"data": X, "message": "…"}    a Laravel API resource, with or without a message;
    #   X                              a bare object or list (`return $shop;`);
    #   {"success": true}              a write that returns no record (`response()->json([
    #                                  'success' => true])`): accepted, id unknown;
    #   {"success": true, "message": …, "id": …}  the record's fields next to `success`;
    #   an empty 2xx body              (`response()->noContent()`): accepted, id unknown.
    #   `success` is a boolean; 1/0 and "true"/"false" are read as such, anything else is drift.
    #   {"success": false, "message": …[, "errors": {…}]}  a refusal: ProviderRejected with the
    #                                  provider's message (VALIDATION and the fields when it
    #                                  names them); ProviderNotFound when the message says
    #                                  "not found"/"non trovato", as a 404 would.
    # Anything else (a list where an object is expected, `data` of another type, an id that is
    # neither a number nor text, a paginated listing) is a ContractDrift naming the field.
    def _answer(self, response: Response, operation: str) -> Answer:
        body = self.json(response)  # not JSON: a garbled answer, checked like a lost one
        if not isinstance(body, dict):
            return Answer(body, body, "answer", acknowledged=body is None)
        acknowledged = False
        if "success" in body:
            success = _flag(body["success"])
            if success is None:
                raise self._drift(response, operation, "success")
            if not success:
                raise self._refusal(response, body)
            acknowledged = True
        if "data" in body:
            return Answer(body, body["data"], "data", acknowledged)
        if acknowledged:
            rest = {k: v for k, v in body.items() if k not in ("success", "message")}
            return Answer(body, rest or None, "answer", acknowledged)
        return Answer(body, body, "answer", acknowledged)

    def _done(self, response: Response, operation: str) -> None:
        """A delete: nothing to read but a refusal (`success: false`) or a `success` that is
        not a boolean; whatever else it carries is not used."""
        self._answer(response, operation)

    def _read_list(
        self, response: Response, operation: str, item: Callable[[dict[str, Any], str], T]
    ) -> list[T]:
        answer = self._answer(response, operation)
        items = answer.payload
        if not isinstance(items, list):
            raise self._drift(response, operation, answer.where)
        self._whole_listing(response, operation, answer)
        try:
            return [item(raw, f"{answer.where}[]") for raw in items]
        except Unreadable as exc:
            raise self._drift(response, operation, exc.field) from None

    def _whole_listing(self, response: Response, operation: str, answer: Answer) -> None:
        """A listing that says it has a next page is not the whole list: a lookup by listing
        would miss records, so it is drift (the document shows no paging parameter). Laravel's
        paginator says so with `next_page_url` or `last_page` > `current_page`, an API resource
        collection with `links.next` or `meta.last_page` > `meta.current_page`."""
        body = answer.body
        if not isinstance(body, dict):
            return
        if body.get("next_page_url"):
            raise self._drift(response, operation, "next_page_url")
        links, meta = body.get("links"), body.get("meta")
        if isinstance(links, dict) and links.get("next"):
            raise self._drift(response, operation, "links.next")
        for place, prefix in ((body, ""), (meta, "meta.")):
            if not isinstance(place, dict):
                continue
            current, last = place.get("current_page"), place.get("last_page")
            if isinstance(current, int) and isinstance(last, int) and last > current:
                raise self._drift(response, operation, f"{prefix}last_page")

    def _read_written(self, response: Response, operation: str) -> tuple[dict, str] | None:
        """The record a create returned, and where: None when the answer said success and
        carried no record at all; an object without an id only when it said success too."""
        answer = self._answer(response, operation)
        raw = answer.payload
        if raw is None and answer.acknowledged:
            return None
        if not isinstance(raw, Mapping):
            raise self._drift(response, operation, answer.where)
        if raw.get("id") in (None, "") and not answer.acknowledged:
            raise self._drift(response, operation, f"{answer.where}.id")
        return dict(raw), answer.where

    def _refusal(self, response: Response, body: dict[str, Any]) -> errors.ProviderError:
        """`success: false` on a 2xx: typed as the same refusal with an HTTP status would be."""
        code, message = self._error_in(body)
        cls: type[errors.ProviderError] = errors.ProviderRejected
        if code != "VALIDATION" and NOT_FOUND_WORDING.search(message):
            cls = errors.ProviderNotFound
        return cls(
            message or _("VolantinoPiù refused the request (success: false)."),
            provider=self.provider,
            code=code or "SUCCESS_FALSE",
            status=response.status_code,
        )

    def _drift(self, response: Response, operation: str, field: str) -> errors.ContractDrift:
        return self.drift(
            response,
            field,
            message=_(
                "VolantinoPiù answered %(operation)s in a form Vetrina cannot read (field "
                "“%(field)s”); it may have applied the request. The call log shows the answer's "
                "shape."
            )
            % {"operation": operation, "field": field},
        )

    def request(self, method: str, path: str, *, operation: str, read=None, **kwargs: Any) -> Any:
        """Every call reads its answer (`read`); a field a reader could not read (Unreadable)
        becomes a ContractDrift naming it."""
        if read is None:
            return super().request(method, path, operation=operation, **kwargs)

        def named(response: Response) -> Any:
            try:
                return read(response)
            except Unreadable as exc:
                raise self._drift(response, operation, exc.field) from None

        return super().request(method, path, operation=operation, read=named, **kwargs)

    # --- the preflight's read-only probes ---------------------------------------------------
    def probe_list(self, operation: str, expected: Expected, optional: Expected) -> list[str]:
        """One GET of a listing: the fields of its items that differ from what this module
        reads (`expected` must be there; `optional` is checked when present; then each item
        through the reader itself, which names a value of the right type it still cannot read,
        such as a date in another format)."""
        reader = LIST_READERS[operation]

        def read(response: Response) -> list[str]:
            answer = self._answer(response, operation)
            if not isinstance(answer.payload, list):
                raise Unreadable(answer.where)
            self._whole_listing(response, operation, answer)
            items = answer.payload
            if operation == "listMedia":
                items = [_with_alternates(item) for item in items]
            where = answer.where
            differing = dict.fromkeys(items_differing(items, expected, where=where))
            for item in items[:MAX_ITEMS_LOOKED_AT]:
                if not isinstance(item, Mapping):
                    continue
                present = {name: types for name, types in optional.items() if name in item}
                differing.update(dict.fromkeys(fields_differing(item, present, where=f"{where}[]")))
                try:
                    reader(item, f"{where}[]")
                except Unreadable as exc:
                    if not any(name.startswith(f"{exc.field}:") for name in differing):
                        differing[f"{exc.field}: not readable"] = None
            return list(differing)

        return self._get(operation, read)

    def preflight_probes(self) -> list[Probe]:
        return [
            Probe("listShops", lambda: self.probe_list("listShops", SHOP_EXPECTED, SHOP_OPTIONAL)),
            Probe(
                "listMedia", lambda: self.probe_list("listMedia", MEDIA_EXPECTED, MEDIA_OPTIONAL)
            ),
            Probe(
                "listCampaigns",
                lambda: self.probe_list("listCampaigns", CAMPAIGN_EXPECTED, CAMPAIGN_OPTIONAL),
            ),
        ]


LIST_READERS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "listShops": RemoteShop.from_wire,
    "listMedia": RemoteMedia.from_wire,
    "listCampaigns": RemoteCampaign.from_wire,
}


def _with_alternates(item: Any) -> Any:
    """A media item as the reader sees it: `path` stands for `url`, `filename` for `name`."""
    if not isinstance(item, Mapping):
        return item
    seen = dict(item)
    for name, alternate in (("url", "path"), ("name", "filename")):
        if name not in seen and alternate in seen:
            seen[name] = seen[alternate]
    return seen


def _flag(value: Any) -> bool | None:
    """`success` as a boolean: true/false, 1/0, "true"/"false"; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _wire_id(remote_id: str) -> int | str:
    return int(remote_id) if str(remote_id).isdigit() else remote_id


def volantinopiu_client() -> VolantinoPiuClient:
    """The process's client, built from settings (one pooled session per configuration)."""
    return provider_client(
        VolantinoPiuClient, **provider_settings(VolantinoPiuClient.provider, *SETTINGS)
    )


def volantinopiu_preflight() -> ProviderPreflight:
    """What `checkproviders` checks for VolantinoPiù: its settings, then its three read-only
    listings."""
    return provider_preflight(
        VolantinoPiuClient.provider,
        "VolantinoPiù",
        needs=SETTINGS,
        probes=lambda: volantinopiu_client().preflight_probes(),
    )
