"""Push/SMS sends through SMSHosting: the send, its batches (one push/send call each, with its
own transaction id) and one message per recipient."""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import SyncedModel, by_user_field
from messaging import smshosting
from messaging.aisac import CLOSED_REQUEST_STATUSES

SMS_FROM_VALIDATOR = RegexValidator(
    r"^(\+?\d{6,16}|[A-Za-z0-9]{1,11})$",
    _("The sender is a validated phone number or at most 11 letters and digits."),
)


def new_transaction_id() -> str:
    return uuid.uuid4().hex


class SendStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ESTIMATED = "estimated", _("estimated")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class SmsEncoding(models.TextChoices):
    GSM = "7BIT", _("7BIT (standard, 160 characters)")
    UCS2 = "UCS2", _("UCS2 (any character, 70 characters)")
    AUTO = "AUTO", _("AUTO (chosen from the text)")


class PushSend(models.Model):
    """A push (with SMS fallback if wanted) to explicit numbers, address-book groups and
    Vetrina audiences. draft → estimated → (confirmed) sending → sent / failed."""

    name = models.CharField(_("name"), max_length=200)
    recipients = models.JSONField(_("numbers"), default=list, blank=True)
    groups = models.JSONField(_("address-book groups"), default=list, blank=True)
    audience_shops = models.ManyToManyField(
        "campaigns.Shop",
        verbose_name=_("card holders of these shops"),
        blank=True,
        related_name="+",
    )
    audience_programs = models.ManyToManyField(
        "loyalty.FidelityProgram",
        verbose_name=_("card holders of these programs"),
        blank=True,
        related_name="+",
    )
    # A saved audience instead of the lists above. Deleting it leaves the send without one: a
    # draft then has nobody to send to, and a send that went out keeps who it reached (its
    # batches and messages) and the audience's reach when it was estimated and sent.
    audience = models.ForeignKey(
        "loyalty.Audience",
        verbose_name=_("audience"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="push_sends",
        help_text=_(
            "A saved audience instead of numbers, groups, shops or programs: its customers "
            "with push/SMS consent."
        ),
    )
    text = models.TextField(_("push text"), blank=True)
    image = models.ImageField(_("image"), upload_to="push/%Y/%m/", blank=True)
    only_push = models.BooleanField(
        _("push only"), default=True, help_text=_("Off: who has no push app gets an SMS.")
    )
    sms_text = models.TextField(_("SMS text"), blank=True)
    sms_from = models.CharField(
        _("SMS sender"), max_length=16, blank=True, validators=[SMS_FROM_VALIDATOR]
    )
    sms_encoding = models.CharField(
        _("SMS encoding"), max_length=4, choices=SmsEncoding.choices, default=SmsEncoding.GSM
    )
    send_at = models.DateTimeField(_("deferred to"), null=True, blank=True)
    sandbox = models.BooleanField(
        _("SMSHosting test mode"),
        default=False,
        help_text=_("Validated by SMSHosting, not delivered."),
    )
    transaction_id = models.CharField(
        _("transaction id"), max_length=40, unique=True, default=new_transaction_id, editable=False
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SendStatus.choices,
        default=SendStatus.DRAFT,
        db_index=True,
    )
    error = models.TextField(_("error"), blank=True)
    estimate_cost = models.DecimalField(
        _("cost"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    estimate_credit = models.DecimalField(
        _("credit left"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    estimate_sms = models.PositiveIntegerField(_("SMS to send"), null=True, blank=True)
    estimate_push = models.PositiveIntegerField(_("pushes to send"), null=True, blank=True)
    estimate_push_available = models.PositiveIntegerField(
        _("pushes available"), null=True, blank=True
    )
    estimated_at = models.DateTimeField(_("estimated at"), null=True, blank=True)
    resolved_count = models.PositiveIntegerField(_("recipients"), default=0)
    # With an audience: its name, how many were in it, with consent, on the do-not-call list
    # (None: not a rule of this channel) and the recipients, at the estimate and at the send.
    audience_reach = models.JSONField(_("audience reach"), default=dict, blank=True, editable=False)
    excluded = models.JSONField(_("excluded recipients"), default=dict, blank=True)
    confirmed_by = by_user_field(_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # The send window (core.send_window), decided when the send is confirmed: why it was
    # postponed (send_at moved to the next opening), or why and by whom it went outside it.
    window_reason = models.TextField(_("send window"), blank=True, editable=False)
    window_override_reason = models.TextField(
        _("reason for sending outside the window"), blank=True, editable=False
    )
    window_override_by = by_user_field(_("sent outside the window by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("push send")
        verbose_name_plural = _("push sends")
        ordering = ["-created_at"]
        permissions = [("override_send_window", _("Can send outside the send window"))]
        # The history filtered by status reads its page in list order, not by sorting
        # every send of that status (100,000 sends: 23 ms → 0.2 ms).
        indexes = [models.Index(fields=["status", "-created_at"], name="pushsend_status_idx")]

    def __str__(self) -> str:
        return self.name


class PushBatch(SyncedModel):
    """One push/send call of a send: at most PUSH_BATCH_SIZE numbers, its own transaction id."""

    sync_provider = "smshosting"

    send = models.ForeignKey(
        PushSend, verbose_name=_("send"), on_delete=models.CASCADE, related_name="batches"
    )
    index = models.PositiveIntegerField(_("batch"))
    transaction_id = models.CharField(_("transaction id"), max_length=60, unique=True)
    recipients = models.JSONField(_("numbers"), default=list)
    groups = models.JSONField(_("groups"), default=list, blank=True)
    sms_inserted = models.PositiveIntegerField(_("SMS inserted"), null=True, blank=True)
    sms_not_inserted = models.PositiveIntegerField(_("not inserted"), null=True, blank=True)
    push_inserted = models.PositiveIntegerField(_("pushes inserted"), null=True, blank=True)

    class Meta:
        verbose_name = _("push batch")
        verbose_name_plural = _("push batches")
        ordering = ["send", "index"]
        constraints = [models.UniqueConstraint(fields=["send", "index"], name="push_batch_index")]

    def __str__(self) -> str:
        return f"{self.send} #{self.index + 1}"


# A message's status and detail as SMSHosting writes them (push/send, then push/search), and as
# the user reads them; a value the document does not list is shown as it came.
MESSAGE_STATUS_LABELS = {
    smshosting.INSERTED: pgettext_lazy("push message", "accepted"),
    smshosting.NOT_INSERTED: pgettext_lazy("push message", "not accepted"),
    smshosting.PENDING: pgettext_lazy("push message", "queued"),
    smshosting.SENT: pgettext_lazy("push message", "sent to the operator"),
    smshosting.NOSENT: pgettext_lazy("push message", "not sent to the operator"),
    smshosting.DELIVERED: pgettext_lazy("push message", "delivered"),
    smshosting.NOTDELIVERED: pgettext_lazy("push message", "not delivered"),
}
MESSAGE_DETAIL_LABELS = {
    smshosting.BADNUMBERFORMAT: pgettext_lazy("push message", "wrong number"),
    smshosting.DUPLICATESMS: pgettext_lazy(
        "push message", "same SMS already sent in the last 24 hours"
    ),
    smshosting.EXCLUDED: pgettext_lazy("push message", "no push app (push only)"),
}


def message_status_label(status: str) -> str:
    return str(MESSAGE_STATUS_LABELS.get(status, status))


def message_detail_label(detail: str) -> str:
    return str(MESSAGE_DETAIL_LABELS.get(detail, detail))


class PushMessage(models.Model):
    """One recipient of a send and what became of the message."""

    # core.access: messages of sends addressed to the card holders of the user's shops.
    shop_scope = "send__audience_shops"

    # No index of its own: the unique (send, msisdn) constraint and the (send, status) index
    # lead with it and serve every lookup by send; each index is one more b-tree for the 1,000
    # rows a batch inserts.
    send = models.ForeignKey(
        PushSend, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    batch = models.ForeignKey(PushBatch, on_delete=models.CASCADE, related_name="messages")
    remote_id = models.CharField(_("SMSHosting id"), max_length=32, blank=True, db_index=True)
    msisdn = models.CharField(_("number"), max_length=20)
    status = models.CharField(_("status"), max_length=16, db_index=True)
    status_detail = models.CharField(_("detail"), max_length=64, blank=True)
    type = models.CharField(_("type"), max_length=8, blank=True)
    insert_date = models.DateTimeField(_("inserted"), null=True, blank=True)
    sent_date = models.DateTimeField(_("sent"), null=True, blank=True)
    delivery_date = models.DateTimeField(_("delivered"), null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=4, null=True, blank=True)
    multimedia_id = models.CharField(_("image id"), max_length=64, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("push message")
        verbose_name_plural = _("push messages")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["send", "msisdn"], name="push_message_once_per_send")
        ]
        # A send's counts by status (every list page and send page) read this index alone:
        # through the unique one they read each of a 50,000-recipient send's rows (35 → 9 ms).
        indexes = [models.Index(fields=["send", "status"], name="push_message_send_status")]

    def __str__(self) -> str:
        return f"{self.msisdn}: {message_status_label(self.status)}"


class PushInvitation(models.Model):
    """A link (push/invitation) inviting a number to install a push app."""

    msisdn = models.CharField(_("number"), max_length=20, db_index=True)
    url = models.URLField(_("invitation link"), max_length=300)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("push invitation")
        verbose_name_plural = _("push invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.msisdn} → {self.url}"


class CareType(models.TextChoices):
    INFORMATION = "information", _("information")
    COMPLAINT = "complaint", _("complaint")
    LOYALTY = "loyalty", _("fidelity card")
    ORDER = "order", _("order")
    OTHER = "other", _("other")


class CareRequest(SyncedModel):
    """A WhatsApp customer-care request handled by Aisac's flows (createRequest)."""

    sync_provider = "aisac"

    customer = models.ForeignKey(
        "loyalty.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="care_requests",
    )
    type = models.CharField(
        _("type"), max_length=16, choices=CareType.choices, default=CareType.INFORMATION
    )
    subject = models.CharField(_("subject"), max_length=200)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(
        _("status at Aisac"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("As Aisac reports it."),
    )
    reference = models.UUIDField(
        _("our reference"), default=uuid.uuid4, unique=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("care request")
        verbose_name_plural = _("care requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject

    def outbox_label(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"  # the subject is a customer's own words

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_REQUEST_STATUSES


class Order(SyncedModel):
    """A minimal e-commerce order sent to Aisac (createOrder) for its WhatsApp flows."""

    shop_scope = "shop"  # core.access

    sync_provider = "aisac"

    number = models.CharField(_("order number"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "loyalty.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    shop = models.ForeignKey(
        "campaigns.Shop", verbose_name=_("shop"), on_delete=models.PROTECT, related_name="orders"
    )
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("product"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class InboundCall(models.Model):
    """One call Aisac made to our getObject/updateObject: when, what, how it ended (the phone
    number is kept masked)."""

    endpoint = models.CharField(_("endpoint"), max_length=20)
    user_key = models.CharField(_("user key (masked)"), max_length=20, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    remote_addr = models.GenericIPAddressField(_("from"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("inbound call (Aisac)")
        verbose_name_plural = _("inbound calls (Aisac)")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.status_code}"
