"""gunicorn's settings for Vetrina, read by `gunicorn config.wsgi` started in this directory
(bin/start, production):

- the access log never shows a key passed in a URL (core/logredact.py);
- gunicorn's own lines are written like Django's, in the same time zone: the master process
  takes settings.TIME_ZONE (Europe/Rome) before it logs anything, as Django does in the workers,
  so that "Booting worker" and a request's warning never disagree by an hour or two."""

import os
import time

from config.env import settings_module_select

settings_module_select()  # the environment, else .env, else the embedded default

from django.conf import settings  # noqa: E402  (the settings only: no app is loaded here)

os.environ["TZ"] = settings.TIME_ZONE
time.tzset()

logger_class = "core.logredact.RedactingGunicornLogger"
