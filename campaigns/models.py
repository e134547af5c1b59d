from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import SyncedModel


class Shop(SyncedModel):
    """A shop (punto vendita). Its VolantinoPiù id is the `pv_id` campaigns are registered with."""

    sync_provider = "volantinopiu"

    code = models.CharField(
        _("shop code"),
        max_length=50,
        unique=True,
        help_text=_("The chain's own code for the shop, unique."),
    )
    address = models.CharField(_("address"), max_length=255)
    postal_code = models.CharField(
        _("postal code"),
        max_length=5,
        blank=True,
        validators=[RegexValidator(r"^\d{5}$", _("Enter a five-digit postal code (CAP)."))],
    )
    city = models.CharField(_("city"), max_length=100)
    province = models.CharField(
        _("province"),
        max_length=2,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Za-z]{2}$", _("Enter the two-letter province code, e.g. MI."))
        ],
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    email = models.EmailField(_("email"), blank=True)
    url = models.URLField(_("web page"), blank=True)
    description = models.TextField(_("description"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.city}"

    def clean(self) -> None:
        self.province = self.province.upper()
