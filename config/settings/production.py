"""Production: PostgreSQL, Redis, real providers. Every secret and URL must be set in the
environment; nothing here has a usable default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)

for _name in (
    "VOLANTINOPIU_BASE_URL",
    "VOLANTINOPIU_TOKEN",
    "AMM_BASE_URL",
    "AMM_AUTH_KEY",
    "AMM_AUTH_SECRET",
    "SMSHOSTING_BASE_URL",
    "SMSHOSTING_AUTH_KEY",
    "SMSHOSTING_AUTH_SECRET",
    "WOLKVOX_BASE_URL",
    "WOLKVOX_TOKEN",
    "AISAC_BASE_URL",
    "AISAC_API_KEY",
    "AISAC_INBOUND_KEY",
):
    globals()[_name] = env(_name)  # raises ImproperlyConfigured with the variable's name

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
