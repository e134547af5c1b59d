"""Run-time control of the sandboxes for demos, tests and benchmarks (sandbox only)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.models import SandboxKnob, SandboxObject

PROVIDERS = ("volantinopiu", "amm", "smshosting", "wolkvox", "aisac")
KNOB_FIELDS = (
    "latency_ms",
    "latency_after_ms",
    "answer_time_ms",
    "error_rate",
    "forced_status",
    "forced_remaining",
    "malformed_json",
    "concurrency_cap",
)


def knob_set(*, provider: str, **values) -> SandboxKnob:
    """Set some knobs of a provider; the others keep their values."""
    unknown = set(values) - set(KNOB_FIELDS)
    if unknown:
        raise ValueError(f"Unknown knobs: {', '.join(sorted(unknown))}")
    knob, _ = SandboxKnob.objects.get_or_create(provider=provider)
    for name, value in values.items():
        setattr(knob, name, value)
    knob.full_clean()
    knob.save()
    return knob


def knob_reset(*, provider: str) -> None:
    SandboxKnob.objects.filter(provider=provider).delete()


def _knob_json(knob: SandboxKnob) -> dict:
    return {name: getattr(knob, name) for name in (*KNOB_FIELDS, "in_flight", "max_in_flight")}


@csrf_exempt
def knobs_view(request: HttpRequest, provider: str) -> HttpResponse:
    """GET the knobs of a provider, POST a JSON object to change some, DELETE to reset them."""
    if not settings.SANDBOX_ENABLED or provider not in PROVIDERS:
        raise Http404
    if request.method == "POST":
        try:
            knob = knob_set(provider=provider, **json.loads(request.body or b"{}"))
        except ValidationError as exc:
            return JsonResponse(
                {"message": "Invalid knobs.", "errors": exc.message_dict}, status=400
            )
        except (ValueError, TypeError) as exc:
            return JsonResponse({"message": str(exc)}, status=400)
        return JsonResponse(_knob_json(knob))
    if request.method == "DELETE":
        knob_reset(provider=provider)
        return JsonResponse({})
    knob = SandboxKnob.objects.filter(provider=provider).first() or SandboxKnob(provider=provider)
    return JsonResponse(_knob_json(knob))


@csrf_exempt
def state_view(request: HttpRequest, provider: str) -> HttpResponse:
    """GET what a simulated provider holds (by kind); DELETE to empty it."""
    if not settings.SANDBOX_ENABLED or provider not in PROVIDERS:
        raise Http404
    records = SandboxObject.objects.filter(provider=provider)
    if request.method == "DELETE":
        records.delete()
        return JsonResponse({})
    state: dict[str, list] = {}
    for obj in records.order_by("kind", "pk"):
        state.setdefault(obj.kind, []).append({"id": obj.pk, **obj.data})
    return JsonResponse(state)
