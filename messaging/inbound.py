"""What Aisac's WhatsApp flows call on our side: getObject (read a customer, their cards and
open requests) and updateObject (push back variables collected in a flow).

Guarded, in this order: the optional address allow-list (AISAC_INBOUND_ALLOWED_IPS, 403), the
rate limit per client address (core.clientaddr, counted in the shared cache, 429), then
AISAC_INBOUND_KEY (header `X-Api-Key`, or query `api_key`; compared in constant time, 401) — so
a flood or a key guesser is slowed before any key comparison. Every call is logged with the
phone masked. Unknown phones and bad payloads get a clear 4xx and change nothing."""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections.abc import Callable
from functools import cache as memoise
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.clientaddr import client_address
from core.provider_settings import provider_setting
from core.retention import log_cutoff, rows_delete
from loyalty.consent import CONSENT_FIELD, consent_set
from loyalty.models import Channel, ConsentSource, Customer, FidelityCard
from loyalty.services import customer_update, msisdn_normalise
from messaging.models import InboundCall

LAST_MOVEMENTS = 5
# The variables a flow may set, and how each is checked.
TEXT_VARIABLES = {"name": 100, "surname": 100}
CONSENT_VARIABLES = {
    "consent_push_sms": Channel.PUSH_SMS,
    "consent_whatsapp": Channel.WHATSAPP,
    "consent_calls": Channel.CALLS,
}
ALLOWED_VARIABLES = {"email", *TEXT_VARIABLES, *CONSENT_VARIABLES}
EMAIL_MAX_LENGTH = Customer._meta.get_field("email").max_length


def inbound_calls_purge() -> int:
    """Forget the log of inbound calls older than LOG_RETENTION_DAYS (core.retention, beat)."""
    return rows_delete(InboundCall.objects.filter(at__lt=log_cutoff()))


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def _mask(user_key: str) -> str:
    digits = "".join(ch for ch in user_key if ch.isdigit())
    return f"…{digits[-3:]}" if digits else ""


def inbound(endpoint: str) -> Callable:
    """Allow-list, rate limit, key (`_guard`) and the log around one inbound endpoint."""

    def decorate(view: Callable[..., JsonResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest) -> HttpResponse:
            started = time.monotonic()
            response = _guard(request) or view(request)
            user_key = request.GET.get("user_key") or getattr(request, "inbound_user_key", "")
            detail = ""
            if response.status_code >= 400:
                detail = json.loads(response.content).get("error", {}).get("code", "")
            InboundCall.objects.create(
                endpoint=endpoint,
                user_key=_mask(user_key),
                status_code=response.status_code,
                detail=detail[:200],
                remote_addr=client_address(request) or None,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return response

        return wrapped

    return decorate


def _guard(request: HttpRequest) -> JsonResponse | None:
    """Allow-list, then rate limit, then key: the first that refuses answers."""
    address = client_address(request)
    if not _address_allowed(address):
        return _error(403, "address_not_allowed", "This address may not call this endpoint.")
    if _over_rate(address):
        response = _error(429, "rate_limited", "Too many calls: slow down.")
        response["Retry-After"] = str(60 - int(time.time()) % 60)
        return response
    expected = provider_setting("aisac", "INBOUND_KEY", default="")  # none: closed to all
    given = request.headers.get("X-Api-Key") or request.GET.get("api_key", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _error(401, "unauthorized", "Missing or wrong key (X-Api-Key header).")
    return None


def _over_rate(address: str) -> bool:
    """Count this call in the client address's current minute (in the shared cache: Redis in
    production, so every web process counts together); True past the limit. Refused calls
    count too. An IPv6 client counts with its whole /64, which one machine can take addresses
    from at will."""
    if ":" in address:
        address = str(ipaddress.ip_network(f"{address}/64", strict=False))
    key = f"aisac-inbound:{address}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        calls = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        calls = 1
    return calls > provider_setting("aisac", "INBOUND_RATE_PER_MINUTE")


def _address_allowed(address: str) -> bool:
    networks = _allowed_networks(
        tuple(provider_setting("aisac", "INBOUND_ALLOWED_IPS", default=()))
    )
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@memoise
def _allowed_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"AISAC_INBOUND_ALLOWED_IPS: {exc}") from exc


def _customer(user_key: str) -> Customer | JsonResponse:
    if not user_key:
        return _error(400, "missing_user_key", "user_key (the customer's phone) is required.")
    try:
        number = msisdn_normalise(user_key if user_key.startswith(("+", "00")) else "+" + user_key)
    except ValidationError:
        return _error(400, "invalid_user_key", "user_key is not a valid phone number.")
    customer = Customer.objects.filter(msisdn=number, erased_at=None).first()
    if customer is None:
        return _error(404, "customer_not_found", "No customer with this phone.")
    return customer


def customer_object(customer: Customer) -> dict[str, Any]:
    """What a flow may read of a customer: details, consents, cards, open requests."""
    cards = FidelityCard.objects.filter(customer=customer).select_related("program", "shop")
    return {
        "user_key": customer.amm_msisdn,
        "name": customer.name,
        "surname": customer.surname,
        "email": customer.email,
        "consent": {
            variable: getattr(customer, CONSENT_FIELD[channel])
            for variable, channel in CONSENT_VARIABLES.items()
        },
        "cards": [
            {
                "code": card.code,
                "program": card.program.name,
                "shop": card.shop.code if card.shop_id else None,
                "points": card.points,
                "active": card.active,
                "last_movements": [
                    {"date": m.date.isoformat(), "action": m.action, "points": m.points}
                    for m in card.movements.order_by("-date", "-id")[:LAST_MOVEMENTS]
                ],
            }
            for card in cards
        ],
        "open_requests": [
            {"request_id": r.remote_id, "type": r.type, "subject": r.subject, "status": r.status}
            for r in customer.care_requests.order_by("-created_at")
            if r.is_open
        ],
    }


@require_GET
@inbound("getObject")
def get_object(request: HttpRequest) -> JsonResponse:
    customer = _customer(request.GET.get("user_key", "").strip())
    if isinstance(customer, JsonResponse):
        return customer
    return JsonResponse({"object": customer_object(customer)})


@require_POST
@inbound("updateObject")
def update_object(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _error(400, "invalid_json", "The body must be JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("variables"), dict):
        return _error(400, "invalid_payload", 'Expected {"user_key": …, "variables": {…}}.')
    request.inbound_user_key = str(body.get("user_key") or "")
    customer = _customer(request.inbound_user_key.strip())
    if isinstance(customer, JsonResponse):
        return customer
    variables: dict[str, Any] = body["variables"]
    unknown = sorted(set(variables) - ALLOWED_VARIABLES)
    if unknown:
        return _error(
            400,
            "variables_not_allowed",
            "Some variables cannot be set.",
            variables=unknown,
            allowed=sorted(ALLOWED_VARIABLES),
        )
    invalid = _invalid(variables)
    if invalid:
        return _error(400, "invalid_variables", "Some values are not valid.", variables=invalid)
    changed = _apply(customer, variables)
    return JsonResponse({"changed": changed, "unchanged": sorted(set(variables) - set(changed))})


def _invalid(variables: dict[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if "email" in variables:
        email = variables["email"]
        try:
            if not isinstance(email, str) or len(email) > EMAIL_MAX_LENGTH:
                raise ValidationError("not a text of the customer's email length")
            if email:
                validate_email(email)
        except ValidationError:
            problems["email"] = "not a valid email address"
    for name, limit in TEXT_VARIABLES.items():
        if name in variables and (
            not isinstance(variables[name], str) or len(variables[name]) > limit
        ):
            problems[name] = f"a text of at most {limit} characters"
    for name in CONSENT_VARIABLES:
        if name in variables and not isinstance(variables[name], bool):
            problems[name] = "true or false"
    return problems


def _apply(customer: Customer, variables: dict[str, Any]) -> dict[str, Any]:
    """Through the same services the admin uses; answers what really changed."""
    changed: dict[str, Any] = {}
    with transaction.atomic():
        details = {
            name: variables.get(name, getattr(customer, name))
            for name in ("name", "surname", "email")
        }
        for name, value in details.items():
            if value != getattr(customer, name):
                changed[name] = value
        if changed:
            customer_update(customer=customer, **details)
        for name, channel in CONSENT_VARIABLES.items():
            if name in variables and consent_set(
                customer=customer,
                channel=channel,
                given=variables[name],
                source=ConsentSource.AISAC,
            ):
                changed[name] = variables[name]
    return changed
