"""What every simulated provider shares: mounting, fault knobs, JSON in and out.

A provider module writes plain views and wraps them with `sandbox_endpoint`, which applies, in
order: the concurrency cap, latency, forced failures, the provider's auth check, the view, then
the after-effects (late answer, garbled body), and last the answer time (a floor on the whole)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import random
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.rows import row_load
from sandbox.models import SandboxKnob

AuthCheck = Callable[[HttpRequest], HttpResponse | None]


class SandboxError(Exception):
    """Raised inside a sandbox view to answer with an error body in the provider's shape."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(body)


def basic_auth(provider: str) -> AuthCheck:
    """HTTP Basic against the provider's sandbox credentials (key, secret); 401 otherwise."""

    def check(request: HttpRequest) -> HttpResponse | None:
        expected = settings.SANDBOX_AUTH[provider]
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            key, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key = secret = ""
        if not (
            scheme == "Basic"
            and hmac.compare_digest(key.encode(), expected["key"].encode())
            and hmac.compare_digest(secret.encode(), expected["secret"].encode())
        ):
            return JsonResponse({"errorCode": 401, "errorMsg": "UNAUTHORIZED"}, status=401)
        return None

    return check


def knob_for(provider: str) -> SandboxKnob:
    """The provider's knobs, read on every call (a test or a person may turn one at any time):
    with SQL built once (core.rows), which cost a call a quarter of what the ORM did."""
    return row_load(SandboxKnob, provider, by="provider") or SandboxKnob(provider=provider)


def answer_style(request: HttpRequest) -> str:
    """The provider's answer style knob for this request: "" (the sandbox's usual answers),
    "document" (the document's literal examples) or "variant" (other shapes a real provider
    may use, which the client must read too)."""
    return getattr(request, "sandbox_answers", "")


def json_body(request: HttpRequest) -> dict[str, Any]:
    """Parse a JSON object body, or answer 400 like a JSON API would."""
    if not request.content_type or request.content_type != "application/json":
        raise SandboxError(415, {"message": "Content-Type must be application/json."})
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise SandboxError(400, {"message": "Malformed JSON body."}) from None
    if not isinstance(body, dict):
        raise SandboxError(400, {"message": "The JSON body must be an object."})
    return body


def sandbox_endpoint(
    provider: str, *, methods: tuple[str, ...], auth: AuthCheck
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not settings.SANDBOX_ENABLED:
                raise Http404
            arrived = time.monotonic()
            knob = knob_for(provider)
            counted = _enter(knob)
            if counted is False:
                return JsonResponse({"message": "Too Many Requests."}, status=429)
            try:
                response = _handle(knob, view, request, methods, auth, *args, **kwargs)
            finally:
                if counted:
                    SandboxKnob.objects.filter(pk=knob.pk).update(in_flight=F("in_flight") - 1)
            if knob.answer_time_ms:
                # A provider that takes this long a call, its work included: the sandbox's own
                # work (parsing and storing 10,000 leads, say) does not come on top.
                time.sleep(max(0.0, knob.answer_time_ms / 1000 - (time.monotonic() - arrived)))
            return response

        return endpoint

    return decorate


def _handle(knob, view, request, methods, auth, *args, **kwargs) -> HttpResponse:
    if knob.latency_ms:
        time.sleep(knob.latency_ms / 1000)
    forced = _forced_status(knob)
    if forced:
        return JsonResponse({"message": f"Sandbox forced status {forced}."}, status=forced)
    if knob.error_rate and random.random() < knob.error_rate:  # noqa: S311
        return JsonResponse({"message": "Server Error"}, status=500)
    if request.method not in methods:
        return JsonResponse(
            {"message": f"The {request.method} method is not supported."}, status=405
        )
    refusal = auth(request)
    if refusal is not None:
        return refusal
    request.sandbox_answers = knob.answers
    try:
        response = view(request, *args, **kwargs)
    except SandboxError as exc:
        response = JsonResponse(exc.body, status=exc.status)
    if knob.latency_after_ms:
        time.sleep(knob.latency_after_ms / 1000)
    if knob.malformed_json and response.status_code < 300:
        return HttpResponse(b'{"success": tru', content_type="application/json")
    return response


def _enter(knob: SandboxKnob) -> bool | None:
    """Count the request against the cap: True if counted, False if over, None if no cap."""
    if knob.pk is None or knob.concurrency_cap is None:
        return None
    entered = (
        SandboxKnob.objects.filter(pk=knob.pk)
        .filter(Q(in_flight__lt=F("concurrency_cap")))
        .update(in_flight=F("in_flight") + 1)
    )
    if not entered:
        return False
    SandboxKnob.objects.filter(pk=knob.pk).update(
        max_in_flight=Greatest(F("max_in_flight"), F("in_flight"))
    )
    return True


def _forced_status(knob: SandboxKnob) -> int | None:
    if not knob.forced_status or knob.pk is None:
        return None
    if knob.forced_remaining is None:
        return knob.forced_status
    used = SandboxKnob.objects.filter(pk=knob.pk, forced_remaining__gt=0).update(
        forced_remaining=F("forced_remaining") - 1
    )
    return knob.forced_status if used else None
