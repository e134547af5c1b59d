"""Run-time control of the sandboxes for demos, tests and benchmarks (sandbox only).

The control endpoints change how every provider behaves for the whole installation, so they
answer only an admin session: an active staff user the admin lets in, with the sandbox model
permission for the method (GET: view, POST: change, DELETE: delete), and Django's CSRF check on
POST and DELETE. Refusals are JSON, never a redirect to the HTML login page."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sandbox.framework import knob_for
from sandbox.models import KNOB_FIELDS, Provider, SandboxKnob, SandboxObject

PROVIDERS = tuple(Provider.values)  # ("volantinopiu", "amm", "smshosting", "wolkvox", "aisac")


def knob_set(*, provider: str, **values) -> SandboxKnob:
    """Set some knobs of a provider; the others keep their values."""
    if provider not in PROVIDERS:  # checked before the row is made: a typo makes nothing
        raise ValidationError(
            {
                "provider": _("Unknown provider %(name)r: choose one of %(known)s.")
                % {"name": provider, "known": ", ".join(PROVIDERS)}
            }
        )
    unknown = set(values) - set(KNOB_FIELDS)
    if unknown:
        raise ValueError(f"Unknown knobs: {', '.join(sorted(unknown))}")
    knob, _created = SandboxKnob.objects.get_or_create(provider=provider)
    for name, value in values.items():
        setattr(knob, name, value)
    knob.full_clean()
    knob.save()
    return knob


def knob_reset(*, provider: str) -> None:
    SandboxKnob.objects.filter(provider=provider).delete()


def _knob_json(knob: SandboxKnob) -> dict:
    return {name: getattr(knob, name) for name in (*KNOB_FIELDS, "in_flight", "max_in_flight")}


def _refusal(request: HttpRequest, permission: str) -> JsonResponse | None:
    """None if the request's user may do this, otherwise the JSON answer that says why not."""
    if not request.user.is_authenticated:
        return JsonResponse(
            {"message": _("Log in to the admin as a staff user to use the sandbox controls.")},
            status=401,
            headers={"WWW-Authenticate": 'Session realm="Vetrina admin"'},
        )
    # The admin's own rule (active staff, never a shop-scoped user), then the model permission.
    if not admin.site.has_permission(request) or not request.user.has_perm(permission):
        return JsonResponse(
            {"message": _("You do not have permission to use these sandbox controls.")},
            status=403,
        )
    return None


@require_http_methods(["GET", "HEAD", "POST", "DELETE"])
def knobs_view(request: HttpRequest, provider: str) -> HttpResponse:
    """GET the knobs of a provider, POST a JSON object to change some, DELETE to reset them."""
    if not settings.SANDBOX_ENABLED or provider not in PROVIDERS:
        raise Http404
    action = {"POST": "change", "DELETE": "delete"}.get(request.method, "view")
    if refusal := _refusal(request, f"sandbox.{action}_sandboxknob"):
        return refusal
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
    return JsonResponse(_knob_json(knob_for(provider)))


@require_http_methods(["GET", "HEAD", "DELETE"])
def state_view(request: HttpRequest, provider: str) -> HttpResponse:
    """GET what a simulated provider holds (by kind); DELETE to empty it."""
    if not settings.SANDBOX_ENABLED or provider not in PROVIDERS:
        raise Http404
    action = "delete" if request.method == "DELETE" else "view"
    if refusal := _refusal(request, f"sandbox.{action}_sandboxobject"):
        return refusal
    records = SandboxObject.objects.filter(provider=provider)
    if request.method == "DELETE":
        records.delete()
        return JsonResponse({})
    state: dict[str, list] = {}
    for obj in records.order_by("kind", "pk"):
        state.setdefault(obj.kind, []).append({"id": obj.pk, **obj.data})
    return JsonResponse(state)
