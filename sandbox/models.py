"""The sandboxes' own state: what each simulated provider holds, and its fault knobs."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SandboxObject(models.Model):
    """One record held by a simulated provider (a shop, a card, …) in the provider's own shape."""

    provider = models.CharField(_("provider"), max_length=32)
    kind = models.CharField(_("kind"), max_length=32)
    data = models.JSONField(_("data"), default=dict)
    # What the provider keeps unique among records of this kind (a VolantinoPiù shop's
    # `codice`), indexed: looked up in `data`, every addShop read every shop the sandbox held.
    natural_key = models.CharField(_("natural key"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sandbox record")
        verbose_name_plural = _("sandbox records")
        indexes = [
            models.Index(fields=["provider", "kind"], name="sandbox_kind_idx"),
            models.Index(
                fields=["provider", "kind", "natural_key"], name="sandbox_natural_key_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.kind}/{self.pk}"


class Provider(models.TextChoices):
    """The five simulated providers (their names are not translated)."""

    VOLANTINOPIU = "volantinopiu", "VolantinoPiù"
    AMM = "amm", "AMM"
    SMSHOSTING = "smshosting", "SMSHosting"
    WOLKVOX = "wolkvox", "Wolkvox"
    AISAC = "aisac", "Aisac"


# The knobs a test or a demo sets; SandboxKnob's other fields are the counters the sandbox keeps.
KNOB_FIELDS = (
    "latency_ms",
    "latency_after_ms",
    "answer_time_ms",
    "error_rate",
    "forced_status",
    "forced_remaining",
    "malformed_json",
    "concurrency_cap",
    "answers",
)


class SandboxKnob(models.Model):
    """Fault knobs of one simulated provider, adjustable while it runs."""

    # One of the five: a name typed wrong would be saved and change no provider's behaviour.
    provider = models.CharField(_("provider"), max_length=32, unique=True, choices=Provider)
    latency_ms = models.PositiveIntegerField(
        _("latency before acting (ms)"),
        default=0,
        help_text=_("Added before the request is handled."),
    )
    latency_after_ms = models.PositiveIntegerField(
        _("latency after acting (ms)"),
        default=0,
        help_text=_("Added after the change is applied: a client timeout then loses the answer."),
    )
    answer_time_ms = models.PositiveIntegerField(
        _("answer time (ms)"),
        default=0,
        help_text=_(
            "The answer leaves no sooner than this after the request arrived, the provider's "
            "own work included: a provider that takes this long a call."
        ),
    )
    error_rate = models.FloatField(
        _("error rate"), default=0.0, help_text=_("Share of requests answered 500 (0 to 1).")
    )
    forced_status = models.PositiveSmallIntegerField(
        _("forced status"),
        null=True,
        blank=True,
        help_text=_("Answer every request with this HTTP status, without acting."),
    )
    forced_remaining = models.PositiveIntegerField(
        _("forced answers left"),
        null=True,
        blank=True,
        help_text=_("How many requests get the forced status; empty means all."),
    )
    malformed_json = models.BooleanField(
        _("malformed answers"),
        default=False,
        help_text=_("Act, then answer with a body that is not valid JSON."),
    )
    concurrency_cap = models.PositiveSmallIntegerField(
        _("concurrency cap"),
        null=True,
        blank=True,
        help_text=_("Requests over this many at once are answered 429."),
    )
    answers = models.CharField(
        _("answer style"),
        max_length=16,
        blank=True,
        default="",
        choices=[
            ("", _("the sandbox's usual answers")),
            ("document", _("the document's literal examples")),
            ("variant", _("other shapes a real provider may use")),
        ],
        help_text=_(
            "Document: answer exactly as the provider's document prints it (blank counts, "
            "placeholders). Variant: the other shapes the client accepts (ids as text, no "
            "wrapper, …), as listed in docs/going-live.md."
        ),
    )
    in_flight = models.PositiveIntegerField(_("requests in flight"), default=0)
    max_in_flight = models.PositiveIntegerField(_("most requests seen at once"), default=0)

    class Meta:
        verbose_name = _("sandbox knob")
        verbose_name_plural = _("sandbox knobs")

    def __str__(self) -> str:
        return self.provider


class AmmProgram(models.Model):
    """A fidelity program at the simulated AMM (configured in its console, seeded here)."""

    name = models.CharField(max_length=200)
    point_value = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("AMM program (sandbox)")
        verbose_name_plural = _("AMM programs (sandbox)")

    def __str__(self) -> str:
        return self.name


class AmmReward(models.Model):
    program = models.ForeignKey(AmmProgram, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(max_length=200)
    points = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("AMM reward (sandbox)")
        verbose_name_plural = _("AMM rewards (sandbox)")

    def __str__(self) -> str:
        return f"{self.name} ({self.points})"


class AmmCard(models.Model):
    program = models.ForeignKey(AmmProgram, on_delete=models.CASCADE, related_name="cards")
    code = models.CharField(max_length=30)
    msisdn = models.CharField(max_length=20)
    contact = models.JSONField(default=dict, blank=True)
    activation_date = models.DateTimeField(db_index=True)
    active = models.BooleanField(default=True)
    points = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("AMM card (sandbox)")
        verbose_name_plural = _("AMM cards (sandbox)")
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="sandbox_amm_card_code")
        ]

    def __str__(self) -> str:
        return self.code


class AmmRecord(models.Model):
    card = models.ForeignKey(AmmCard, on_delete=models.CASCADE, related_name="records")
    action = models.CharField(max_length=8)
    points = models.IntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    reward_id = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    send_sms = models.BooleanField(default=False)
    date = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("AMM record (sandbox)")
        verbose_name_plural = _("AMM records (sandbox)")

    def __str__(self) -> str:
        return f"{self.action} {self.points}"


class SmsAccount(models.Model):
    """The simulated SMSHosting account: credit and push quota that run out."""

    credit = models.DecimalField(max_digits=12, decimal_places=4, default=50)
    push_available = models.PositiveIntegerField(default=25000)
    push_plan_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("SMSHosting account (sandbox)")
        verbose_name_plural = _("SMSHosting account (sandbox)")

    def __str__(self) -> str:
        return f"credit {self.credit}, push {self.push_available}"


class SmsGroup(models.Model):
    name = models.CharField(max_length=100)
    members = models.JSONField(default=list)

    class Meta:
        verbose_name = _("SMSHosting group (sandbox)")
        verbose_name_plural = _("SMSHosting groups (sandbox)")

    def __str__(self) -> str:
        return self.name


class SmsMessage(models.Model):
    transaction_id = models.CharField(max_length=60, db_index=True)
    to = models.CharField(max_length=20, db_index=True)
    text = models.TextField(blank=True)
    sender = models.CharField(max_length=16, blank=True)
    type = models.CharField(max_length=8)
    price = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    insert_date = models.DateTimeField(db_index=True)
    send_date = models.DateTimeField()
    multimedia_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("SMSHosting message (sandbox)")
        verbose_name_plural = _("SMSHosting messages (sandbox)")

    def __str__(self) -> str:
        return f"{self.to} {self.transaction_id}"


class SmsMultimedia(models.Model):
    key = models.CharField(max_length=64, unique=True)
    content = models.BinaryField()
    content_type = models.CharField(max_length=50)

    class Meta:
        verbose_name = _("SMSHosting image (sandbox)")
        verbose_name_plural = _("SMSHosting images (sandbox)")

    def __str__(self) -> str:
        return self.key


class WolkvoxRecord(models.Model):
    """A lead added to a simulated Wolkvox campaign."""

    campaign_id = models.CharField(max_length=20, db_index=True)
    tel1 = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Wolkvox lead (sandbox)")
        verbose_name_plural = _("Wolkvox leads (sandbox)")

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.tel1}"


class WolkvoxTokenUse(models.Model):
    """Calls in flight per token right now (the document: 2 at a time per token)."""

    token_hash = models.CharField(max_length=64, unique=True)
    in_flight = models.PositiveIntegerField(default=0)
    max_in_flight = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("Wolkvox token use (sandbox)")
        verbose_name_plural = _("Wolkvox token use (sandbox)")

    def __str__(self) -> str:
        return f"{self.in_flight}/{self.max_in_flight}"
