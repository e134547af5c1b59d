from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns (VolantinoPiù)")

    def ready(self) -> None:
        from campaigns import (  # noqa: F401  (registers the sync handlers and the pull)
            pull,
            sync,
        )
        from campaigns.volantinopiu import volantinopiu_preflight
        from core.preflight import preflight_register

        preflight_register(volantinopiu_preflight())
