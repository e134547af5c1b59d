from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoreConfig(AppConfig):
    """The counter forms under /store/ for store managers (their own shops only)."""

    name = "store"
    verbose_name = _("Store counter")
