from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.images import validate_campaign_image
from core.models import SyncedModel, by_user_field


class Shop(SyncedModel):
    """A shop (punto vendita). Its VolantinoPiù id is the `pv_id` campaigns are registered with."""

    shop_scope = ""  # core.access: a store manager reaches their own shops

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
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active shops can receive campaigns.")
    )
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


class Media(SyncedModel):
    """An image uploaded to VolantinoPiù (uploadMedia); campaigns point at its remote URL.

    The provider has no call to change or delete media: once uploaded it stays there."""

    sync_provider = "volantinopiu"

    file = models.ImageField(
        _("image"),
        upload_to="media/%Y/%m/",
        blank=True,
        width_field="width",
        height_field="height",
        validators=[validate_campaign_image],
        help_text=_("JPEG, PNG or WebP."),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True, editable=False)
    size_bytes = models.PositiveIntegerField(
        _("size (bytes)"), null=True, blank=True, editable=False
    )
    remote_url = models.URLField(_("remote URL"), max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or (
            self.remote_url.rsplit("/", 1)[-1] if self.remote_url else f"#{self.pk}"
        )

    @property
    def preview_url(self) -> str:
        return self.file.url if self.file else self.remote_url


class CampaignKind(models.TextChoices):
    TEMPLATE = "template", _("WhatsApp template")
    FLYER = "flyer", _("flyer")


class CampaignBatch(models.Model):
    """One chain-wide request: the same campaign created for many shops at once."""

    kind = models.CharField(_("kind"), max_length=16, choices=CampaignKind.choices)
    promo_name = models.CharField(_("promo name"), max_length=255)
    date_send = models.DateTimeField(_("send date"))
    skipped = models.JSONField(_("shops skipped"), default=list, blank=True)
    # Unlike the other user links it has Django's default reverse accessor, as first migrated.
    created_by = by_user_field(_("created by"), related_name=None)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("chain-wide campaign")
        verbose_name_plural = _("chain-wide campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.promo_name} ({self.get_kind_display()})"


class Campaign(SyncedModel):
    """A WhatsApp campaign for one shop: a template campaign (registerCampaign) or a flyer
    (registerCampaignFlyer). VolantinoPiù cannot edit a registered campaign: it is withdrawn
    (deleteCampaign) and registered again."""

    shop_scope = "shop"  # core.access

    sync_provider = "volantinopiu"

    kind = models.CharField(
        _("kind"), max_length=16, choices=CampaignKind.choices, default=CampaignKind.TEMPLATE
    )
    shop = models.ForeignKey(
        Shop, verbose_name=_("shop"), on_delete=models.PROTECT, related_name="campaigns"
    )
    media = models.ForeignKey(
        Media,
        verbose_name=_("image"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    image_url = models.URLField(
        _("image URL"),
        max_length=500,
        blank=True,
        help_text=_("Instead of an uploaded image: the address of an image already online."),
    )
    link = models.URLField(_("link"), max_length=500, blank=True)
    flyer_link = models.URLField(_("flyer link"), max_length=500, blank=True)
    date_send = models.DateTimeField(_("send date"), db_index=True)
    template_name = models.CharField(_("template name"), max_length=255, blank=True)
    promo_name = models.CharField(_("promo name"), max_length=255)
    batch = models.ForeignKey(
        CampaignBatch,
        verbose_name=_("chain-wide campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-date_send"]

    def __str__(self) -> str:
        return f"{self.promo_name} – {self.shop.code if self.shop_id else '?'}"

    @property
    def image(self) -> str:
        """The image address VolantinoPiù receives."""
        return self.media.remote_url if self.media_id else self.image_url

    def clean(self) -> None:
        """What VolantinoPiù needs to register the campaign, checked before anything is sent."""
        errors: dict[str, str] = {}
        if self.date_send and self.date_send <= timezone.now():
            errors["date_send"] = _("The send date must be in the future.")
        if self.kind == CampaignKind.FLYER:
            if not self.flyer_link:
                errors["flyer_link"] = _("A flyer campaign needs the flyer link.")
        else:
            if not self.link:
                errors["link"] = _("A template campaign needs a link.")
            if not self.template_name:
                errors["template_name"] = _("A template campaign needs the template name.")
        if bool(self.media_id) == bool(self.image_url):
            errors["media"] = _("Choose an uploaded image or give an image URL (one of the two).")
        if self.shop_id and not self.shop.active:
            errors["shop"] = _("The shop %(shop)s is not active: it cannot receive campaigns.") % {
                "shop": self.shop
            }
        if errors:
            raise ValidationError(errors)
