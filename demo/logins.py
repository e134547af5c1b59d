"""The demo's logins, kept under var/ so that every start of the embedded default shows the same
ones: a newcomer who wrote a password down can still use it after a restart.

`var/demo-logins.json` (readable by its owner only) holds each demo user's password and the API
script's token. A stored password is reused only while it still opens its account (nobody
changed it meanwhile), a stored token only while it exists; otherwise a new one is made and
stored. Demo data only: production does not install this app."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from knox.settings import CONSTANTS

from core.models import ApiToken
from core.tokens import api_token_create, api_tokens_revoke


def logins_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.json"


def _read() -> dict[str, str]:
    try:
        stored = json.loads(logins_file().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, str)}


def _write(logins: dict[str, str]) -> None:
    path = logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(logins, out, indent=2, sort_keys=True)
    path.chmod(0o600)


def demo_password(user, *, length: int = 12) -> str:
    """The user's demo password: the stored one while it still opens the account, otherwise a
    new one (set on the user and stored). Saves the user."""
    logins = _read()
    password = logins.get(f"password:{user.username}", "")
    if not password or not user.check_password(password):
        password = secrets.token_urlsafe(length)
        user.set_password(password)
        logins[f"password:{user.username}"] = password
        _write(logins)
    user.save()
    return password


def demo_api_token(user) -> str:
    """The API script's demo token: the stored one while it exists (only its digest is in the
    database, so it can be shown again only from here), otherwise a new one; any other demo
    token of the user is revoked."""
    logins = _read()
    secret = logins.get(f"token:{user.username}", "")
    key = secret[: CONSTANTS.TOKEN_KEY_LENGTH]
    if secret and ApiToken.objects.filter(user=user, token_key=key).exists():
        ApiToken.objects.filter(user=user).exclude(token_key=key).delete()
        return secret
    api_tokens_revoke(user=user)
    _token, secret = api_token_create(user=user)
    logins[f"token:{user.username}"] = secret
    _write(logins)
    return secret
