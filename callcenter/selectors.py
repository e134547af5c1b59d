"""Reads of the call center's records used by more than one caller (the admin's dashboard, …)."""

from __future__ import annotations

from callcenter.models import CallUpload


def recent_uploads(limit: int = 8) -> list[CallUpload]:
    """The dashboard's "Call-center uploads": the newest lead uploads, with their campaign."""
    return list(CallUpload.objects.select_related("campaign").order_by("-created_at")[:limit])
