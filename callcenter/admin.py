from __future__ import annotations

import uuid
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from callcenter.models import CallCampaign, CallRecord, CallUpload, CallUploadChunk, LeadSource
from callcenter.previews import IMPORT_DIR
from callcenter.services import (
    call_chunks_mark_delivered,
    call_chunks_resend,
    call_file_rows,
    call_records_from_inactive_cards,
    call_records_save,
    call_upload_create,
    call_upload_progress,
)
from campaigns.models import Shop
from core.admin import ReadOnlyAdmin, SyncAdminMixin
from core.jobs import job_runner_register, job_start
from loyalty.consent import exclusion_labels

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class LeadFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy(
            "First row: the column names of Wolkvox (customer_name, customer_last_name, tel1, "
            "email, city, opt1…opt12, recall_date…). tel1 is required."
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
        label=gettext_lazy("shop"), queryset=Shop.objects.filter(active=True)
    )
    days = forms.IntegerField(
        label=gettext_lazy("no points earned for (days)"), min_value=1, max_value=3650, initial=90
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
            *super().get_urls(),
        ]

    def _campaign(self, request: HttpRequest, campaign_id: int) -> CallCampaign:
        if not request.user.has_perm("callcenter.add_callrecord"):
            raise PermissionDenied
        return get_object_or_404(CallCampaign, pk=campaign_id)

    def import_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Upload a file → a preview (rows that would be added or merged, every bad row with its
        line and reason) → confirm. Bad rows are never imported, not even in part."""
        campaign = self._campaign(request, campaign_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
        }
        context["title"] = _("Import leads into %(campaign)s") % {"campaign": campaign}
        token = request.POST.get("token", "")
        if token:  # the confirmation of a preview: a worker imports, the job page follows it
            try:
                _stored_import(token)
            except Http404:  # purged after 24 h (callcenter.previews)
                self.message_user(
                    request,
                    _(
                        "This preview has expired (previews are kept 24 hours): upload the file again."
                    ),
                    level=messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:callcenter_import", args=[campaign.pk]))
            job = job_start(
                kind="lead_import",
                label=_("Import leads into %(campaign)s") % {"campaign": campaign},
                params={"campaign": campaign.pk, "token": token},
                user=request.user,
            )
            return HttpResponseRedirect(reverse("admin:core_job_change", args=[job.pk]))
        form = LeadFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                rows = call_file_rows(file=SimpleUploadedFile(upload.name, content))
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                context["report"] = call_records_save(
                    campaign=campaign, rows=rows, source=LeadSource.IMPORT, dry_run=True
                )
                context["sample"] = rows[:10]
                context["token"] = _store_import(upload.name, content)
        context["form"] = form
        return TemplateResponse(request, "admin/callcenter/import.html", context)

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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "title": _("Leads from card holders who stopped buying"),
            "form": form,
        }
        return TemplateResponse(request, "admin/callcenter/inactive.html", context)


def lead_import_job(job, progress) -> str:
    """Import a previewed lead file (the job run by a worker)."""
    campaign = CallCampaign.objects.get(pk=job.params["campaign"])
    stored = _stored_import(job.params["token"])
    progress(_("reading the file"), 0, 1)
    rows = call_file_rows(file=SimpleUploadedFile(stored.name, stored.read_bytes()))
    progress(_("saving the leads"), 0, len(rows) or 1)
    report = call_records_save(campaign=campaign, rows=rows, source=LeadSource.IMPORT)
    stored.unlink(missing_ok=True)
    progress(_("saving the leads"), len(rows) or 1, len(rows) or 1)
    lines = [
        _("%(created)d leads added, %(merged)d merged, %(bad)d rows left out.")
        % {"created": report.created, "merged": report.merged, "bad": len(report.errors)}
    ]
    lines += [
        _("line %(line)d: %(reason)s") % {"line": line, "reason": reason}
        for line, reason in report.errors
    ]
    return "\n".join(lines)


job_runner_register("lead_import", lead_import_job)


def _store_import(name: str, content: bytes) -> str:
    IMPORT_DIR.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    suffix = ".xlsx" if name.lower().endswith(".xlsx") else ".csv"
    (IMPORT_DIR / f"{token}{suffix}").write_bytes(content)
    return f"{token}{suffix}"


def _stored_import(token: str) -> Path:
    if not token.replace(".", "").isalnum():
        raise Http404
    stored = IMPORT_DIR / token
    if not stored.exists():
        raise Http404
    return stored


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
class CallUploadAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "status",
        "records_total",
        "records_confirmed",
        "chunks_done",
        "chunks_total",
    )
    list_filter = ("status", "campaign")
    date_hierarchy = "created_at"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:upload_id>/progress.json",
                view(self.progress_json),
                name="callcenter_callupload_progress",
            ),
            path(
                "<int:upload_id>/decide/",
                view(self.decide_view),
                name="callcenter_callupload_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        upload = get_object_or_404(CallUpload.objects.select_related("campaign"), pk=object_id)
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(upload),
            "upload": upload,
            "progress": call_upload_progress(upload=upload),
            "excluded": exclusion_labels(upload.excluded or {}),
            "chunks": upload.chunks.order_by("index"),
            "progress_url": reverse("admin:callcenter_callupload_progress", args=[upload.pk]),
            "decide_url": reverse("admin:callcenter_callupload_decide", args=[upload.pk]),
        }
        return TemplateResponse(request, "admin/callcenter/upload_progress.html", context)

    def progress_json(self, request: HttpRequest, upload_id: int) -> JsonResponse:
        upload = get_object_or_404(CallUpload, pk=upload_id)
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        return JsonResponse(call_upload_progress(upload=upload))

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
