from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """SMSHosting push/SMS sends and Aisac WhatsApp customer care."""

    name = "messaging"
    verbose_name = _("Messaging (SMSHosting, Aisac)")

    def ready(self) -> None:
        from core.customer_data import CustomerAdminSection, customer_part_register
        from core.dashboard import dashboard_panel_register
        from core.preflight import preflight_register
        from core.retention import retention_register
        from messaging import (  # noqa: F401  (registers the sync handlers and the pulls)
            care,
            pull,
            sync,
        )
        from messaging.aisac import aisac_preflight
        from messaging.customer_data import (
            aisac_activity,
            messaging_erase,
            messaging_export,
            messaging_timeline,
        )
        from messaging.inbound import inbound_calls_purge
        from messaging.selectors import pushes_per_day
        from messaging.smshosting import smshosting_preflight

        retention_register("inbound_calls", inbound_calls_purge)
        preflight_register(aisac_preflight())
        preflight_register(smshosting_preflight())
        customer_part_register(
            "messaging",
            export=messaging_export,
            erase=messaging_erase,
            timeline=messaging_timeline,
            admin_section=CustomerAdminSection(_("WhatsApp (Aisac)"), aisac_activity),
        )
        dashboard_panel_register("pushes", pushes_per_day)
