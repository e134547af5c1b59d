"""What every API resource shares: the read-only sync fields, permissions, object-level scoping,
throttling, pagination and one shape for every error body:

    {"error": {"code": "invalid", "message": "…", "fields": {"name": ["…"]}}}

`fields` appears for invalid input only; `retry_after` (seconds) for throttled requests."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from rest_framework import exceptions, filters, pagination, permissions, serializers, throttling
from rest_framework.response import Response

from core.access import scope_queryset, user_has_no_reach, user_is_shop_scoped
from core.clientaddr import client_address

logger = logging.getLogger(__name__)

SYNC_FIELDS = ("remote_id", "sync_status", "sync_error")

# DRF's Italian catalogue lacks these messages; ours (LOCALE_PATHS, searched first) has them.
DRF_MESSAGES_MISSING_IN_ITALIAN = (gettext_noop("Must be a valid boolean."),)


# --- errors ----------------------------------------------------------------------------------
def api_error_body(*, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every error in one shape. Validation raised by a service (Django's ValidationError)
    answers 400 like DRF's own; anything unexpected answers a plain 500 with no detail."""
    # Imported here: the DRF settings import this module, and rest_framework.views them.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = serializers.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API error in %s", context.get("view").__class__.__name__)
        return Response(
            api_error_body(
                code="server_error",
                message=_("Something went wrong on our side; nothing was changed. Try again."),
            ),
            status=500,
        )
    response.data = _error_body(exc, response.data)
    return response


def _error_body(exc: Exception, data: Any) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        return api_error_body(
            code="invalid", message=_("The request has invalid data: see fields."), fields=fields
        )
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail
    code = detail.code if hasattr(detail, "code") else exc.default_code
    message = str(detail)
    if isinstance(exc, exceptions.ParseError):
        message = _parse_error_message(message)
    extra = {"retry_after": exc.wait} if isinstance(exc, exceptions.Throttled) else {}
    return api_error_body(code=str(code), message=message, **extra)


_JSON_WHERE = re.compile(r"line (\d+) column (\d+)")


def _parse_error_message(detail: str) -> str:
    """DRF's parsers write what they could not read in English, outside gettext ("JSON parse
    error - Expecting value: line 1 column 1 (char 0)"): said here in the user's language."""
    if detail.startswith("JSON parse error"):
        if where := _JSON_WHERE.search(detail):
            return _("The request body is not valid JSON (line %(line)s, column %(column)s).") % {
                "line": where[1],
                "column": where[2],
            }
        return _("The request body is not valid JSON.")
    if detail.startswith(("Multipart form parse error", "FileUpload parse error")):
        return _("The request body is not a valid multipart form.")
    if detail.startswith("Missing filename."):
        return _("The file has no name: send it with a Content-Disposition header and a filename.")
    if detail.startswith("Unsupported charset"):
        return _("The request's character set is not supported: send UTF-8.")
    return detail


# --- the error body in the OpenAPI schema ----------------------------------------------------
ERROR_SCHEMA = {
    "type": "object",
    "description": gettext_lazy("Every API error: 4xx, and a plain 500 with no detail."),
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": gettext_lazy(
                        "Invalid input only: field → messages (nested for nested fields; "
                        "`non_field_errors` for the whole request)."
                    ),
                },
                "rows": {
                    "type": "array",
                    "description": gettext_lazy(
                        "A lead list with invalid leads: each line and its reason."
                    ),
                    "items": {
                        "type": "object",
                        "properties": {"line": {"type": "integer"}, "reason": {"type": "string"}},
                        "required": ["line", "reason"],
                    },
                },
                "retry_after": {
                    "type": "integer",
                    "nullable": True,
                    "description": gettext_lazy("Throttled only: seconds to wait."),
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_ERRORS = {
    "400": gettext_lazy("Invalid input (see `fields`)."),
    "401": gettext_lazy("No or unknown credentials."),
    "403": gettext_lazy("Not allowed to do this."),
    "404": gettext_lazy("No such record (or not one of the user's shops), or no such page."),
    "429": gettext_lazy("Too many requests: see `retry_after`."),
    "default": gettext_lazy("Any other error (405, 406, 409, 415, 422, 500…), in the same shape."),
}


def api_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the `Error` component, answered by every operation
    for its error statuses (400 where there is input, 404 where there is an id or a page)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            where = {parameter["in"] for parameter in operation.get("parameters", [])}
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            statuses = set(_ERRORS) - {"400", "404"}
            if "requestBody" in operation or "query" in where:
                statuses.add("400")
            if "path" in where or names & {"page", "cursor"}:
                statuses.add("404")
            for status in sorted(statuses):
                operation["responses"].setdefault(
                    status, {"description": _ERRORS[status], "content": error}
                )
    return result


# --- who may do what -------------------------------------------------------------------------
class ModelPermissions(permissions.DjangoModelPermissions):
    """Django's model permissions, reading included: without `view_<model>` a user sees none."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class ShopScopePermission(permissions.BasePermission):
    """core.access for the API as a whole: a shop-scoped user (a store manager, or anybody with
    no wider role) only reads, and only with an active shop; without one every request is
    refused, whatever model permissions somebody may have given them. Writes stay with roles
    that see the whole chain, whose services check every shop they touch."""

    message = gettext_lazy(
        "Your account reaches no shop's records through the API: ask marketing to check its role."
    )
    read_only_message = gettext_lazy(
        "Through the API your account only reads its shops' records; make changes at the counter."
    )

    def has_permission(self, request, view) -> bool:
        if not user_is_shop_scoped(request.user):
            return True
        if not request.user.is_authenticated:
            return False  # DRF answers 401 for this: the credentials are what is missing
        if user_has_no_reach(request.user):
            return False
        if request.method not in permissions.SAFE_METHODS:
            self.message = self.read_only_message
            return False
        return True


class ShopScopeFilter(filters.BaseFilterBackend):
    """Object-level rule of core.access on every list and every object lookup: a store manager
    reaches their own shops' records only (404 for anything else)."""

    def filter_queryset(self, request, queryset, view):
        return scope_queryset(request.user, queryset)


# --- throttling ------------------------------------------------------------------------------
class UserRateThrottle(throttling.UserRateThrottle):
    """Per user (per address when anonymous), with the rate read from the settings at request
    time so that it follows the environment (API_THROTTLE_RATE)."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_ident(self, request) -> str:
        """An anonymous caller's address through TRUSTED_PROXY_COUNT proxies only: DRF's own
        reads X-Forwarded-For as the client wrote it, a fresh budget with every forged header."""
        return client_address(request)


# --- pagination ------------------------------------------------------------------------------
class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N&page_size=M (at most 200). Fine for tables of thousands; large, append-only
    tables use CursorPagination, which never counts nor skips rows."""

    page_size_query_param = "page_size"
    max_page_size = 200


class CursorPagination(pagination.CursorPagination):
    """Newest first, ?cursor= from `next`/`previous`; constant time at any depth."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
