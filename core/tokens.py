"""API tokens: made, shown once, revoked. Only a digest is stored (django-rest-knox); the first
characters (`token_key`) tell tokens apart in lists and are all anybody can read later."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from core.models import ApiToken
from core.roles import API_SCRIPT, STORE_MANAGER

# Who may hold a token: scripts, and store managers (their shop's own scripts read its records;
# core.access limits them to those shops). Staff and superusers use the admin.
TOKEN_ROLES = (API_SCRIPT.group, STORE_MANAGER.group)
SHOWN_PREFIX_LENGTH = 12


def token_holders() -> QuerySet:
    """Active users a token may be made for."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_superuser=False, groups__name__in=TOKEN_ROLES)
        .distinct()
        .order_by("username")
    )


def api_token_create(*, user) -> tuple[ApiToken, str]:
    """A new token for `user`; the second value is the token itself, to be shown once."""
    return ApiToken.objects.create(user=user)


@transaction.atomic
def api_token_replace(*, token: ApiToken) -> tuple[ApiToken, str]:
    """A new token for the same user; the old one stops working at once."""
    user = token.user
    ApiToken.objects.filter(pk=token.pk).delete()
    return api_token_create(user=user)


def api_tokens_revoke(*, user) -> int:
    deleted, _details = ApiToken.objects.filter(user=user).delete()
    return deleted


def token_prefix(token: ApiToken) -> str:
    return f"{token.token_key[:SHOWN_PREFIX_LENGTH]}…"
