"""Passwords set by management commands: the one given, validated, or a strong generated one."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def command_password_set(user, password: str | None) -> str | None:
    """Set `password` (refused with a CommandError if the validators refuse it), or a generated
    one when None. Returns the generated password, to be shown once; None otherwise."""
    chosen = password or secrets.token_urlsafe(12)
    try:
        validate_password(chosen, user)
    except ValidationError as exc:
        raise CommandError(
            _("Password refused: %(reasons)s") % {"reasons": " ".join(exc.messages)}
        ) from exc
    user.set_password(chosen)
    return None if password else chosen
