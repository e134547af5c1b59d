from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Synchronisation")

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from core.calllog import remote_call_record
        from core.http import add_call_listener, clients_reset

        add_call_listener(remote_call_record)
        from core.pull import _register_pull_job

        _register_pull_job()
        # Clients are cached per configuration; a changed setting must not reuse a stale one.
        setting_changed.connect(lambda **kwargs: clients_reset(), weak=False)
