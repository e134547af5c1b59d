from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import by_user_field


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


class FlyerRequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting for marketing")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


def _flyer_upload_to(instance: FlyerRequest, filename: str) -> str:
    return f"flyer-requests/{filename}"


class FlyerRequest(models.Model):
    """A store manager's request for a flyer campaign for their shop. Marketing staff approve it
    (which registers the campaign with VolantinoPiù) or reject it with a reason."""

    shop_scope = "shop"  # core.access: a store manager sees their own shops' requests

    shop = models.ForeignKey(
        "campaigns.Shop",
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        related_name="flyer_requests",
    )
    promo_name = models.CharField(_("promo name"), max_length=255)
    date_send = models.DateTimeField(_("send date"))
    image = models.ImageField(_("image"), upload_to=_flyer_upload_to, max_length=300)
    flyer_link = models.URLField(_("flyer link"), max_length=500)
    note = models.TextField(_("note for marketing"), blank=True, max_length=2000)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=FlyerRequestStatus.choices,
        default=FlyerRequestStatus.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = by_user_field(_("decided by"), on_delete=models.PROTECT)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(
        _("reason / note to the shop"),
        blank=True,
        max_length=2000,
        help_text=_("Required to reject: the store manager reads it at the counter."),
    )
    campaign = models.OneToOneField(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flyer_request",
    )

    class Meta:
        verbose_name = _("flyer request")
        verbose_name_plural = _("flyer requests")
        ordering = ["-created_at"]
        permissions = [("approve_flyerrequest", _("Can approve or reject flyer requests"))]

    def __str__(self) -> str:
        return f"{self.promo_name} – {self.shop.code if self.shop_id else '?'}"
