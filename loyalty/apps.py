from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Customers and AMM fidelity programs, cards and point movements."""

    name = "loyalty"
    verbose_name = _("Loyalty (AMM)")

    def ready(self) -> None:
        from core.customer_data import customer_part_register
        from core.dashboard import dashboard_panel_register
        from core.preflight import preflight_register
        from loyalty import (  # noqa: F401  (registers the sync handlers and the pull)
            pull,
            sync,
        )
        from loyalty.amm import amm_preflight
        from loyalty.privacy import loyalty_erase, loyalty_export
        from loyalty.selectors import cards_per_shop, points_per_shop_week
        from loyalty.timeline import loyalty_timeline

        preflight_register(amm_preflight())
        # First of the customer's parts (the apps that depend on loyalty come after it).
        customer_part_register(
            "loyalty", export=loyalty_export, erase=loyalty_erase, timeline=loyalty_timeline
        )
        dashboard_panel_register("points", points_per_shop_week)
        dashboard_panel_register("cards", cards_per_shop)
