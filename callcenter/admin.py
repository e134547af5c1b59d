from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from callcenter.forms import RECALL_INPUT_FORMATS
from callcenter.models import CallCampaign, CallRecord, CallUpload, CallUploadChunk, LeadSource
from callcenter.previews import (
    IMPORT_DIR,
    PREVIEW_ERRORS,
    lead_file_check,
    lead_file_path,
    lead_file_remove,
    lead_file_rows,
    lead_file_store,
    lead_preview,
)
from callcenter.results import call_upload_results
from callcenter.services import (
    LeadReport,
    call_chunks_mark_delivered,
    call_chunks_resend,
    call_records_from_audience,
    call_records_from_inactive_cards,
    call_records_save,
    call_upload_create,
    call_upload_prepare_retry,
    call_upload_progress,
)
from campaigns.models import Shop
from core.admin import (
    LiveProgressPageMixin,
    ReadOnlyAdmin,
    SyncAdminMixin,
    admin_page,
    job_page,
    results_page,
)
from core.jobs import JobFailed, JobOutcome, job_checkpoint, job_runner_register, job_start
from core.models import Job, JobStatus
from core.send_window import send_window_check
from loyalty.consent import exclusion_labels
from loyalty.models import Audience

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class UploadForm(forms.Form):
    recall_date = forms.DateTimeField(
        label=gettext_lazy("recall date"),
        required=False,
        input_formats=RECALL_INPUT_FORMATS,
        help_text=gettext_lazy(
            "Optional: when Wolkvox calls every lead of this upload back (Italian time, e.g. "
            "2026-12-14 10:30), within the send window."
        ),
    )
    window_override = forms.BooleanField(
        label=gettext_lazy("Send outside the send window anyway"), required=False
    )
    window_override_reason = forms.CharField(
        label=gettext_lazy("Reason (kept in the audit trail)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, may_override: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_override:  # the override is marketing's: not even offered to others
            del self.fields["window_override"], self.fields["window_override_reason"]


class LeadFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy(
            "First row: the column names of Wolkvox (<code>customer_name</code>, "
            "<code>customer_last_name</code>, <code>tel1</code>, <code>email</code>, "
            "<code>city</code>, <code>opt1</code>…<code>opt12</code>, <code>recall_date</code>…). "
            "<code>tel1</code> is required."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


class InactiveLeadsForm(forms.Form):
    shop = forms.ModelChoiceField(
        label=capfirst(gettext_lazy("shop")), queryset=Shop.objects.filter(active=True)
    )
    days = forms.IntegerField(
        label=capfirst(gettext_lazy("no points earned for (days)")),
        min_value=1,
        max_value=3650,
        initial=90,
    )


class AudienceLeadsForm(forms.Form):
    audience = forms.ModelChoiceField(
        label=capfirst(gettext_lazy("audience")), queryset=Audience.objects.all()
    )


@admin.register(CallCampaign)
class CallCampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "remote_campaign_id", "status", "leads")
    search_fields = ("name", "remote_campaign_id")
    actions = ["upload_leads"]
    change_form_template = "admin/callcenter/callcampaign/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("records"))

    @admin.display(description=gettext_lazy("leads"), ordering="lead_count")
    def leads(self, obj: CallCampaign) -> int:
        return obj.lead_count

    @admin.action(description=gettext_lazy("Upload the leads to Wolkvox"), permissions=["change"])
    def upload_leads(self, request: HttpRequest, queryset: QuerySet[CallCampaign]):
        uploads = [call_upload_create(campaign=c, user=request.user) for c in queryset]
        if len(uploads) == 1:
            return HttpResponseRedirect(
                reverse("admin:callcenter_callupload_change", args=[uploads[0].pk])
            )
        self.message_user(
            request,
            ngettext("%(n)d upload started.", "%(n)d uploads started.", len(uploads))
            % {"n": len(uploads)},
        )
        return None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/import/", view(self.import_view), name="callcenter_import"),
            path(
                "<int:campaign_id>/inactive/", view(self.inactive_view), name="callcenter_inactive"
            ),
            path(
                "<int:campaign_id>/audience/", view(self.audience_view), name="callcenter_audience"
            ),
            path("<int:campaign_id>/upload/", view(self.upload_view), name="callcenter_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Upload the campaign's leads with a recall date, and — outside the send window — the
        choice of sending anyway (marketing, with a reason) instead of waiting for it."""
        if not request.user.has_perm("callcenter.change_callcampaign"):
            raise PermissionDenied
        campaign = get_object_or_404(CallCampaign, pk=campaign_id)
        may_override = request.user.has_perm("callcenter.override_send_window")
        form = UploadForm(request.POST or None, may_override=may_override)
        if request.method == "POST" and form.is_valid():
            try:
                upload = call_upload_create(
                    campaign=campaign, user=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if upload.window_reason and not upload.window_override_reason:
                    self.message_user(request, upload.window_reason, messages.WARNING)
                return HttpResponseRedirect(
                    reverse("admin:callcenter_callupload_change", args=[upload.pk])
                )
        return admin_page(
            self,
            request,
            "admin/callcenter/upload.html",
            campaign=campaign,
            title=_("Upload the leads of %(campaign)s to Wolkvox") % {"campaign": campaign},
            form=form,
            window=send_window_check(),
        )

    def _campaign(self, request: HttpRequest, campaign_id: int) -> CallCampaign:
        if not request.user.has_perm("callcenter.add_callrecord"):
            raise PermissionDenied
        return get_object_or_404(CallCampaign, pk=campaign_id)

    def import_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Upload a file → its preview, made by a worker as a job whose page follows it live
        (rows that would be added or merged, bad rows with their line and reason) → **Importa**
        on that page → the import job. Bad rows are never imported, not even in part."""
        campaign = self._campaign(request, campaign_id)
        token = request.POST.get("token", "")
        if token:  # the confirmation of a preview: a worker imports, the job page follows it
            return self._import_confirm(request, campaign, token)
        form = LeadFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            token = lead_file_store(upload)
            try:
                lead_file_check(path=IMPORT_DIR / token)
            except ValidationError as exc:
                lead_file_remove(token)
                form.add_error("file", exc)
            else:
                name = Path(upload.name or "").name[:80]
                job = job_start(
                    kind="lead_preview",
                    label=_("Preview of %(file)s for %(campaign)s")
                    % {"file": name, "campaign": campaign},
                    params={"campaign": campaign.pk, "token": token, "file": name},
                    user=request.user,
                )
                return job_page(job)
        return admin_page(
            self,
            request,
            "admin/callcenter/import.html",
            campaign=campaign,
            title=_("Import leads into %(campaign)s") % {"campaign": campaign},
            form=form,
        )

    def _import_confirm(
        self, request: HttpRequest, campaign: CallCampaign, token: str
    ) -> HttpResponseRedirect:
        """**Importa** on a preview's page: the import job of that preview's file, started once
        (a second click finds the job the first one started)."""
        started = (
            Job.objects.filter(
                kind="lead_import", params__campaign=campaign.pk, params__token=token
            )
            .exclude(status=JobStatus.FAILED)
            .order_by("-id")
            .first()
        )
        if started is not None:
            return job_page(started)
        preview = (
            Job.objects.filter(
                kind="lead_preview",
                status=JobStatus.DONE,
                params__campaign=campaign.pk,
                params__token=token,
            )
            .order_by("-id")
            .first()
        )
        if preview is None or lead_file_path(token) is None:  # purged after 24 h
            self.message_user(
                request,
                _("This preview has expired (previews are kept 24 hours): upload the file again."),
                level=messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:callcenter_import", args=[campaign.pk]))
        if not preview.report.get("valid"):
            self.message_user(
                request, _("This preview has no valid row to import."), level=messages.WARNING
            )
            return job_page(preview)
        job = job_start(
            kind="lead_import",
            label=_("Import leads into %(campaign)s") % {"campaign": campaign},
            params={
                "campaign": campaign.pk,
                "token": token,
                "rows": preview.report.get("rows", 0),
            },
            user=request.user,
        )
        return job_page(job)

    def inactive_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = self._campaign(request, campaign_id)
        form = InactiveLeadsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            report = call_records_from_inactive_cards(
                campaign=campaign, shop=form.cleaned_data["shop"], days=form.cleaned_data["days"]
            )
            self.message_user(
                request,
                _("%(created)d leads added, %(merged)d merged.")
                % {"created": report.created, "merged": report.merged},
            )
            return HttpResponseRedirect(
                reverse("admin:callcenter_callcampaign_change", args=[campaign.pk])
            )
        return admin_page(
            self,
            request,
            "admin/callcenter/inactive.html",
            campaign=campaign,
            title=_("Leads from card holders who stopped buying"),
            form=form,
        )

    def audience_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Leads from a saved audience: **Stima** shows N in the audience, M with call consent,
        K on the do-not-call list and what adding them would do (nothing saved); **Aggiungi**
        has a worker add them, as a job whose page follows it (an audience may be 100,000
        customers)."""
        campaign = self._campaign(request, campaign_id)
        if not request.user.has_perm("loyalty.view_audience"):
            raise PermissionDenied
        form = AudienceLeadsForm(request.POST or None)
        report = None
        if request.method == "POST" and form.is_valid():
            audience = form.cleaned_data["audience"]
            if "add" in request.POST:
                job = job_start(
                    kind="audience_leads",
                    label=_("Leads from the audience %(audience)s into %(campaign)s")
                    % {"audience": audience, "campaign": campaign},
                    params={"campaign": campaign.pk, "audience": audience.pk},
                    user=request.user,
                )
                return job_page(job)
            report = call_records_from_audience(campaign=campaign, audience=audience, dry_run=True)
        return admin_page(
            self,
            request,
            "admin/callcenter/audience.html",
            campaign=campaign,
            title=_("Leads from an audience"),
            form=form,
            report=report,
            excluded=exclusion_labels(report.reach.excluded) if report else [],
        )


def audience_leads_message(report) -> str:
    reach, leads = report.reach, report.leads
    return _(
        "Audience “%(audience)s”: %(in_audience)d in the audience, %(with_consent)d with call "
        "consent, %(do_not_call)d on the do-not-call list; %(created)d leads added, %(merged)d "
        "merged."
    ) % {
        "audience": reach.audience,
        "in_audience": reach.in_audience,
        "with_consent": reach.with_consent,
        "do_not_call": reach.do_not_call,
        "created": leads.created,
        "merged": leads.merged,
    }


def audience_leads_job(job: Job, progress) -> str:
    """Add an audience's leads (the job run by a worker). Resumable: run again, it merges into
    the leads already added and adds the rest."""
    campaign = CallCampaign.objects.filter(pk=job.params["campaign"]).first()
    audience = Audience.objects.filter(pk=job.params["audience"]).first()
    if campaign is None or audience is None:
        raise JobFailed(_("The campaign or the audience was deleted meanwhile."))
    step = _("adding the leads")
    progress(step, 0, 1)
    report = call_records_from_audience(campaign=campaign, audience=audience)
    progress(step, 1, 1)
    return audience_leads_message(report)


job_runner_register(
    "audience_leads",
    audience_leads_job,
    resumable=True,
    permission="callcenter.add_callrecord",
)


# --- the lead file's jobs: its preview and its import ------------------------------------------
def lead_preview_job(job: Job, progress) -> JobOutcome:
    """Preview a stored lead file, read as a stream (the job run by a worker): what importing it
    would do, kept on the job for its page. Resumable: it only reads."""
    campaign = CallCampaign.objects.get(pk=job.params["campaign"])
    path = _lead_file_or_fail(job)
    step = _("reading the file")
    size = path.stat().st_size or 1
    progress(step, 0, 0)
    with path.open("rb") as stream:

        def on_row(rows: int) -> None:
            if rows % 500 == 0:  # the total is estimated from how far into the file it got
                progress(step, rows, max(rows, round(rows * size / max(stream.tell(), 1))))

        try:
            report = lead_preview(
                campaign=campaign,
                rows=lead_file_rows(file=stream, name=path.name),
                on_row=on_row,
            )
        except ValidationError as exc:
            raise JobFailed(" ".join(exc.messages)) from exc
    progress(step, report["rows"], report["rows"])
    text = _(
        "%(created)s new leads, %(merged)s merged into leads already here, %(bad)s rows with "
        "errors (left out)."
    ) % {"created": report["created"], "merged": report["merged"], "bad": report["bad"]}
    return JobOutcome(text=text, report=report)


def lead_import_job(job: Job, progress) -> str:
    """Import a previewed lead file (the job run by a worker). Resumable: the leads and the
    report commit together (`job.checkpoint`), and a lead is merged by its phone, never added
    twice — a run after a stopped worker finds the report, or imports the file again."""
    saved = job.checkpoint.get("report")
    if saved is None:
        campaign = CallCampaign.objects.get(pk=job.params["campaign"])
        path = _lead_file_or_fail(job)
        with path.open("rb") as stream:
            rows = _rows_with_progress(
                lead_file_rows(file=stream, name=path.name), progress, job.params.get("rows", 0)
            )
            try:
                call_records_save(
                    campaign=campaign,
                    rows=rows,
                    source=LeadSource.IMPORT,
                    on_saved=lambda report: job_checkpoint(job, {"report": _saved(report)}),
                )
            except ValidationError as exc:
                raise JobFailed(" ".join(exc.messages)) from exc
        saved = job.checkpoint["report"]
    lead_file_remove(job.params["token"])
    progress(_("saving the leads"), 1, 1)
    lines = [
        _("%(created)d leads added, %(merged)d merged, %(bad)d rows left out.")
        % {"created": saved["created"], "merged": saved["merged"], "bad": saved["bad"]}
    ]
    lines += [
        _("line %(line)d: %(reason)s") % {"line": line, "reason": reason}
        for line, reason in saved["errors"]
    ]
    if saved["bad"] > len(saved["errors"]):
        lines.append(_more_errors(saved["bad"] - len(saved["errors"])))
    return "\n".join(lines)


def _rows_with_progress(rows, progress, total: int):
    step = _("reading the file")
    count = 0
    for count, row in enumerate(rows, start=1):
        if count % 500 == 0:
            progress(step, count, max(total, count))
        yield row
    progress(_("saving the leads"), 0, max(count, 1))


def _saved(report: LeadReport) -> dict:
    return {
        "created": report.created,
        "merged": report.merged,
        "bad": len(report.errors),
        "errors": [[line, reason[:500]] for line, reason in report.errors[:PREVIEW_ERRORS]],
    }


def _more_errors(count: int) -> str:
    return ngettext(
        "… and %(n)d more row with errors.", "… and %(n)d more rows with errors.", count
    ) % {"n": count}


def _lead_file_or_fail(job: Job) -> Path:
    path = lead_file_path(job.params.get("token", ""))
    if path is None:
        raise JobFailed(
            _("This preview has expired (previews are kept 24 hours): upload the file again.")
        )
    return path


def _lead_file_gone(job: Job) -> str:
    """Riprova's check: an import that already saved its leads can finish without its file;
    otherwise the file must still be there (a failed job removed it)."""
    if job.checkpoint.get("report") is not None or lead_file_path(job.params.get("token", "")):
        return ""
    return _("its file was removed (when it failed, or after 24 hours): upload the file again.")


def _lead_file_drop(job: Job) -> None:
    lead_file_remove(job.params.get("token", ""))


def _lead_preview_page(job: Job) -> dict:
    report = job.report or {}
    bad, listed = report.get("bad", 0), len(report.get("errors", []))
    return {
        "file_available": lead_file_path(job.params.get("token", "")) is not None,
        "more_errors": _more_errors(bad - listed) if bad > listed else "",
        "import_url": reverse("admin:callcenter_import", args=[job.params["campaign"]]),
    }


_LEAD_JOB = {
    "resumable": True,
    "retry_check": _lead_file_gone,
    "on_failure": _lead_file_drop,
    "permission": "callcenter.add_callrecord",
}
job_runner_register(
    "lead_preview",
    lead_preview_job,
    template="admin/callcenter/lead_preview.html",
    context=_lead_preview_page,
    **_LEAD_JOB,
)
job_runner_register("lead_import", lead_import_job, **_LEAD_JOB)


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    list_display = (
        "tel1",
        "customer_name",
        "customer_last_name",
        "city",
        "campaign",
        "source",
        "uploaded_at",
    )
    list_filter = ("campaign", "source")
    list_select_related = ("campaign",)
    search_fields = ("tel1", "customer_name", "customer_last_name", "email", "customer_id")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CallUpload)
class CallUploadAdmin(LiveProgressPageMixin, ReadOnlyAdmin):
    list_display = (
        "__str__",
        "status",
        "records_total",
        "records_confirmed",
        "chunks_done",
        "chunks_total",
        "results_link",
    )
    list_filter = ("status", "campaign")
    date_hierarchy = "created_at"
    progress_template = "admin/callcenter/upload_progress.html"
    context_object_name = "upload"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:upload_id>/decide/",
                view(self.decide_view),
                name="callcenter_callupload_decide",
            ),
            path(
                "<int:upload_id>/results/",
                view(self.results_view),
                name="callcenter_callupload_results",
            ),
            path(
                "<int:upload_id>/resume/",
                view(self.resume_view),
                name="callcenter_callupload_resume",
            ),
            *super().get_urls(),
        ]

    def get_progress_queryset(self) -> QuerySet[CallUpload]:
        return CallUpload.objects.select_related("campaign")

    def progress(self, obj: CallUpload) -> dict[str, Any]:
        return call_upload_progress(upload=obj)

    def progress_context(self, request: HttpRequest, obj: CallUpload, progress) -> dict:
        return {
            "excluded": exclusion_labels(obj.excluded or {}),
            "chunks": obj.chunks.order_by("index"),
            "decide_url": reverse("admin:callcenter_callupload_decide", args=[obj.pk]),
            "resume_url": reverse("admin:callcenter_callupload_resume", args=[obj.pk]),
            "results_url": reverse("admin:callcenter_callupload_results", args=[obj.pk]),
            "may_resume": request.user.has_perm("callcenter.change_callupload"),
        }

    @admin.display(description=gettext_lazy("results"))
    def results_link(self, obj: CallUpload):
        url = reverse("admin:callcenter_callupload_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Results"))

    def results_view(self, request: HttpRequest, upload_id: int) -> HttpResponse:
        """Leads sent, confirmed, refused, per day and per shop (callcenter/results.py)."""
        upload = get_object_or_404(self.get_progress_queryset(), pk=upload_id)
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        results = call_upload_results(upload=upload)
        return results_page(self, request, record=upload, results=results)

    def resume_view(self, request: HttpRequest, upload_id: int) -> HttpResponse:
        """**Riprova**: prepare the rest of an upload given up after repeated interruptions,
        from its last committed chunk (the cause fixed, e.g. the workers' memory)."""
        if request.method != "POST" or not request.user.has_perm("callcenter.change_callupload"):
            raise PermissionDenied
        upload = get_object_or_404(CallUpload, pk=upload_id)
        if call_upload_prepare_retry(upload=upload):
            self.message_user(
                request, _("The rest of the upload will be prepared and sent shortly.")
            )
        else:
            self.message_user(
                request, _("This upload is not waiting to be resumed."), messages.WARNING
            )
        return HttpResponseRedirect(reverse("admin:callcenter_callupload_change", args=[upload_id]))

    def decide_view(self, request: HttpRequest, upload_id: int) -> HttpResponse:
        """A person's decision on chunks whose answer was lost: resend, or count as delivered."""
        if request.method != "POST" or not request.user.has_perm(
            "callcenter.change_calluploadchunk"
        ):
            raise PermissionDenied
        chunks = list(
            CallUploadChunk.objects.filter(
                upload_id=upload_id, pk__in=request.POST.getlist("chunk")
            )
        )
        if request.POST.get("decision") == "resend":
            count = call_chunks_resend(chunks=chunks)
            self.message_user(request, _("%(n)d chunks sent again.") % {"n": count})
        elif request.POST.get("decision") == "delivered":
            count = call_chunks_mark_delivered(chunks=chunks)
            self.message_user(request, _("%(n)d chunks counted as delivered.") % {"n": count})
        return HttpResponseRedirect(reverse("admin:callcenter_callupload_change", args=[upload_id]))


@admin.register(CallUploadChunk)
class CallUploadChunkAdmin(SyncAdminMixin, ReadOnlyAdmin):
    list_display = ("upload", "index", "records_count", "total_registers")
    list_filter = ("sync_status",)
    list_select_related = ("upload", "upload__campaign")
    actions = []
