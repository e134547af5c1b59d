"""The one `env` object every settings module reads from (django-environ, `.env` supported), and
the one way `manage.py`, WSGI and Celery choose their settings module."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_MODULE = "config.settings.local"

env = environ.Env()
# A `.env` file beside manage.py (or where VETRINA_ENV_FILE says) is read if present; real
# environment variables win.
ENV_FILE = Path(os.environ.get("VETRINA_ENV_FILE") or BASE_DIR / ".env")
environ.Env.read_env(ENV_FILE, overwrite=False)


def settings_module_select() -> str:
    """DJANGO_SETTINGS_MODULE from the environment, else from `.env` (read above into the
    environment), else the embedded default. Called by manage.py, config/wsgi.py and
    config/celery.py before Django starts, so all three always agree."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS_MODULE)
    return os.environ["DJANGO_SETTINGS_MODULE"]
