from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """AMM fidelity programs, cards and point movements (see the loyalty issue)."""

    name = "loyalty"
    verbose_name = _("Loyalty (AMM)")
