from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """Customers and AMM fidelity programs, cards and point movements."""

    name = "loyalty"
    verbose_name = _("Loyalty (AMM)")

    def ready(self) -> None:
        from core.preflight import ProviderPreflight, preflight_register
        from loyalty import (  # noqa: F401  (registers the sync handlers and the pull)
            pull,
            sync,
        )
        from loyalty.amm import amm_probes

        preflight_register(
            ProviderPreflight(
                provider="amm",
                label="AMM",
                settings=("AMM_BASE_URL", "AMM_AUTH_KEY", "AMM_AUTH_SECRET"),
                probes=amm_probes,
            )
        )
