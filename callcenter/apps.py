from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcenterConfig(AppConfig):
    """Wolkvox predictive-campaign lead lists (see the callcenter issue)."""

    name = "callcenter"
    verbose_name = _("Call center (Wolkvox)")
