from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """SMSHosting push/SMS sends and Aisac WhatsApp customer care (see their issues)."""

    name = "messaging"
    verbose_name = _("Messaging (SMSHosting, Aisac)")
