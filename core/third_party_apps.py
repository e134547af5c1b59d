"""Third-party apps under Italian names. django-axes and django-rest-knox name themselves after
their label ("Axes", "Knox"), which the admin shows in its sidebar, its breadcrumbs and the
permission lists; these configurations (INSTALLED_APPS) give them names in the user's language.
Their models' names are translated by our catalogue (core/upstream_messages.py).

django-axes also writes its records' names in English, outside gettext ("Attempted Access:
2026-…", the admin's titles and breadcrumbs), and leaves its list's "status" column without a
header: both are given Italian words here, without touching its tables."""

from auditlog.apps import AuditlogConfig as AuditlogAppConfig
from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _attempt_str(attempt) -> str:
    return gettext("Login attempts of %(username)s from %(address)s, %(when)s") % {
        "username": attempt.username,
        "address": attempt.ip_address,
        "when": _when(attempt.attempt_time),
    }


def _failure_str(failure) -> str:
    return gettext("Failed login of %(username)s from %(address)s, %(when)s") % {
        "username": failure.username,
        "address": failure.ip_address,
        "when": _when(failure.attempt_time),
    }


def _log_str(log) -> str:
    return gettext("Login of %(username)s, %(when)s") % {
        "username": log.username,
        "when": _when(log.attempt_time),
    }


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login protection")

    def ready(self) -> None:
        super().ready()
        from axes import admin as axes_admin
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessAttempt.__str__ = _attempt_str
        AccessFailureLog.__str__ = _failure_str
        AccessLog.__str__ = _log_str
        axes_admin.AccessAttemptAdmin.status.short_description = _("status")


class KnoxConfig(AppConfig):
    name = "knox"
    verbose_name = _("API token storage")  # its model is the table behind Vetrina's API tokens


class AuditlogConfig(AuditlogAppConfig):
    """django-auditlog, the audit trail's storage (core/audit.py): its sidebar name in the
    user's language, and its entries named in it too (its own "Created …" is outside gettext's
    reach here: it has no Italian catalogue)."""

    verbose_name = _("Audit trail")

    def ready(self) -> None:
        super().ready()
        from auditlog.models import LogEntry

        from core.audit import audit_entry_str

        LogEntry.__str__ = audit_entry_str
