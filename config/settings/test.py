"""Settings for the test suite: the embedded default with fast hashing and inline tasks.

Provider base URLs point at `http://sandbox.test`, which the test suite routes in-process to the
sandbox views (see tests/sandbox_transport.py); tests that need real sockets use live_server."""

import os

os.environ.setdefault("SANDBOX_ORIGIN", "http://sandbox.test")
os.environ.setdefault("DEBUG", "false")

from .local import *  # noqa: F403
from .local import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
ALLOWED_HOSTS = ["*"]

# Tasks run inline when enqueued (on commit); tests marked `worker` switch this off and use a
# real worker on the configured broker (the processes they start get it from the environment).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True

OUTBOX = {
    **OUTBOX,  # noqa: F405
    "BACKOFF_BASE_SECONDS": 1.0,
    "BUSY_DELAY_SECONDS": 0.0,
    "SLOT_WAIT_SECONDS": 0.0,
}
# Tests make many requests a minute as one user; the throttling test sets its own rate.
API_THROTTLE_RATE = "100000/minute"
# Likewise Aisac's inbound calls (all from 127.0.0.1); the rate-limit tests set their own.
AISAC_INBOUND_RATE_PER_MINUTE = 100000
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=5.0)

if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    # Its own queue, so that a running `bin/start` never sees the tests' messages.
    _test_queue = VAR_DIR / "test-broker"  # noqa: F405
    _test_queue.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "data_folder_in": str(_test_queue),
        "data_folder_out": str(_test_queue),
    }

# One database: a test reads what a simulated provider holds inside the same test transaction
# as it acts (pytest-django wraps the default database only), and a test's provider slots roll
# back with it. The benchmarks and `bin/start` run the sandboxes and the slots on databases of
# their own (sandbox/routers.py, core/routers.py).
DATABASES.pop("sandbox", None)  # noqa: F405 (set in base)
DATABASES.pop("slots", None)  # noqa: F405 (set in base)

if DATABASES["default"]["ENGINE"] == "core.sqlite":  # noqa: F405 (set in base)
    # A file, not shared-cache memory: the real-worker tests read and write from two threads,
    # and only a file database (WAL, busy timeout) lets them wait for each other like in
    # production instead of failing with "database table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-vetrina.sqlite3")}  # noqa: F405

# The send window always open (core/send_window.py): a test's outcome must not depend on the
# hour it runs at. The send window's own tests set the chain's window with `settings`.
SEND_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SEND_WINDOW_START = "00:00"
SEND_WINDOW_END = "24:00"
SEND_WINDOW_HOLIDAYS = []
