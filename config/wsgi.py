"""WSGI entry point: `gunicorn config.wsgi`."""

from django.core.wsgi import get_wsgi_application

from config.env import settings_module_select

settings_module_select()  # the environment, else .env, else the embedded default
application = get_wsgi_application()
