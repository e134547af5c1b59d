"""Wolkvox predictive campaigns, their leads, and the uploads that send leads in chunks."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.models import SyncedModel, by_user_field

# Every field of add_record, in the document's order (tel1 is the lead's key in a campaign).
RECORD_TEXT_FIELDS = (
    "customer_name",
    "customer_last_name",
    "id_type",
    "customer_id",
    "age",
    "gender",
    "country",
    "state",
    "city",
    "zone",
    "address",
    *(f"opt{n}" for n in range(1, 13)),
)
RECORD_PHONE_FIELDS = (*(f"tel{n}" for n in range(1, 11)), "tel_extra", "recall_telephone")
# Their labels, from the document's descriptions; each field's help names its Wolkvox column
# (the one a lead file uses; the admin shows help texts as HTML).
RECORD_FIELD_LABELS = {
    "customer_name": _("first name"),
    "customer_last_name": _("last name"),
    "id_type": _("ID type"),
    "customer_id": _("ID number"),
    "age": _("age"),
    "gender": _("gender"),
    "country": _("country of residence"),
    "state": _("state of residence"),
    "city": _("city of residence"),
    "zone": _("area of residence"),
    "address": _("address of residence"),
    **{f"opt{n}": format_lazy(_("extra campaign field {}"), n) for n in range(1, 13)},
    "tel1": _("main phone number"),
    **{f"tel{n}": format_lazy(_("phone number {}"), n) for n in range(2, 11)},
    "tel_extra": _("extra phone number"),
    "recall_telephone": _("phone number for the call back"),
}


class CampaignStatus(models.TextChoices):
    START = "start", _("started")
    STOP = "stop", _("stopped")


class CallCampaign(models.Model):
    """A predictive campaign set up in Wolkvox manager; Vetrina sends it leads."""

    remote_campaign_id = models.CharField(_("Wolkvox campaign id"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=5, choices=CampaignStatus.choices, default=CampaignStatus.START
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("call campaign")
        verbose_name_plural = _("call campaigns")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.remote_campaign_id})"


class LeadSource(models.TextChoices):
    IMPORT = "import", _("file import")
    API = "api", _("API")
    VETRINA = "vetrina", _("Vetrina data")


class CallRecord(models.Model):
    """A lead of a campaign, with every field Wolkvox's add_record takes."""

    campaign = models.ForeignKey(
        CallCampaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="records"
    )
    source = models.CharField(_("source"), max_length=8, choices=LeadSource.choices)
    email = models.EmailField(_("email"), blank=True)
    recall_date = models.DateTimeField(_("recall date"), null=True, blank=True)
    # No index: nothing filters or sorts on it, and each upload rewrites it for every lead.
    uploaded_at = models.DateTimeField(_("last uploaded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-id"]
        constraints = [
            # The same phone twice in a campaign is one lead: imports merge into it.
            models.UniqueConstraint(fields=["campaign", "tel1"], name="lead_once_per_campaign")
        ]

    def __str__(self) -> str:
        name = f"{self.customer_name} {self.customer_last_name}".strip()
        return f"{name} ({self.tel1})" if name else self.tel1


for _name in RECORD_TEXT_FIELDS:
    CallRecord.add_to_class(
        _name,
        models.CharField(
            RECORD_FIELD_LABELS[_name],
            max_length=200,
            blank=True,
            help_text=format_lazy(_("Wolkvox column: {}"), f"<code>{_name}</code>"),
        ),
    )
for _name in RECORD_PHONE_FIELDS:
    CallRecord.add_to_class(
        _name,
        models.CharField(
            RECORD_FIELD_LABELS[_name],
            max_length=20,
            blank=(_name != "tel1"),
            db_index=_name == "tel1",
            help_text=format_lazy(_("Wolkvox column: {}"), f"<code>{_name}</code>"),
        ),
    )


class UploadStatus(models.TextChoices):
    SENDING = "sending", _("sending")
    DONE = "done", _("done")
    ATTENTION = "attention", _("needs a decision")
    FAILED = "failed", _("failed")


class CallUpload(models.Model):
    """Leads of a campaign sent to Wolkvox, split in chunks of at most 10,000."""

    campaign = models.ForeignKey(
        CallCampaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="uploads"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=UploadStatus.choices, default=UploadStatus.SENDING
    )
    records_total = models.PositiveIntegerField(_("leads"), default=0)
    records_sent = models.PositiveIntegerField(_("leads sent"), default=0)
    records_confirmed = models.PositiveIntegerField(_("leads confirmed by Wolkvox"), default=0)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    excluded = models.JSONField(_("left out"), default=dict, blank=True)
    # True while its leads are still being checked and chunked (the first chunks are out).
    preparing = models.BooleanField(_("preparing"), default=False, editable=False)
    # The leads chosen when the upload was started from a list of them (ids, ascending); None:
    # every lead of the campaign.
    selection = models.JSONField(_("leads chosen"), null=True, blank=True, editable=False)
    # How far preparation got, committed with each chunk: every lead up to this id (in id
    # order) is in a committed chunk or counted in `excluded`. A preparation resumed after
    # its process died starts after it.
    prepared_through = models.PositiveBigIntegerField(default=0, editable=False)
    # The process preparing it: its claim token and its lease, renewed while it works. A lease
    # that ran out is a dead preparer: the sweeper has the preparation resumed.
    preparer = models.CharField(max_length=32, blank=True, editable=False)
    prepare_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    prepare_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    prepare_error = models.TextField(_("preparation error"), blank=True, editable=False)
    # Wolkvox's `recall_date` for every lead of the upload (else each lead's own).
    recall_date = models.DateTimeField(_("recall date"), null=True, blank=True)
    # The send window (core.send_window), decided when the upload starts: its chunks wait
    # until `send_after` (the next opening), with the reason; or why and by whom it went
    # outside the window.
    send_after = models.DateTimeField(_("postponed to"), null=True, blank=True, editable=False)
    window_reason = models.TextField(_("send window"), blank=True, editable=False)
    window_override_reason = models.TextField(
        _("reason for sending outside the window"), blank=True, editable=False
    )
    window_override_by = by_user_field(_("sent outside the window by"))
    created_by = by_user_field(_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("lead upload")
        verbose_name_plural = _("lead uploads")
        ordering = ["-created_at"]
        permissions = [("override_send_window", _("Can send outside the send window"))]

    def __str__(self) -> str:
        return f"{self.campaign} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class CallUploadChunk(SyncedModel):
    """One add_record call: at most 10,000 leads, its `total_registers` checked."""

    sync_provider = "wolkvox"

    upload = models.ForeignKey(
        CallUpload, verbose_name=_("upload"), on_delete=models.CASCADE, related_name="chunks"
    )
    index = models.PositiveIntegerField(_("chunk"))
    record_ids = models.JSONField(_("leads"), default=list)
    records_count = models.PositiveIntegerField(_("leads in the chunk"))
    total_registers = models.PositiveIntegerField(_("total_registers"), null=True, blank=True)

    class Meta:
        verbose_name = _("upload chunk")
        verbose_name_plural = _("upload chunks")
        ordering = ["upload", "index"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "index"], name="upload_chunk_index")
        ]

    def __str__(self) -> str:
        return f"{self.upload} #{self.index + 1}"


class WolkvoxDailyUsage(models.Model):
    """API calls made on a day, against the daily budget (licences × 1,000)."""

    day = models.DateField(unique=True)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("Wolkvox daily usage")
        verbose_name_plural = _("Wolkvox daily usage")

    def __str__(self) -> str:
        return f"{self.day}: {self.calls}"
