from django.apps import AppConfig, apps
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _

from core.roles import roles_apply_after_migrate


class VetrinaAdminConfig(admin_apps.AdminConfig):
    """The admin, with Vetrina's site (the dashboard on its home page: core/admin_site.py)."""

    default = False  # the core's own app is CoreConfig
    default_site = "core.admin_site.VetrinaAdminSite"


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Synchronisation")

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_migrate

        from core.audit import audit_trail_purge
        from core.calllog import remote_call_record
        from core.http import add_call_listener, clients_reset
        from core.pull import register_pull_job
        from core.retention import register_core_purges, retention_register

        # Once, after every app's own post_migrate work (this app is listed before them).
        post_migrate.connect(_after_migrate, dispatch_uid="vetrina-roles")
        add_call_listener(remote_call_record)
        register_pull_job()
        register_core_purges()
        retention_register("audit_trail", audit_trail_purge)  # after AUDIT_RETENTION_DAYS
        # Clients are cached per configuration; a changed setting must not reuse a stale one.
        setting_changed.connect(lambda **kwargs: clients_reset(), weak=False)


def _after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if app_config is with_models[-1]:
        roles_apply_after_migrate(using=using)
