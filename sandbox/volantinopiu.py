"""Simulated VolantinoPiù API (`/api/v2/...`): Bearer token, JSON in and out.

The provider's document gives requests but no responses; the shapes here follow the
Laravel/Scribe conventions the document is generated from (401 `{"message": "Unauthenticated."}`,
422 `{"message", "errors": {field: [..]}}`, data wrapped in `{"success", "data"}`), and are the
same ones `campaigns/volantinopiu.py` parses."""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.framework import SandboxError, json_body, sandbox_endpoint
from sandbox.models import SandboxObject

PROVIDER = "volantinopiu"
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
    expected = settings.SANDBOX_CREDENTIALS[PROVIDER]["token"]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        return JsonResponse({"message": "Unauthenticated."}, status=401)
    return None


def endpoint(*methods: str):
    return sandbox_endpoint(PROVIDER, methods=methods, auth=bearer_auth)


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
        clash = _shops().filter(data__codice=codice)
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
    return JsonResponse({"success": True, "data": [_shop_out(s) for s in _shops().order_by("pk")]})


@endpoint("POST")
def add_shop(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        data = _validate_shop(json_body(request))
        shop = SandboxObject.objects.create(provider=PROVIDER, kind="shop", data=data)
    return JsonResponse({"success": True, "data": _shop_out(shop)}, status=201)


@endpoint("POST")
def update_shop(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    with transaction.atomic():
        shop = _shop_or_404(body)
        shop.data = _validate_shop(body, exclude_id=shop.pk)
        shop.save(update_fields=["data", "updated_at"])
    return JsonResponse({"success": True, "data": _shop_out(shop)})


@endpoint("DELETE")
def delete_shop(request: HttpRequest) -> HttpResponse:
    shop = _shop_or_404(json_body(request))
    shop.delete()
    return JsonResponse({"success": True, "message": "Shop deleted."})
