from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcenterConfig(AppConfig):
    """Wolkvox predictive-campaign lead lists."""

    name = "callcenter"
    verbose_name = _("Call center (Wolkvox)")

    def ready(self) -> None:
        from callcenter import sync  # noqa: F401  (registers the sync handler)
        from callcenter.previews import lead_import_previews_purge
        from callcenter.wolkvox import wolkvox_preflight
        from core.preflight import preflight_register
        from core.retention import retention_register

        retention_register("lead_import_previews", lead_import_previews_purge)
        preflight_register(wolkvox_preflight())
