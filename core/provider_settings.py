"""The one reader of provider settings, as django-anymail's `get_anymail_setting`: a provider's
setting is `settings.<PROVIDER>_<NAME>` (AMM_AUTH_KEY, WOLKVOX_SERVER, AISAC_INBOUND_KEY, …),
read here by the provider's name and the setting's own name.

A required setting that is missing or blank raises `ProviderSettingMissing`, naming it, when it
is read — at call time, so a delivery fails with a message the user can act on, as a refused
credential would, and a web page or a command says it too (it is an ImproperlyConfigured)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from core import errors

REQUIRED: Any = object()


class ProviderSettingMissing(errors.ProviderAuthError, ImproperlyConfigured):
    """A setting a provider needs is missing or blank: nothing reaches the provider until a
    person sets it (not retried). `setting` is its name in the settings."""

    def __init__(self, provider: str, name: str) -> None:
        self.setting = provider_setting_name(provider, name)
        if name.upper() == "BASE_URL":  # as core.http says it of a client made without one
            message = _("%(provider)s: the base URL is not configured.") % {"provider": provider}
        else:
            message = _("%(provider)s: %(setting)s is not configured.") % {
                "provider": provider,
                "setting": self.setting,
            }
        super().__init__(message, provider=provider)


def provider_setting_name(provider: str, name: str) -> str:
    """`AMM_AUTH_KEY` for ("amm", "auth_key")."""
    return f"{provider}_{name}".upper()


def setting_is_set(setting: str) -> bool:
    """Whether the setting exists and is not blank (text of spaces is blank; 0 and [] are set)."""
    value = getattr(settings, setting, None)
    return value is not None and not (isinstance(value, str) and not value.strip())


def provider_setting(provider: str, name: str, *, default: Any = REQUIRED) -> Any:
    """`settings.<PROVIDER>_<NAME>`; when it is missing or blank, `default`, or, without one,
    ProviderSettingMissing naming it."""
    setting = provider_setting_name(provider, name)
    if setting_is_set(setting):
        return getattr(settings, setting)
    if default is REQUIRED:
        raise ProviderSettingMissing(provider, name)
    return default


def provider_settings(provider: str, *names: str) -> dict[str, Any]:
    """Required settings as a client's keyword arguments: {"base_url": …, "token": …} for
    ("BASE_URL", "TOKEN"), the first missing one raising ProviderSettingMissing."""
    return {name.lower(): provider_setting(provider, name) for name in names}


def provider_setting_names(provider: str, names: Iterable[str]) -> tuple[str, ...]:
    """The settings' own names, for the preflight's list of what a client needs."""
    return tuple(provider_setting_name(provider, name) for name in names)


def settings_missing(settings_names: Iterable[str]) -> list[str]:
    """Those of the named settings that are missing or blank."""
    return [setting for setting in settings_names if not setting_is_set(setting)]
