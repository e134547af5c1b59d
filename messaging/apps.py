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
