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
        from campaigns.models import Campaign, CampaignBatch, Media, Shop
        from campaigns.volantinopiu import volantinopiu_preflight
        from core.audit import audit_register
        from core.preflight import preflight_register

        preflight_register(volantinopiu_preflight())
        # The audit trail (core/audit.py): what marketing creates, changes and withdraws.
        audit_register(Shop)
        audit_register(Media, exclude=("remote_url",))  # VolantinoPiù's address of its copy
        audit_register(CampaignBatch)
        audit_register(Campaign)
