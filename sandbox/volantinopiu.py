"""Simulated VolantinoPiù API (`/api/v2/...`): Bearer token, JSON in and out.

The provider's document gives requests but no responses; the shapes here follow the
Laravel/Scribe conventions the document is generated from (401 `{"message": "Unauthenticated."}`,
422 `{"message", "errors": {field: [..]}}`, data wrapped in `{"success", "data"}`), and are the
same ones `campaigns/volantinopiu.py` parses.

The `answers` knob (`sandbox.framework.answer_style`) changes the shape of successful answers
only (errors, validation and state stay the same):

- "" (usual): `{"success": true, "data": …}` (201 for a create), deletes `{"success": true,
  "message": …}`.
- "document": the document prints no answer body ("Risposta ricevuta:" is followed by nothing
  but Scribe's "Richiesta fallita con errore:"), so this is what a Laravel controller literally
  returns when it documents none: every write (addShop, updateShop, deleteShop, uploadMedia,
  registerCampaign, registerCampaignFlyer, deleteCampaign) answers 200 `{"success": true}`
  with no data and no id; the listings answer the bare list (`return Shop::all();`), and
  listCampaigns?id= the bare campaign.
- "variant": the other plausible shapes, all with ids (and pv_id, size, coordinates) as text:
  addShop and registerCampaign[Flyer] answer the bare object (201), listMedia and
  listCampaigns?id= the bare list/object, updateShop, listShops, uploadMedia and listCampaigns
  an API resource `{"data": …, "message": …}`, deletes `{"message": …}`."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import EmailValidator, URLValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from sandbox.framework import SandboxError, answer_style, json_body, sandbox_endpoint
from sandbox.models import SandboxObject
from sandbox.routers import sandbox_atomic

PROVIDER = "volantinopiu"
ROME = ZoneInfo("Europe/Rome")
SHOP_FIELDS = (
    "indirizzo",
    "cap",
    "citta",
    "provincia",
    "latitude",
    "longitude",
    "codice",
    "mail",
    "url",
    "descrizione",
)


def bearer_auth(request: HttpRequest) -> HttpResponse | None:
    expected = settings.SANDBOX_AUTH[PROVIDER]["token"]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        return JsonResponse({"message": "Unauthenticated."}, status=401)
    return None


def endpoint(*methods: str):
    return sandbox_endpoint(PROVIDER, methods=methods, auth=bearer_auth)


# --- the shape of a successful answer (the `answers` knob) ---------------------------------
# In "variant": which answers are bare (the rest are `{"data": …, "message": …}`), and the
# fields sent as text instead of numbers.
VARIANT_BARE = {"addShop", "listMedia", "registerCampaign", "getCampaign"}
VARIANT_MESSAGES = {
    "updateShop": "Shop updated.",
    "listShops": "Shops retrieved.",
    "uploadMedia": "Media uploaded.",
    "listCampaigns": "Campaigns retrieved.",
}
VARIANT_TEXT_FIELDS = ("id", "pv_id", "size", "latitude", "longitude")


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return {
        key: str(item) if key in VARIANT_TEXT_FIELDS and item is not None else item
        for key, item in value.items()
    }


def reply(request: HttpRequest, operation: str, data: Any, *, status: int = 200) -> HttpResponse:
    """A successful answer carrying `data` (a record or a list), in the knob's style."""
    style = answer_style(request)
    if style == "document":
        if isinstance(data, list) or operation == "getCampaign":
            return JsonResponse(data, safe=False)
        return JsonResponse({"success": True})
    if style == "variant":
        data = _as_text(data)
        if operation in VARIANT_BARE:
            return JsonResponse(data, status=status, safe=False)
        return JsonResponse({"data": data, "message": VARIANT_MESSAGES[operation]}, status=status)
    return JsonResponse({"success": True, "data": data}, status=status)


def reply_deleted(request: HttpRequest, message: str) -> HttpResponse:
    style = answer_style(request)
    if style == "document":
        return JsonResponse({"success": True})
    if style == "variant":
        return JsonResponse({"message": message})
    return JsonResponse({"success": True, "message": message})


def _shops():
    return SandboxObject.objects.filter(provider=PROVIDER, kind="shop")


def _shop_out(obj: SandboxObject) -> dict[str, Any]:
    return {"id": obj.pk, **{name: obj.data.get(name) for name in SHOP_FIELDS}}


def _validate_shop(body: dict[str, Any], *, exclude_id: int | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def text(name: str, *, required: bool = False, max_len: int = 255) -> None:
        value = body.get(name)
        if value in (None, ""):
            if required:
                errors.setdefault(name, []).append(f"The {name} field is required.")
            return
        if not isinstance(value, str):
            errors.setdefault(name, []).append(f"The {name} field must be a string.")
        elif len(value) > max_len:
            errors.setdefault(name, []).append(
                f"The {name} field must not be greater than {max_len} characters."
            )

    text("codice", required=True, max_len=50)
    text("indirizzo", required=True)
    text("citta", required=True, max_len=100)
    text("descrizione", max_len=1000)
    text("cap", max_len=5)
    text("provincia", max_len=2)
    if body.get("cap") and not re.fullmatch(r"\d{5}", str(body["cap"])):
        errors.setdefault("cap", []).append("The cap field format is invalid.")
    if body.get("provincia") and not re.fullmatch(r"[A-Za-z]{2}", str(body["provincia"])):
        errors.setdefault("provincia", []).append("The provincia field format is invalid.")
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = body.get(name)
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors.setdefault(name, []).append(f"The {name} field must be a number.")
            continue
        if not -bound <= number <= bound:
            errors.setdefault(name, []).append(
                f"The {name} field must be between -{bound} and {bound}."
            )
    for name, validator in (("mail", EmailValidator()), ("url", URLValidator())):
        if body.get(name):
            try:
                validator(str(body[name]))
            except ValidationError:
                errors.setdefault(name, []).append(f"The {name} field must be a valid {name}.")
    codice = body.get("codice")
    if codice and isinstance(codice, str):
        clash = _shops().filter(natural_key=codice)
        if exclude_id is not None:
            clash = clash.exclude(pk=exclude_id)
        if clash.exists():
            errors.setdefault("codice", []).append("The codice has already been taken.")
    if errors:
        first = next(iter(errors.values()))[0]
        more = sum(len(v) for v in errors.values()) - 1
        message = first + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")
        raise SandboxError(422, {"message": message, "errors": errors})
    return {name: body.get(name) for name in SHOP_FIELDS}


def _shop_or_404(body: dict[str, Any]) -> SandboxObject:
    shop_id = body.get("id")
    if shop_id in (None, ""):
        raise SandboxError(
            422,
            {
                "message": "The id field is required.",
                "errors": {"id": ["The id field is required."]},
            },
        )
    try:
        return _shops().get(pk=int(shop_id))
    except (ValueError, TypeError, SandboxObject.DoesNotExist):
        raise SandboxError(404, {"message": "Shop not found."}) from None


@endpoint("GET")
def list_shops(request: HttpRequest) -> HttpResponse:
    return reply(request, "listShops", [_shop_out(s) for s in _shops().order_by("pk")])


@endpoint("POST")
def add_shop(request: HttpRequest) -> HttpResponse:
    with sandbox_atomic():
        data = _validate_shop(json_body(request))
        shop = SandboxObject.objects.create(
            provider=PROVIDER, kind="shop", data=data, natural_key=data["codice"]
        )
    return reply(request, "addShop", _shop_out(shop), status=201)


@endpoint("POST")
def update_shop(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    with sandbox_atomic():
        shop = _shop_or_404(body)
        shop.data = _validate_shop(body, exclude_id=shop.pk)
        shop.natural_key = shop.data["codice"]
        shop.save(update_fields=["data", "natural_key", "updated_at"])
    return reply(request, "updateShop", _shop_out(shop))


@endpoint("DELETE")
def delete_shop(request: HttpRequest) -> HttpResponse:
    shop = _shop_or_404(json_body(request))
    shop.delete()
    return reply_deleted(request, "Shop deleted.")


# --- media ---------------------------------------------------------------------------------
MEDIA_MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MEDIA_MAX_KB = 5120


def _media():
    return SandboxObject.objects.filter(provider=PROVIDER, kind="media")


def _media_out(obj: SandboxObject) -> dict[str, Any]:
    return {"id": obj.pk, **obj.data}


def _media_path(obj_id: int, name: str) -> str:
    return f"sandbox/volantinopiu/media/{obj_id}_{name}"


@endpoint("GET")
def list_media(request: HttpRequest) -> HttpResponse:
    return reply(request, "listMedia", [_media_out(m) for m in _media().order_by("pk")])


@endpoint("POST")
def upload_media(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        raise SandboxError(422, _field_error("file", "The file field is required."))
    if upload.size > MEDIA_MAX_KB * 1024:
        raise SandboxError(
            422,
            _field_error(
                "file", f"The file field must not be greater than {MEDIA_MAX_KB} kilobytes."
            ),
        )
    content = upload.read()
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            image_format = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        image_format = None
    if image_format not in MEDIA_MIMES:
        raise SandboxError(
            422,
            _field_error("file", "The file field must be a file of type: jpeg, jpg, png, webp."),
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "_", upload.name or "upload")[-100:]
    with sandbox_atomic():
        media = SandboxObject.objects.create(provider=PROVIDER, kind="media", data={})
        default_storage.save(_media_path(media.pk, name), ContentFile(content))
        media.data = {
            "name": name,
            "mime": MEDIA_MIMES[image_format],
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "url": request.build_absolute_uri(f"/sandbox/volantinopiu/storage/{media.pk}/{name}"),
        }
        media.save(update_fields=["data", "updated_at"])
    return reply(request, "uploadMedia", _media_out(media), status=201)


def media_file(request: HttpRequest, media_id: int, name: str) -> HttpResponse:
    """The stored file, as the provider's storage URL would serve it (no auth, like a CDN)."""
    media = _media().filter(pk=media_id, data__name=name).first()
    if media is None or not settings.SANDBOX_ENABLED:
        raise Http404
    with default_storage.open(_media_path(media.pk, name)) as stored:
        return HttpResponse(stored.read(), content_type=media.data["mime"])


# --- campaigns -----------------------------------------------------------------------------
def _campaigns():
    return SandboxObject.objects.filter(provider=PROVIDER, kind="campaign")


def _campaign_out(obj: SandboxObject) -> dict[str, Any]:
    return {"id": obj.pk, **obj.data}


def _field_error(name: str, message: str) -> dict[str, Any]:
    return {"message": message, "errors": {name: [message]}}


def _validate_campaign(body: dict[str, Any], *, kind: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    link_field = "flyer_link" if kind == "flyer" else "link"
    required = ["pv_id", "image", link_field, "date_send", "promo_name"]
    if kind == "template":
        required.append("template_name")
    for name in required:
        if body.get(name) in (None, ""):
            add(name, f"The {name} field is required.")
    pv_id = body.get("pv_id")
    if pv_id not in (None, "") and not _shops().filter(pk=_int_or_none(pv_id) or 0).exists():
        add("pv_id", "The selected pv id is invalid.")
    for name in ("image", link_field):
        value = body.get(name)
        if value not in (None, ""):
            try:
                URLValidator()(str(value))
            except ValidationError:
                add(name, f"The {name} field must be a valid URL.")
    for name in ("promo_name", "template_name"):
        value = body.get(name)
        if value not in (None, "") and (not isinstance(value, str) or len(value) > 255):
            add(name, f"The {name} field must be a string of at most 255 characters.")
    date_send = body.get("date_send")
    if date_send not in (None, ""):
        try:
            when = datetime.strptime(str(date_send), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ROME)
        except ValueError:
            add("date_send", "The date send field must match the format Y-m-d H:i:s.")
        else:
            if when <= timezone.now():
                add("date_send", "The date send field must be a date after now.")
    if errors:
        first = next(iter(errors.values()))[0]
        raise SandboxError(422, {"message": first, "errors": errors})
    data = {name: body.get(name) for name in required}
    data["pv_id"] = _int_or_none(pv_id)
    data["type"] = kind
    return data


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@endpoint("GET")
def list_campaigns(request: HttpRequest) -> HttpResponse:
    wanted = request.GET.get("id", "")
    if wanted:
        campaign = _campaigns().filter(pk=_int_or_none(wanted) or 0).first()
        if campaign is None:
            raise SandboxError(404, {"message": "Campaign not found."})
        return reply(request, "getCampaign", _campaign_out(campaign))
    return reply(request, "listCampaigns", [_campaign_out(c) for c in _campaigns().order_by("pk")])


def _register(request: HttpRequest, kind: str) -> HttpResponse:
    with sandbox_atomic():
        data = _validate_campaign(json_body(request), kind=kind)
        campaign = SandboxObject.objects.create(provider=PROVIDER, kind="campaign", data=data)
    return reply(request, "registerCampaign", _campaign_out(campaign), status=201)


@endpoint("POST")
def register_campaign(request: HttpRequest) -> HttpResponse:
    return _register(request, "template")


@endpoint("POST")
def register_campaign_flyer(request: HttpRequest) -> HttpResponse:
    return _register(request, "flyer")


@endpoint("DELETE")
def delete_campaign(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    if body.get("id") in (None, ""):
        raise SandboxError(422, _field_error("id", "The id field is required."))
    campaign = _campaigns().filter(pk=_int_or_none(body["id"]) or 0).first()
    if campaign is None:
        raise SandboxError(404, {"message": "Campaign not found."})
    campaign.delete()
    return reply_deleted(request, "Campaign deleted.")
