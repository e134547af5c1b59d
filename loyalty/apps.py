from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Customers and AMM fidelity programs, cards and point movements."""

    name = "loyalty"
    verbose_name = _("Loyalty (AMM)")

    def ready(self) -> None:
        from loyalty import (  # noqa: F401  (registers the sync handlers and the pull)
            pull,
            sync,
        )
