"""gunicorn's settings for Vetrina, read by `gunicorn config.wsgi` started in this directory
(bin/start, production): the access log never shows a key passed in a URL (core/logredact.py)."""

logger_class = "core.logredact.RedactingGunicornLogger"
