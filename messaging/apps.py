from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """SMSHosting push/SMS sends and Aisac WhatsApp customer care."""

    name = "messaging"
    verbose_name = _("Messaging (SMSHosting, Aisac)")

    def ready(self) -> None:
        from core.retention import retention_register
        from messaging import (  # noqa: F401  (registers the sync handlers and the pulls)
            care,
            pull,
            sync,
        )
        from messaging.inbound import inbound_calls_purge

        retention_register("inbound_calls", inbound_calls_purge)

        from core.preflight import ProviderPreflight, preflight_register
        from messaging.aisac import aisac_probes

        preflight_register(
            ProviderPreflight(
                provider="aisac",
                label="Aisac",
                settings=("AISAC_BASE_URL", "AISAC_API_KEY"),
                probes=aisac_probes,
            )
        )

        from messaging.smshosting import smshosting_probes

        preflight_register(
            ProviderPreflight(
                provider="smshosting",
                label="SMSHosting",
                settings=("SMSHOSTING_BASE_URL", "SMSHOSTING_AUTH_KEY", "SMSHOSTING_AUTH_SECRET"),
                probes=smshosting_probes,
            )
        )
