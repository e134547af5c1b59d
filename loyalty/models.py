"""Customers, AMM fidelity programs, cards and point movements."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from core.models import SyncedModel, by_user_field
from loyalty.msisdn import msisdn_normalise

CARD_CODE_VALIDATOR = RegexValidator(
    r"^[0-9A-Za-z_]{6,30}$",
    _("The card code must be 6 to 30 characters: digits, letters or underscore."),
)


class Channel(models.TextChoices):
    PUSH_SMS = "push_sms", _("push and SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    CALLS = "calls", _("phone calls")


class ConsentState(models.TextChoices):
    GIVEN = "given", _("given")
    WITHDRAWN = "withdrawn", _("withdrawn")
    UNKNOWN = "unknown", _("unknown")


class ConsentSource(models.TextChoices):
    STORE = "store", _("store form")
    API = "api", _("API")
    AISAC = "aisac", _("Aisac flow")
    IMPORT = "import", _("import")
    ADMIN = "admin", _("admin")


def _consent_field(verbose_name) -> models.CharField:
    """A customer's consent on one channel, as it stands now (Customer.consent_<channel>)."""
    return models.CharField(
        verbose_name,
        max_length=10,
        choices=ConsentState.choices,
        default=ConsentState.UNKNOWN,
        db_index=True,
    )


class Customer(models.Model):
    """A customer, identified across every channel by their mobile number. Consent per channel
    is kept here as it stands now; every change is in ConsentEvent."""

    shop_scope = "cards__shop"  # core.access: customers with a card enrolled there

    msisdn = PhoneNumberField(
        _("mobile number"),
        unique=True,
        help_text=_("With or without +39; numbers without a prefix are taken as Italian."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    surname = models.CharField(_("surname"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    consent_push_sms = _consent_field(_("consent to push and SMS"))
    consent_whatsapp = _consent_field(_("consent to WhatsApp"))
    consent_calls = _consent_field(_("consent to phone calls"))
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    tags = models.ManyToManyField(
        "CustomerTag", verbose_name=_("tags"), blank=True, related_name="customers"
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["surname", "name", "id"]

    def __str__(self) -> str:
        full = f"{self.name} {self.surname}".strip()
        return f"{full} ({self.msisdn})" if full else str(self.msisdn)

    @property
    def msisdn_digits(self) -> str:
        """The number as our copies of pushes and leads hold it: international digits, no "+"."""
        return str(self.msisdn).lstrip("+")

    @property
    def amm_msisdn(self) -> str:
        """The number as AMM wants it: international prefix, digits only (393400000000)."""
        return self.msisdn.as_e164.lstrip("+")


class ConsentEvent(models.Model):
    """One change of a customer's consent on one channel: the history the law asks for."""

    shop_scope = "customer__cards__shop"  # core.access: the history of customers they reach

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="consent_events",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=10, choices=ConsentState.choices)
    source = models.CharField(_("source"), max_length=10, choices=ConsentSource.choices)
    text_version = models.CharField(_("consent text version"), max_length=40, blank=True)
    at = models.DateTimeField(_("when"), db_index=True)
    by = by_user_field(_("recorded by"))

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_state_display()}"


class DoNotCall(models.Model):
    """A number on the opposition register (do-not-call): never uploaded to the call center."""

    msisdn = models.CharField(_("number"), max_length=20, unique=True)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now=True)

    class Meta:
        verbose_name = _("do-not-call number")
        verbose_name_plural = _("do-not-call list")
        ordering = ["msisdn"]

    def __str__(self) -> str:
        return self.msisdn


class FidelityProgram(models.Model):
    """A fidelity program configured at AMM; pulled from `fidelity/list`, read-only here."""

    remote_id = models.CharField(_("AMM id"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    point_value = models.DecimalField(
        _("point value"),
        max_digits=10,
        decimal_places=2,
        help_text=_("Amount spent for one point."),
    )
    cards_pulled_until = models.DateTimeField(_("cards pulled until"), null=True, blank=True)
    pulled_at = models.DateTimeField(_("pulled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fidelity program")
        verbose_name_plural = _("fidelity programs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    """A reward of a fidelity program, as the counter offers it by name: the catalogue marketing
    keeps here. AMM's API takes a reward by its `rewardId` but has no call that lists rewards
    (they are made in AMM's console), so marketing enters each one with the id AMM shows."""

    program = models.ForeignKey(
        FidelityProgram, verbose_name=_("program"), on_delete=models.CASCADE, related_name="rewards"
    )
    name = models.CharField(_("name"), max_length=200, help_text=_("As the clerk sees it."))
    points = models.PositiveIntegerField(
        _("points"),
        help_text=_(
            "The points AMM deducts for it, as set in AMM's console (AMM decides: the card's "
            "balance follows its answer)."
        ),
    )
    remote_id = models.PositiveIntegerField(
        _("AMM reward id"), help_text=_("The reward's id in AMM's console (its rewardId).")
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active rewards are offered at the counter.")
    )

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["program__name", "points", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "remote_id"], name="reward_remote_id_unique_per_program"
            ),
            models.UniqueConstraint(
                fields=["program", "name"], name="reward_name_unique_per_program"
            ),
        ]

    def __str__(self) -> str:
        return _("%(name)s (%(points)d points)") % {"name": self.name, "points": self.points}


class FidelityCardQuerySet(models.QuerySet):
    def matching(self, text: str) -> FidelityCardQuerySet:
        """The cards a search box asks for, each word looked up through an index, never by
        reading every card: a card code (exact, as typed or in capitals), the holder's mobile
        number (with or without +39; spaces allowed), or, for a word without digits, the start
        of the holder's surname (this reads the customers, not the cards). Several words find
        the cards matching any of them (e.g. codes pasted from a list)."""
        words = text.replace(",", " ").split()
        codes = {variant for word in words for variant in (word, word.upper())}
        numbers = set()
        for candidate in {text.strip(), *words}:
            try:
                numbers.add(msisdn_normalise(candidate).as_e164)
            except ValidationError:
                continue
        holders = [Q(surname__istartswith=w) for w in words if not any(c.isdigit() for c in w)]
        if numbers:
            holders.append(Q(msisdn__in=numbers))
        condition = Q(code__in=codes)
        if holders:
            customers = Customer.objects.filter(reduce(or_, holders)).values("id")
            condition |= Q(customer_id__in=customers)
        return self.filter(condition) if words else self


class FidelityCard(SyncedModel):
    """A fidelity card at AMM (`fidelity/{program}/card`). Its balance here is the sum of its
    movements; the balance AMM reports is kept beside it and a difference is flagged."""

    shop_scope = "shop"  # core.access

    sync_provider = "amm"

    program = models.ForeignKey(
        FidelityProgram, verbose_name=_("program"), on_delete=models.PROTECT, related_name="cards"
    )
    code = models.CharField(
        _("card code"),
        max_length=30,
        blank=True,
        validators=[CARD_CODE_VALIDATOR],
        help_text=_("Optional: AMM generates one when left empty."),
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards",
    )
    shop = models.ForeignKey(
        "campaigns.Shop",
        verbose_name=_("shop of enrolment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards",
    )
    starting_points = models.IntegerField(
        _("starting points"), default=0, validators=[MinValueValidator(0)]
    )
    starting_amount = models.DecimalField(
        _("starting amount"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    send_sms = models.BooleanField(_("send SMS"), default=False)
    active = models.BooleanField(_("active"), default=True)
    activation_date = models.DateTimeField(_("activation date"), null=True, blank=True)
    points = models.IntegerField(_("points"), default=0, help_text=_("Sum of the movements."))
    remote_points = models.IntegerField(_("points at AMM"), null=True, blank=True, editable=False)
    created_by = by_user_field(_("enrolled by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = FidelityCardQuerySet.as_manager()

    class Meta:
        verbose_name = _("fidelity card")
        verbose_name_plural = _("fidelity cards")
        ordering = ["-id"]
        indexes = [
            # The search by code (FidelityCardQuerySet.matching); the unique constraint below
            # leads with the program and is partial, so it cannot serve a code alone.
            models.Index(fields=["code"], name="card_code_idx"),
            # The `active` filter of the admin and the API, in the lists' order.
            models.Index(fields=["active", "-id"], name="card_active_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "code"],
                condition=~models.Q(code=""),
                name="card_code_unique_per_program",
            )
        ]

    def __str__(self) -> str:
        return self.code or _("card #%(id)s (code pending)") % {"id": self.pk}

    @property
    def balance_differs(self) -> bool:
        return self.remote_points is not None and self.remote_points != self.points


class MovementAction(models.TextChoices):
    ADD = "ADD", _("add points")
    REWARD = "REWARD", _("reward")
    AZZERA = "AZZERA", _("reset")


class PointMovement(SyncedModel):
    """A points record of a card (`.../card/{code}/record`). ADD points are known here; the
    points of a REWARD or AZZERA come from AMM's answer."""

    shop_scope = "card__shop"  # core.access: movements of their cards

    sync_provider = "amm"

    card = models.ForeignKey(
        FidelityCard, verbose_name=_("card"), on_delete=models.CASCADE, related_name="movements"
    )
    action = models.CharField(_("action"), max_length=8, choices=MovementAction.choices)
    points = models.IntegerField(_("points"), default=0)
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    points_requested = models.IntegerField(
        _("points requested"),
        null=True,
        blank=True,
        help_text=_("Points given explicitly; empty when they come from the amount."),
    )
    reward_id = models.PositiveIntegerField(_("reward id"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    send_sms = models.BooleanField(_("send SMS"), default=False)
    date = models.DateTimeField(_("date"), db_index=True)
    # Given just before the first attempt goes out (loyalty.sync.MovementSync.create), kept
    # from then on: the record's note at AMM carries it, so a movement whose answer was lost is
    # found by it alone. Empty: never sent with one (made before references, or from a pull).
    reference = models.CharField(
        _("reference at AMM"),
        max_length=40,
        blank=True,
        default="",
        editable=False,
        help_text=_("Sent in the note of the record at AMM: it tells the record is this one."),
    )
    sent_at = models.DateTimeField(_("first sent"), null=True, blank=True, editable=False)
    shop = models.ForeignKey(
        "campaigns.Shop",
        verbose_name=_("shop"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    created_by = by_user_field(_("made by"))

    class Meta:
        verbose_name = _("point movement")
        verbose_name_plural = _("point movements")
        ordering = ["-date", "-id"]
        # Each filter of the lists (a card, the admin's action, shop and sync status) leads an
        # index that continues in the default order: a filtered page reads its rows in order
        # instead of sorting a million movements.
        indexes = [
            models.Index(fields=["card", "-date"], name="movement_card_date_idx"),
            models.Index(fields=["action", "-date", "-id"], name="movement_action_date_idx"),
            models.Index(fields=["shop", "-date", "-id"], name="movement_shop_date_idx"),
            models.Index(fields=["sync_status", "-date", "-id"], name="movement_sync_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.points:+d}"


class CustomerTag(models.Model):
    """A label marketing puts on customers ("VIP", "newsletter"…) to pick them in an audience.
    The customers of a tag are read through the index of the join table."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Audience(models.Model):
    """A saved, named rule set over customers (loyalty.audiences): who a push or a call list is
    for, counted and previewed live. `rules` holds only the rules given, already checked."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    created_by = by_user_field(_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
