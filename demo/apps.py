from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """What only demos and tests use: the demo data (`demo_data`), Aisac's bot played by hand
    (`act_as_aisac`) and its client. Installed on the embedded default and in the tests, never
    in production (config/settings/production.py)."""

    name = "demo"
    verbose_name = _("Demo")
