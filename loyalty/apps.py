from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Customers and AMM fidelity programs, cards and point movements."""

    name = "loyalty"
    verbose_name = _("Loyalty (AMM)")

    def ready(self) -> None:
        from core.customer_data import customer_part_register
        from core.preflight import preflight_register
        from loyalty import (  # noqa: F401  (registers the sync handlers and the pull)
            pull,
            sync,
        )
        from loyalty.amm import amm_preflight
        from loyalty.audit import loyalty_audit_register
        from loyalty.campaign_results import campaign_results_register
        from loyalty.dashboard import loyalty_dashboard_register
        from loyalty.privacy import loyalty_erase, loyalty_export
        from loyalty.timeline import loyalty_timeline

        preflight_register(amm_preflight())
        # First of the customer's parts (the apps that depend on loyalty come after it).
        customer_part_register(
            "loyalty", export=loyalty_export, erase=loyalty_erase, timeline=loyalty_timeline
        )
        loyalty_audit_register()  # the audit trail (core/audit.py)
        loyalty_dashboard_register()  # the admin home (core/dashboard.py)
        campaign_results_register()  # a flyer campaign's results page (core/results.py)
