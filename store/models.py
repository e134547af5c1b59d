from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StoreManager(models.Model):
    """A user who works the counter of some shops: /store/ only, never the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="store_manager",
    )
    shops = models.ManyToManyField(
        "campaigns.Shop", verbose_name=_("shops"), related_name="managers"
    )

    class Meta:
        verbose_name = _("store manager")
        verbose_name_plural = _("store managers")

    def __str__(self) -> str:
        return self.user.get_username()
