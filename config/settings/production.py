"""Production: PostgreSQL, Redis, real providers. Every secret and URL must be set in the
environment (or `.env`); nothing here has a usable default, and a missing one stops the start
with the names of everything missing. The provider sandboxes are neither installed nor mounted,
whatever the environment says."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CACHES, DATABASE_ROUTERS, DATABASES, INSTALLED_APPS, env

DEBUG = False

REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
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
)
_missing = [name for name in REQUIRED if not env.str(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these variables, in the environment or .env: "
        + ", ".join(_missing)
    )
for _name in REQUIRED[5:]:
    globals()[_name] = env.str(_name)

SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# SQLite serves one machine with a handful of processes; production is PostgreSQL unless
# somebody says in writing that one machine is what they want.
if DATABASES["default"]["ENGINE"] in ("core.sqlite", "django.db.backends.sqlite3") and (
    not env.bool("ALLOW_SQLITE_IN_PRODUCTION", default=False)
):
    raise ImproperlyConfigured(
        "DATABASE_URL points at SQLite: production runs on PostgreSQL "
        "(set ALLOW_SQLITE_IN_PRODUCTION=true to run a single machine on SQLite on purpose)."
    )

# Rate limits, throttling and the Aisac inbound counter must be shared by every process.
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in ("LocMemCache", "DummyCache"):
    raise ImproperlyConfigured(
        "CACHE_URL must name a cache every process shares (Redis, e.g. redis://host:6379/1): "
        "rate limits and lockouts counted per process do not hold."
    )

# No simulated provider in production: not mounted (config/urls.py), not installed, no tables;
# nor the demo app (demo data, Aisac's bot played by hand).
SANDBOX_ENABLED = False
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("sandbox", "demo")]
DATABASE_ROUTERS = [router for router in DATABASE_ROUTERS if not router.startswith("sandbox.")]
DATABASES.pop("sandbox", None)

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
