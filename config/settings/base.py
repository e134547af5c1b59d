"""Settings shared by every environment. Everything that differs between machines comes from
the environment (or `.env`) through the single `env` object."""

from datetime import timedelta
from pathlib import Path

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env

VAR_DIR = Path(env("VETRINA_VAR_DIR", default=str(BASE_DIR / "var")))

# Required: the embedded default (local.py) supplies one, production refuses to start without it.
SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "core.apps.VetrinaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "core.third_party_apps.KnoxConfig",  # knox and axes, with Italian names
    "core.third_party_apps.AxesConfig",
    "core.third_party_apps.AuditlogConfig",  # the audit trail (core/audit.py), before core
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "core",
    "sandbox",
    "campaigns",
    "loyalty",
    "messaging",
    "callcenter",
    "store",
    # Demo data and Aisac's bot played by hand: not in production (settings/production.py).
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ItalianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who made each change in the audit trail: the signed-in user, or the API token's.
    "core.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "core.idempotency.IdempotencyMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.sandbox",
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'vetrina.sqlite3'}"),
}
# The provider sandboxes stand for other companies' systems, with storage of their own: on the
# embedded default (SQLite) a file of their own, so that a simulated provider's writes never
# hold the lock Vetrina's processes wait for. SANDBOX_DATABASE_URL sets it anywhere; otherwise,
# on PostgreSQL, the sandboxes share the default database. See sandbox/routers.py.
if _sandbox_url := env.str("SANDBOX_DATABASE_URL", default=""):
    DATABASES["sandbox"] = env.db_url_config(_sandbox_url)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["sandbox"] = env.db_url_config(f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}")
# The provider slots (calls in flight per provider) in a SQLite file of their own too: taking a
# slot another delivery just freed must not wait for the main file's write lock. See
# core/routers.py.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["slots"] = env.db_url_config(f"sqlite:///{VAR_DIR / 'slots.sqlite3'}")
# On PostgreSQL the delivery's statements are prepared once per connection (core/prepared.py);
# off behind a pooler in transaction mode, which cannot keep them (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# Every SQLite database's options. WAL lets the web server, the worker and beat read while one
# of them writes; the timeout makes a writer wait for the lock (up to 30 s) instead of failing
# at once; BEGIN IMMEDIATE takes the lock when a transaction opens (core/sqlite/base.py).
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_ROUTERS = ["core.routers.SlotsRouter", "sandbox.routers.SandboxRouter"]
for _database in DATABASES.values():
    _database["ATOMIC_REQUESTS"] = False
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        # Django's backend, waiting for the write lock in finer steps than SQLite does.
        _database["ENGINE"] = "core.sqlite"
        _database["OPTIONS"] = dict(SQLITE_OPTIONS)
    else:
        _database["CONN_HEALTH_CHECKS"] = True
        if DATABASE_PREPARED_STATEMENTS:
            # psycopg prepares only when given a threshold; Django's own cursors bind on the
            # client and never prepare: only core.prepared's do (see there).
            _database.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
    # Connections are kept between requests and tasks: Celery's Django fix-up otherwise closes
    # the connection after every task, and a SQLite connection costs half a dozen statements to
    # open.
    _database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Counters that must hold across processes (rate limits) live here: Redis in production.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Security ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute force on the admin, counter and API session logins: three counters of wrong passwords
# within AXES_COOLOFF_MINUTES, each locking at its own limit (core.security.LoginLockoutHandler):
# - one username from one address: a person's typos or a guesser, 5;
# - one address, whatever the usernames: password spraying (few passwords tried on many
#   usernames), 20 — an office behind one address still has room for its people's typos;
# - one username, whatever the addresses: guessing spread over many addresses, 10. Anybody can
#   trip this one and lock a real user out everywhere for the cool-off, so it sits well above
#   the first (a person's own typos from two places do not reach it).
AXES_HANDLER = "core.security.LoginLockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMITS = {
    ("username", "ip_address"): AXES_FAILURE_LIMIT,
    ("ip_address",): env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20),
    ("username",): env.int("LOGIN_FAILURE_LIMIT_PER_USERNAME", default=10),
}
AXES_LOCKOUT_PARAMETERS = [list(counter) for counter in LOGIN_FAILURE_LIMITS]
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True  # that username from that address only (LoginLockoutHandler)
AXES_LOCKOUT_TEMPLATE = "lockout.html"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not ours to keep
# Keyed hashes of the username and the address in the log, never the values themselves.
AXES_CLIENT_STR_CALLABLE = "core.security.login_client_str"
# Reverse proxies in front of Vetrina (1 behind nginx): the client's address is then the N-th
# from the right of X-Forwarded-For; with 0 the header is never trusted (core/clientaddr.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The lockout counts addresses as the rest of Vetrina sees them (API throttling, Aisac inbound).
AXES_CLIENT_IP_CALLABLE = "core.clientaddr.client_address"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content security policy: our own scripts only (inline ones carry the request's nonce), no
# plugins, no framing, forms post back here. Inline style attributes stay allowed (badges and
# progress bars are drawn with them); images may come from any https host (campaign images live
# on VolantinoPiù's servers or wherever their URL points).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", "https:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time: Italian first, English available; stored in UTC, shown in Europe/Rome.
LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up without it
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# In development whitenoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# The version of the consent text customers agree to, recorded with every consent change.
CONSENT_TEXT_VERSION = env("CONSENT_TEXT_VERSION", default="2026-01")

# Customers are identified by their mobile number; numbers without a prefix are Italian.
PHONENUMBER_DEFAULT_REGION = "IT"
PHONENUMBER_DB_FORMAT = "E164"

# Largest image accepted for VolantinoPiù (its uploadMedia limit in the sandbox: 5120 KB).
MEDIA_UPLOAD_MAX_BYTES = env.int("MEDIA_UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest picture, in pixels, that an upload may decode to (40 million: 8000 × 5000).
MEDIA_IMAGE_MAX_PIXELS = env.int("MEDIA_IMAGE_MAX_PIXELS", default=40_000_000)

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Both must allow: model permissions, and core.access's rule for shop-scoped users.
    "DEFAULT_PERMISSION_CLASSES": ["core.api.ShopScopePermission", "core.api.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.ShopScopeFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["core.api.UserRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
}
# Requests per user (per address when anonymous), e.g. "600/minute"; Redis-backed CACHE_URL
# makes the count shared by every web process.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="600/minute")
# API tokens (django-rest-knox): only a SHA-512 digest is stored, the token is shown once when
# it is made (`createuser … --role api`, or the admin's "new token"); the first characters
# (`token_key`) identify it in lists. Scripts' tokens do not expire unless API_TOKEN_TTL_DAYS is
# set; marketing revokes them in the admin.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_PREFIX": "vtr_",  # recognisable by secret scanners
    "TOKEN_TTL": timedelta(days=_ttl)
    if (_ttl := env.int("API_TOKEN_TTL_DAYS", default=0))
    else None,
    "AUTO_REFRESH": False,
}
# Days the call log, the log of Aisac's inbound calls and finished jobs are kept (beat purges
# them hourly, core/retention.py).
LOG_RETENTION_DAYS = env.int("LOG_RETENTION_DAYS", default=90)
# Days the audit trail (who created, changed, sent, withdrew, approved or erased what) is kept;
# beat purges older entries hourly with the logs (core/audit.py).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
# django-auditlog: no correlation id taken from a client's header (free text from outside).
AUDITLOG_CID_HEADER = None
# How long an Idempotency-Key's first answer is kept (core.idempotency).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# Jobs (pulls, lead previews and imports; core/jobs.py). A running job holds a lease that its
# progress renews; the sweeper takes back a job whose lease ran out (its worker stopped): a
# resumable one runs again, up to MAX_RUNS runs; another fails, and Riprova runs it again. A
# queued job no worker took (the broker was down) is published again after REQUEUE_AFTER.
JOBS = {
    "LEASE_SECONDS": env.int("JOB_LEASE_SECONDS", default=300),
    "REQUEUE_AFTER_SECONDS": env.int("JOB_REQUEUE_AFTER_SECONDS", default=60),
    "MAX_RUNS": env.int("JOB_MAX_RUNS", default=3),
}
# A lead file (CSV/XLSX) has at most this many rows besides its header, and at most 50 MB; it
# is read as a stream by its preview job (callcenter/previews.py lists every bound).
LEAD_IMPORT_MAX_ROWS = env.int("LEAD_IMPORT_MAX_ROWS", default=250_000)
SPECTACULAR_SETTINGS = {
    # In the reader's language (the schema is made per request; lazy texts are resolved then).
    "TITLE": _("Vetrina API"),
    "DESCRIPTION": _(
        "Shops, campaigns, loyalty, messaging and call-center lists, kept in step with the "
        "providers. Every error has the same body: see the Error schema."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no external network needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.api_error_responses",  # the one error body, on every operation
    ],
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker with no server, for the embedded default; ours
    # writes each message atomically (core/broker.py). Its folders are the transport options
    # below, never the URL; written with the host kombu assumes anyway ("filesystem://" alone
    # makes kombu warn "No hostname was supplied" on every connection).
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How long an idle worker sleeps before looking at the folder again (kombu: 1 s). It is
        # the wait a lone change adds before its delivery starts (25 ms on average at 0.05 s;
        # docs/benchmarks.md, sync latency); an idle worker polling at this pace uses 0.5% of
        # a core (0.2% at 0.2 s).
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.05),
    }
else:
    # A redis:// URL is served by core/redis_broker.py (config/celery.py registers it). With
    # Redis an unacked task comes back after the visibility timeout; our retries are
    # scheduled by the outbox, never by long countdowns, so one hour is ample.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fix-up closes the database connection before and after every task unless
# this is set: a task then reuses its process's connection (CONN_MAX_AGE still applies), which
# on SQLite saves half a dozen statements a task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when the broker is down: the outbox row is already saved and the
# sweeper will enqueue it later, so a web request must not hang waiting for the broker.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "core.tasks.outbox_sweep_task",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=15.0),
    },
    "idempotency-keys-purge": {
        "task": "core.tasks.idempotency_keys_purge_task",
        "schedule": 3600.0,
    },
    # Logs and finished jobs after LOG_RETENTION_DAYS, lead-file previews after 24 h, the
    # audit trail after AUDIT_RETENTION_DAYS.
    "retention-purge": {
        "task": "core.tasks.retention_purge_task",
        "schedule": 3600.0,
    },
    # Jobs a stopped worker left running, or the broker never handed out (core/jobs.py).
    "job-sweep": {
        "task": "core.tasks.job_sweep_task",
        "schedule": env.float("JOB_SWEEP_SECONDS", default=30.0),
    },
    # Lead uploads left preparing or sending by a dead process (callcenter.tasks).
    "call-uploads-sweep": {
        "task": "callcenter.tasks.call_uploads_sweep_task",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=15.0),
    },
    "push-status-refresh": {
        "task": "messaging.tasks.push_status_refresh_task",
        "schedule": env.float("PUSH_STATUS_REFRESH_SECONDS", default=30.0),
    },
}

# --- Sync core -------------------------------------------------------------------------------
OUTBOX = {
    # Retryable failures back off exponentially with full jitter, capped, then give up.
    "MAX_ATTEMPTS": env.int("OUTBOX_MAX_ATTEMPTS", default=8),
    "BACKOFF_BASE_SECONDS": env.float("OUTBOX_BACKOFF_BASE_SECONDS", default=5.0),
    "BACKOFF_MAX_SECONDS": env.float("OUTBOX_BACKOFF_MAX_SECONDS", default=3600.0),
    # A claimed row whose worker vanished is taken over after this lease.
    # Longer than a slot wait, a lookup and the slowest call (Wolkvox: 60 s) put together.
    "LEASE_SECONDS": env.int("OUTBOX_LEASE_SECONDS", default=600),
    # The sweeper re-enqueues a due row only if nothing enqueued it this recently.
    "REENQUEUE_AFTER_SECONDS": env.int("OUTBOX_REENQUEUE_AFTER_SECONDS", default=60),
    # A row that finds every provider slot busy is looked at again after this delay.
    "BUSY_DELAY_SECONDS": env.float("OUTBOX_BUSY_DELAY_SECONDS", default=2.0),
    # A row waiting for another record (a campaign for its shop) looks again this often.
    "WAITING_RECHECK_SECONDS": env.float("OUTBOX_WAITING_RECHECK_SECONDS", default=30.0),
    # A delivery waits this long for one of its provider's slots before stepping back.
    "SLOT_WAIT_SECONDS": env.float("OUTBOX_SLOT_WAIT_SECONDS", default=30.0),
    # All a delivery may take, calls and answers included (at most half the lease).
    "DELIVERY_DEADLINE_SECONDS": env.float("OUTBOX_DELIVERY_DEADLINE_SECONDS", default=240.0),
}
# Calls in flight at once per provider, across every worker process (shared DB semaphore).
PROVIDER_CONCURRENCY = {
    "volantinopiu": env.int("VOLANTINOPIU_CONCURRENCY", default=4),
    "amm": env.int("AMM_CONCURRENCY", default=4),
    "smshosting": env.int("SMSHOSTING_CONCURRENCY", default=4),
    "wolkvox": env.int("WOLKVOX_CONCURRENCY", default=2),
    "aisac": env.int("AISAC_CONCURRENCY", default=4),
}
# The circuit breaker of each provider (core/breaker.py), shared by every worker: after this many
# transient failures in a row (timeouts, 5xx, refused connections) no delivery is attempted;
# after the cool-down one trial call goes out, and its success closes the breaker again.
PROVIDER_BREAKER = {
    "FAILURE_THRESHOLD": env.int("PROVIDER_BREAKER_FAILURES", default=5),
    "COOLDOWN_SECONDS": env.float("PROVIDER_BREAKER_COOLDOWN_SECONDS", default=60.0),
}
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=30.0)

# --- Providers: base URLs and credentials always come from the environment -------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
VOLANTINOPIU_BASE_URL = env("VOLANTINOPIU_BASE_URL", default="")
VOLANTINOPIU_TOKEN = env("VOLANTINOPIU_TOKEN", default="")
AMM_BASE_URL = env("AMM_BASE_URL", default="")
AMM_AUTH_KEY = env("AMM_AUTH_KEY", default="")
AMM_AUTH_SECRET = env("AMM_AUTH_SECRET", default="")
SMSHOSTING_BASE_URL = env("SMSHOSTING_BASE_URL", default="")
SMSHOSTING_AUTH_KEY = env("SMSHOSTING_AUTH_KEY", default="")
SMSHOSTING_AUTH_SECRET = env("SMSHOSTING_AUTH_SECRET", default="")
WOLKVOX_BASE_URL = env("WOLKVOX_BASE_URL", default="")
WOLKVOX_TOKEN = env("WOLKVOX_TOKEN", default="")
# The `wolkvox_server` header the document's example sends; empty: read from the base URL's
# `wv<server>.wolkvox.com` host.
WOLKVOX_SERVER = env("WOLKVOX_SERVER", default="")
AISAC_BASE_URL = env("AISAC_BASE_URL", default="")
AISAC_API_KEY = env("AISAC_API_KEY", default="")
AISAC_INBOUND_KEY = env("AISAC_INBOUND_KEY", default="")
# Calls Aisac may make to getObject/updateObject per minute, per client address (counted in the
# cache, before the key is even looked at).
AISAC_INBOUND_RATE_PER_MINUTE = env.int("AISAC_INBOUND_RATE_PER_MINUTE", default=120)
# Addresses or networks (CIDR) getObject/updateObject answer; any other gets a 403 before the
# key is looked at. Empty: any address.
AISAC_INBOUND_ALLOWED_IPS = env.list("AISAC_INBOUND_ALLOWED_IPS", default=[])

# What the simulated providers accept (the embedded default's client values match these). The
# name contains AUTH so that Django's error pages hide it like any other credential.
SANDBOX_AUTH = {
    "volantinopiu": {
        "token": env("SANDBOX_VOLANTINOPIU_TOKEN", default="sandbox-volantinopiu-token")
    },
    "amm": {
        "key": env("SANDBOX_AMM_AUTH_KEY", default="sandbox-amm-key"),
        "secret": env("SANDBOX_AMM_AUTH_SECRET", default="sandbox-amm-secret"),
    },
    "smshosting": {
        "key": env("SANDBOX_SMSHOSTING_AUTH_KEY", default="sandbox-smshosting-key"),
        "secret": env("SANDBOX_SMSHOSTING_AUTH_SECRET", default="sandbox-smshosting-secret"),
    },
    "wolkvox": {"token": env("SANDBOX_WOLKVOX_TOKEN", default="sandbox-wolkvox-token")},
    "aisac": {"api_key": env("SANDBOX_AISAC_API_KEY", default="sandbox-aisac-key")},
}

# Simulated SMSHosting messages move PENDING → SENT → DELIVERED one step of this many seconds.
SANDBOX_SMSHOSTING_STEP_SECONDS = env.float("SANDBOX_SMSHOSTING_STEP_SECONDS", default=5.0)
# Simulated Aisac requests move open → in_progress → closed one step of this many seconds.
SANDBOX_AISAC_STEP_SECONDS = env.float("SANDBOX_AISAC_STEP_SECONDS", default=60.0)
# Numbers per push/send call (each batch has its own transaction id).
PUSH_BATCH_SIZE = env.int("PUSH_BATCH_SIZE", default=1000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # No `api_key=` value (Aisac's inbound key may come in the URL) in any line we write;
    # gunicorn's access log is redacted by gunicorn.conf.py (core/logredact.py).
    "filters": {"redact_secrets": {"()": "core.logredact.RedactSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers off (its DEBUG-only console, unfiltered, and mail_admins, with
        # no ADMINS): its records reach the root handler above, each once. Without this a 404
        # or a 500 was written twice on a DEBUG server, once by each.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's request lines (with their query strings) through the same filter.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # urllib3 logs full URLs (with query-string keys such as Aisac's api_key) at DEBUG.
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # its start-up banner on every command
        "django.db.backends": {"level": "INFO"},
    },
}

# Wolkvox: calls a day are limited to licences × 1,000 (the document's daily token limit).
WOLKVOX_LICENCES = env.int("WOLKVOX_LICENCES", default=10)
# Leads per add_record call (the document's limit is 10,000).
WOLKVOX_CHUNK_SIZE = env.int("WOLKVOX_CHUNK_SIZE", default=10000)
# How long an upload's preparer may go without a sign of life before the sweeper resumes the
# upload elsewhere; 0: the outbox lease, at most two minutes.
CALL_UPLOAD_LEASE_SECONDS = env.int("CALL_UPLOAD_LEASE_SECONDS", default=0)

# The chain-wide send window (core/send_window.py): pushes and call uploads go out only on these
# days (mon … sun), from START to END Europe/Rome time, never on a holiday; a send outside it is
# postponed to the next opening (marketing may override it, with a reason). Holidays: a date
# (2026-08-14), a yearly day (MM-DD) or "easter"/"easter-monday"; the default is Italy's
# national holidays, every year (4 October, San Francesco, is one again from 2026).
SEND_WINDOW_DAYS = env.list("SEND_WINDOW_DAYS", default=["mon", "tue", "wed", "thu", "fri", "sat"])
SEND_WINDOW_START = env("SEND_WINDOW_START", default="09:00")
SEND_WINDOW_END = env("SEND_WINDOW_END", default="20:00")
SEND_WINDOW_HOLIDAYS = env.list(
    "SEND_WINDOW_HOLIDAYS",
    default=[
        "01-01",  # Capodanno
        "01-06",  # Epifania
        "easter",  # Pasqua
        "easter-monday",  # Lunedì dell'Angelo
        "04-25",  # Festa della Liberazione
        "05-01",  # Festa del Lavoro
        "06-02",  # Festa della Repubblica
        "08-15",  # Ferragosto
        "10-04",  # San Francesco d'Assisi
        "11-01",  # Ognissanti
        "12-08",  # Immacolata Concezione
        "12-25",  # Natale
        "12-26",  # Santo Stefano
    ],
)
# How far ahead a push may be scheduled. SMSHosting's document sets no limit on `date`: this
# one is Vetrina's, against a mistyped year.
PUSH_SCHEDULE_MAX_DAYS = env.int("PUSH_SCHEDULE_MAX_DAYS", default=365)
