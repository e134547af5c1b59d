"""Simulated Aisac API (`/v1/...`): `api_key` in the query string, JSON in and out, Italian
time. A request moves from `open` to `in_progress` to `closed` one step of
SANDBOX_AISAC_STEP_SECONDS apart.

The answer style knob (`answers`, see `sandbox.framework.answer_style`):

- "" (usual): the bodies designed in docs/aisac.md, which messaging/aisac.py reads.
- "document": the document read literally. It prints no answer at all (every "Response" is
  empty) and names no list parameter and no field of ours, only `request_id` and `user_key`.
  So: the bare object or bare JSON array (no wrapper, no `page`, no `total`: "Recupera tutti i
  flussi…"), `reference` neither kept nor given back (the document does not know it), and
  getRequests ignores every filter and page (the document names none) and lists everything.
- "variant": other shapes a real Aisac may well use: ids as numbers (`7`, not `"REQ-7"`),
  `user_key` as a number, ISO 8601 times with their offset, every answer under a wrapper
  (`{"status": "success", "data": …}`, `{"success": true, "data": {"charges": […]}}`), the
  total as text, createOrder answering `{"status": "success"}` with no id, and `reference`
  kept for the filter but never given back.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.framework import SandboxError, answer_style, json_body, sandbox_endpoint
from sandbox.models import SandboxObject

PROVIDER = "aisac"
ROME = ZoneInfo("Europe/Rome")
TYPES = ("information", "complaint", "loyalty", "order", "other")
PAGE_SIZE = 20


def api_key_auth(request: HttpRequest) -> HttpResponse | None:
    expected = settings.SANDBOX_AUTH[PROVIDER]["api_key"]
    given = request.GET.get("api_key", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse(
            {"status": "error", "code": "INVALID_API_KEY", "message": "Invalid api_key."},
            status=401,
        )
    return None


def endpoint(*methods: str):
    return sandbox_endpoint(PROVIDER, methods=methods, auth=api_key_auth)


def invalid(message: str, code: str = "VALIDATION_ERROR", status: int = 422) -> SandboxError:
    return SandboxError(status, {"status": "error", "code": code, "message": message})


DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _when(value, style: str = "") -> str:
    local = timezone.localtime(value, ROME)
    if style == "variant":
        return local.isoformat(timespec="seconds")
    return local.strftime(DATE_FORMAT)


def _id(prefix: str, pk: int, style: str) -> str | int:
    return pk if style == "variant" else f"{prefix}-{pk}"


def _answer(request: HttpRequest, body: Any, *, status: int = 200, wrapper: str = "status"):
    """The answer in the knob's style: as is, or under a `data` wrapper for "variant"."""
    if answer_style(request) == "variant":
        body = (
            {"success": True, "data": body}
            if wrapper == "success"
            else {"status": "success", "data": body}
        )
    return JsonResponse(body, status=status, safe=False)


def _requests():
    return SandboxObject.objects.filter(provider=PROVIDER, kind="care_request")


def _request_out(obj: SandboxObject, style: str = "") -> dict[str, Any]:
    step = timedelta(seconds=settings.SANDBOX_AISAC_STEP_SECONDS)
    age = timezone.now() - obj.created_at
    status = "open" if age < step else "in_progress" if age < 2 * step else "closed"
    updated = obj.created_at + (
        step * (0 if status == "open" else 1 if status == "in_progress" else 2)
    )
    out = {
        "request_id": _id("REQ", obj.pk, style),
        **obj.data,
        "status": status,
        "created_at": _when(obj.created_at, style),
        "updated_at": _when(updated, style),
    }
    if style:  # neither the document nor the variant gives our reference back
        out.pop("reference", None)
    if style == "variant":
        out["user_key"] = int(out["user_key"])
    return out


def _user_key(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{8,15}", value):
        raise invalid("user_key must be the phone number with its country prefix, digits only.")
    return value


@endpoint("POST")
def create_request(request: HttpRequest) -> HttpResponse:
    style = answer_style(request)
    body = json_body(request)
    user_key = _user_key(body.get("user_key"))
    if body.get("type") not in TYPES:
        raise invalid(f"type must be one of: {', '.join(TYPES)}.")
    subject = body.get("subject")
    if not isinstance(subject, str) or not 0 < len(subject) <= 200:
        raise invalid("subject is required (at most 200 characters).")
    data = {
        "user_key": user_key,
        "type": body["type"],
        "subject": subject,
        "message": str(body.get("message") or "")[:5000],
        # The document knows no reference: in "document" mode Aisac drops it.
        "reference": "" if style == "document" else str(body.get("reference") or "")[:64],
    }
    created = SandboxObject.objects.create(provider=PROVIDER, kind="care_request", data=data)
    return _answer(request, _request_out(created, style), status=201)


def _by_request_id(value: str) -> SandboxObject:
    match = re.fullmatch(r"(?:REQ-)?(\d+)", value or "")
    found = _requests().filter(pk=int(match.group(1))).first() if match else None
    if found is None:
        raise invalid("No request with this request_id.", code="REQUEST_NOT_FOUND", status=404)
    return found


@endpoint("GET")
def get_request(request: HttpRequest) -> HttpResponse:
    found = _by_request_id(request.GET.get("request_id", ""))
    return _answer(request, _request_out(found, answer_style(request)))


@endpoint("GET")
def get_requests(request: HttpRequest) -> HttpResponse:
    style = answer_style(request)
    objects = list(_requests().order_by("pk"))
    if style == "document":  # no filter, no page: the document names none
        return JsonResponse([_request_out(obj, style) for obj in objects], safe=False)
    for name in ("user_key", "type", "reference"):
        wanted = request.GET.get(name)
        if wanted:
            objects = [obj for obj in objects if obj.data.get(name) == wanted]
    if request.GET.get("from_date"):
        try:
            since = datetime.strptime(request.GET["from_date"], DATE_FORMAT).replace(tzinfo=ROME)
        except ValueError:
            raise invalid(f"from_date must be written {DATE_FORMAT}.") from None
        objects = [obj for obj in objects if obj.created_at.replace(microsecond=0) >= since]
    items = [_request_out(obj, style) for obj in objects]
    if request.GET.get("status"):
        items = [item for item in items if item["status"] == request.GET["status"]]
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        raise invalid("page must be a number.") from None
    start = (page - 1) * PAGE_SIZE
    if style == "variant":
        return JsonResponse(
            {
                "status": "success",
                "data": items[start : start + PAGE_SIZE],
                "page": str(page),
                "total": str(len(items)),
            }
        )
    return JsonResponse(
        {"requests": items[start : start + PAGE_SIZE], "page": page, "total": len(items)}
    )


@endpoint("GET")
def flows_by_user_key(request: HttpRequest) -> HttpResponse:
    style = answer_style(request)
    user_key = _user_key(request.GET.get("user_key"))
    flows = [
        {
            "flow_id": _id("FLOW", obj.pk, style),
            "name": f"Assistenza: {obj.data['subject']}",
            "status": _request_out(obj)["status"],
            "started_at": _when(obj.created_at, style),
        }
        for obj in _requests().filter(data__user_key=user_key).order_by("pk")
    ]
    if style == "document":
        return JsonResponse(flows, safe=False)
    if style == "variant":
        return _answer(request, flows)
    return JsonResponse({"user_key": user_key, "flows": flows})


@endpoint("GET")
def charges_by_user_key(request: HttpRequest) -> HttpResponse:
    style = answer_style(request)
    user_key = _user_key(request.GET.get("user_key"))
    orders = SandboxObject.objects.filter(provider=PROVIDER, kind="order", data__user_key=user_key)
    charges = [
        {
            "charge_id": _id("CHG", obj.pk, style),
            "amount": obj.data["total"],
            "currency": obj.data["currency"],
            "description": f"Ordine {obj.data['order_id']}",
            "created_at": _when(obj.created_at, style),
        }
        for obj in orders.order_by("pk")
    ]
    if style == "document":
        return JsonResponse(charges, safe=False)
    if style == "variant":
        return _answer(request, {"charges": charges}, wrapper="success")
    return JsonResponse({"user_key": user_key, "charges": charges})


@endpoint("POST")
def create_order(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    order_id = body.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise invalid("order_id is required.")
    user_key = _user_key(body.get("user_key"))
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise invalid("lines must list at least one product.")
    try:
        total = Decimal(str(body.get("total")))
        for line in lines:
            if int(line["quantity"]) < 1 or Decimal(str(line["price"])) < 0 or not line.get("sku"):
                raise ValueError
    except (InvalidOperation, ValueError, KeyError, TypeError):
        raise invalid("total and every line's sku, quantity and price are required.") from None
    if SandboxObject.objects.filter(
        provider=PROVIDER, kind="order", data__order_id=order_id
    ).exists():
        raise invalid("An order with this order_id exists.", code="DUPLICATE_ORDER")
    data = {
        "order_id": order_id,
        "user_key": user_key,
        "shop_code": str(body.get("shop_code") or ""),
        "total": str(total),
        "currency": str(body.get("currency") or "EUR"),
        "lines": lines,
    }
    SandboxObject.objects.create(provider=PROVIDER, kind="order", data=data)
    if answer_style(request) == "variant":  # a success that names no id: the number is ours
        return JsonResponse({"status": "success"}, status=201)
    return JsonResponse({"order_id": order_id, "status": "created"}, status=201)
