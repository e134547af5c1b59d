from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoreConfig(AppConfig):
    """The counter forms under /store/ for store managers (their own shops only)."""

    name = "store"
    verbose_name = _("Store counter")

    def ready(self) -> None:
        from core.audit import audit_register
        from store.models import FlyerRequest, StoreManager

        # The audit trail (core/audit.py): who may work which shop's counter, and each flyer
        # request with its decision ("approved" and "rejected" are recorded by the services).
        audit_register(StoreManager, m2m=("shops",))
        audit_register(FlyerRequest)
