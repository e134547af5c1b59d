"""What every API resource shares: the read-only sync fields and error bodies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

SYNC_FIELDS = ("remote_id", "sync_status", "sync_error")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Validation raised by a service (Django's ValidationError) answers 400 like DRF's own."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = serializers.ValidationError(detail)
    return drf_exception_handler(exc, context)
