from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """SMSHosting push/SMS sends (and, with its issue, Aisac WhatsApp customer care)."""

    name = "messaging"
    verbose_name = _("Messaging (SMSHosting)")

    def ready(self) -> None:
        from messaging import (  # noqa: F401  (registers the sync handler and the pull)
            pull,
            sync,
        )
