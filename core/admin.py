"""Admin for the sync core: a mixin for every synced model, the outbox, the call log, jobs, API
tokens and the provider check with the circuit breakers."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry as AuditEntry
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import display_for_value
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from core.audit import (
    ACTION_LABELS,
    AuditEvent,
    audit_author,
    audit_changed_fields,
    audit_changes,
    audit_record,
    audit_what,
    audited_models,
)
from core.breaker import breaker_close, breaker_status
from core.jobs import (
    job_kind,
    job_progress,
    job_retry,
    job_retry_allowed,
    job_retry_blocker,
    job_start,
)
from core.models import (
    ApiToken,
    Job,
    JobStatus,
    OutboxEntry,
    OutboxState,
    ProviderCheck,
    RemoteCall,
    SyncStatus,
)
from core.outbox import outbox_cancel, outbox_resend, outbox_retry
from core.preflight import preflight_check_and_keep, preflight_providers
from core.services import records_retry_failed, records_sync_now
from core.tokens import (
    api_token_create,
    api_token_replace,
    token_holders,
    token_prefix,
)

STATUS_COLOURS = {
    SyncStatus.PENDING: "#b26a00",
    SyncStatus.SYNCED: "#1b7f3b",
    SyncStatus.FAILED: "#b00020",
    OutboxState.IN_FLIGHT: "#1f5fa8",
    OutboxState.DONE: "#1b7f3b",
    OutboxState.CANCELLED: "#666666",
}


def status_badge(value: str, label: str):
    colour = STATUS_COLOURS.get(value, "#666666")
    return format_html(
        '<span class="sync-badge sync-{}" style="color:#fff;background:{};padding:2px 8px;'
        'border-radius:10px;white-space:nowrap">{}</span>',
        value,
        colour,
        label,
    )


class SyncAdminMixin:
    """Gives a synced model's admin its sync column, filter, read-only fields and actions."""

    sync_fields = (
        "remote_id",
        "sync_status_badge",
        "sync_error",
        "sync_attempts",
        "last_sync_attempt_at",
        "synced_at",
    )
    actions = ["sync_now", "retry_failed"]

    def get_list_display(self, request: HttpRequest):
        return (*super().get_list_display(request), "sync_status_badge")

    def get_list_filter(self, request: HttpRequest):
        return (*super().get_list_filter(request), "sync_status")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return (*super().get_readonly_fields(request, obj), *self.sync_fields)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        own = [f for f in fieldsets[0][1]["fields"] if f not in self.sync_fields]
        if obj is None:
            return [(None, {"fields": own})]
        return [(None, {"fields": own}), (_("Synchronisation"), {"fields": self.sync_fields})]

    @admin.display(description=_("sync status"), ordering="sync_status")
    def sync_status_badge(self, obj):
        return status_badge(obj.sync_status, obj.get_sync_status_display())

    @admin.action(description=_("Sync now with the provider"), permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = records_sync_now(objects=queryset)
        self.message_user(
            request,
            ngettext("%(n)d record queued for sync.", "%(n)d records queued for sync.", count)
            % {"n": count},
        )

    @admin.action(description=_("Retry failed syncs"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = records_retry_failed(objects=queryset)
        self.message_user(
            request,
            ngettext(
                "%(n)d failed record queued again.", "%(n)d failed records queued again.", count
            )
            % {"n": count},
        )


class LargeListAdminMixin:
    """For change lists of hundreds of thousands of rows, where every millisecond of a row counts
    a hundred times a page: the selection checkbox of each row built directly (Django renders
    it through the form-widget templates, a fifth of such a page's time), same markup."""

    def action_checkbox(self, obj):  # the column's header is Django's, found by this name
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def admin_page(model_admin, request: HttpRequest, template: str, **context) -> TemplateResponse:
    """A page of the model's own in the admin's frame (its header, breadcrumbs and menu)."""
    frame = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta}
    return TemplateResponse(request, template, {**frame, **context})


def results_page(model_admin, request: HttpRequest, *, record, results) -> TemplateResponse:
    """A record's results (core/results.py: figures, per day, per shop, charts) in the admin."""
    opts = model_admin.model._meta
    return admin_page(
        model_admin,
        request,
        "admin/results.html",
        title=results.title,
        record=record,
        record_url=reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk]),
        **results.context(),
    )


class LiveProgressAdminMixin:
    """A record whose page is followed live (core/static/core/live_progress.js): `progress(obj)`
    as JSON at `<id>/progress.json`, for who may view the record."""

    progress_json_name = "progress"  # the address's last part and the URL name's

    def __init_subclass__(cls, **kwargs):
        """Each admin using it says what its live page reads: `progress(obj)`, a JSON-ready
        dict. Checked when an admin class is made (not a mixin built on this one), not when a
        page first asks."""
        super().__init_subclass__(**kwargs)
        if issubclass(cls, admin.ModelAdmin) and not callable(getattr(cls, "progress", None)):
            raise TypeError(f"{cls.__name__} must define progress(obj) for its live page")

    def progress_object(self, request: HttpRequest, object_id):
        obj = get_object_or_404(self.get_progress_queryset(), pk=object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def get_progress_queryset(self) -> QuerySet:
        return self.model._default_manager.all()

    def progress_url(self, obj) -> str:
        return reverse(f"admin:{self._progress_url_name()}", args=[obj.pk])

    def progress_json(self, request: HttpRequest, object_id: int) -> JsonResponse:
        return JsonResponse(self.progress(self.progress_object(request, object_id)))

    def get_urls(self):
        json_path = f"<int:object_id>/{self.progress_json_name}.json"
        view = self.admin_site.admin_view(self.progress_json)
        return [path(json_path, view, name=self._progress_url_name()), *super().get_urls()]

    def _progress_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{self.progress_json_name}"


class LiveProgressPageMixin(LiveProgressAdminMixin):
    """A record followed live whose change view is that page (`progress_template`), not a form:
    the record under `context_object_name`, its progress, and what `progress_context` adds."""

    progress_template = ""
    context_object_name = "object"

    def progress_context(self, request: HttpRequest, obj, progress: dict[str, Any]) -> dict:
        return {}

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        obj = self.progress_object(request, object_id)
        progress = self.progress(obj)
        context = {
            "title": str(obj),
            self.context_object_name: obj,
            "progress": progress,
            "progress_url": self.progress_url(obj),
            **self.progress_context(request, obj, progress),
        }
        return admin_page(self, request, self.progress_template, **context)


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "provider",
        "operation",
        "object_repr",
        "state_badge",
        "attempts",
        "next_attempt_at",
        "error_code",
        "last_error",
    )
    list_filter = ("state", "provider", "operation", "model_label")
    search_fields = ("object_repr", "object_key", "last_error", "error_code")
    date_hierarchy = "created_at"
    actions = ["retry", "resend", "cancel"]
    show_full_result_count = False

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: OutboxEntry):
        return status_badge(obj.state, obj.get_state_display())

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing is read-only; the actions below need the change permission.
        return request.user.has_perm("core.change_outboxentry") and obj is None

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox_retry(entries=queryset)
        self.message_user(
            request,
            ngettext("%(n)d entry queued again.", "%(n)d entries queued again.", count)
            % {"n": count},
        )

    @admin.action(
        description=_("Send again without looking it up (checked: it did not arrive)"),
        permissions=["change"],
    )
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        """For an entry stopped for a decision (its answer was lost and the lookup could not
        tell): a person checked at the provider that it is not there."""
        count = outbox_resend(entries=queryset)
        self.message_user(
            request,
            ngettext("%(n)d entry sent again.", "%(n)d entries sent again.", count) % {"n": count},
        )

    @admin.action(description=_("Cancel (do not send)"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox_cancel(entries=queryset)
        self.message_user(
            request,
            ngettext("%(n)d entry cancelled.", "%(n)d entries cancelled.", count) % {"n": count},
        )


@admin.register(RemoteCall)
class RemoteCallAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "provider",
        "operation",
        "method",
        "path",
        "status_code",
        "duration_ms",
        "error_code",
        "ok",
    )
    list_filter = ("provider", "ok", "error_code", "status_code", "operation")
    search_fields = ("path", "error_code", "error", "answer_shape")
    date_hierarchy = "created_at"
    list_select_related = ("outbox_entry",)
    show_full_result_count = False


@admin.register(Job)
class JobAdmin(LiveProgressPageMixin, ReadOnlyAdmin):
    list_display = ("label", "status", "done", "total", "created_by", "created_at", "finished_at")
    list_filter = ("status", "kind")
    date_hierarchy = "created_at"
    actions = ["retry"]
    progress_template = "admin/core/job.html"
    context_object_name = "job"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing is read-only; Riprova needs the change permission (and the kind's own).
        return request.user.has_perm("core.change_job") and obj is None

    def get_urls(self):
        return [
            path(
                "<int:job_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="core_job_retry",
            ),
            *super().get_urls(),
        ]

    def progress(self, obj: Job) -> dict[str, Any]:
        return job_progress(obj)

    def progress_context(self, request: HttpRequest, obj: Job, progress: dict[str, Any]) -> dict:
        kind = job_kind(obj.kind)
        context = {
            "report": obj.report,
            "kind_template": kind.template if kind is not None and progress["finished"] else "",
        }
        if context["kind_template"] and kind.context is not None:
            context.update(kind.context(obj))
        if obj.status == JobStatus.FAILED and job_retry_allowed(request.user, obj):
            context["retry_blocker"] = job_retry_blocker(obj)
            context["retry_url"] = reverse("admin:core_job_retry", args=[obj.pk])
        return context

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponseRedirect:
        job = get_object_or_404(Job, pk=job_id)
        if request.method != "POST" or not job_retry_allowed(request.user, job):
            raise PermissionDenied
        self._retry_one(request, job)
        return job_page(job)

    @admin.action(description=_("Retry"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        for job in queryset.filter(status=JobStatus.FAILED):
            if job_retry_allowed(request.user, job):
                self._retry_one(request, job)
            else:
                self.message_user(
                    request,
                    gettext("%(job)s: you may not run this job again.") % {"job": job},
                    level=messages.WARNING,
                )

    def _retry_one(self, request: HttpRequest, job: Job) -> None:
        blocker = job_retry_blocker(job)
        if blocker or not job_retry(job=job):
            self.message_user(
                request,
                gettext("%(job)s cannot be run again: %(reason)s")
                % {"job": job, "reason": blocker or gettext("Only a failed job can be run again.")},
                level=messages.WARNING,
            )
            return
        self.message_user(request, gettext("%(job)s queued again.") % {"job": job})


def job_page(job: Job) -> HttpResponseRedirect:
    """To a job's page, which follows it live."""
    return HttpResponseRedirect(reverse("admin:core_job_change", args=[job.pk]))


def pull_start_view(model_admin, request: HttpRequest, *, provider: str, provider_name: str):
    """A pull's page: compare (dry run) or import, each run by a worker as a job whose page
    follows it live."""
    if request.method == "POST":
        dry_run = request.POST.get("mode") != "import"
        label = (
            gettext("Compare with %(provider)s") if dry_run else gettext("Import from %(provider)s")
        ) % {"provider": provider_name}
        job = job_start(
            kind="pull",
            label=str(label),
            params={"provider": provider, "dry_run": dry_run},
            user=request.user,
        )
        return job_page(job)
    return admin_page(
        model_admin,
        request,
        "admin/pull.html",
        title=gettext("Pull from %(provider)s") % {"provider": provider_name},
        provider_name=provider_name,
    )


class PullAdminMixin:
    """The list of records pulled from a provider: **Pull from …** on it, for who holds
    `pull_permission`, leading to the pull's page (`pull_start_view`) at `pull/`."""

    change_list_template = "admin/pull_change_list.html"
    pull_provider = ""  # the provider's code (core/pull.py)
    pull_provider_name = ""
    pull_permission = ""

    def get_urls(self):
        view = self.admin_site.admin_view(self.pull_view)
        return [path("pull/", view, name=self._pull_url_name()), *super().get_urls()]

    def pull_view(self, request: HttpRequest) -> HttpResponse:
        """Compare with the provider or import from it, as a job followed live."""
        if not request.user.has_perm(self.pull_permission):
            raise PermissionDenied
        return pull_start_view(
            self, request, provider=self.pull_provider, provider_name=self.pull_provider_name
        )

    def changelist_view(self, request: HttpRequest, extra_context=None):
        pull = {}
        if request.user.has_perm(self.pull_permission):
            pull = {
                "url": reverse(f"admin:{self._pull_url_name()}"),
                "label": gettext("Pull from %(provider)s") % {"provider": self.pull_provider_name},
            }
        return super().changelist_view(request, {"pull": pull, **(extra_context or {})})

    def _pull_url_name(self) -> str:
        return f"{self.opts.app_label}_pull"


# --- API tokens ------------------------------------------------------------------------------
class TokenCreateForm(forms.Form):
    user = forms.ModelChoiceField(
        label=capfirst(_("user")),
        queryset=token_holders(),
        help_text=_("API scripts and store managers only."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = token_holders()  # evaluated per request, not at import


if admin.site.is_registered(AuthToken):  # knox registers one that lists digests
    admin.site.unregister(AuthToken)


class CreatedFilter(admin.DateFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("created")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed by their first characters and date; the token itself is shown once,
    on the page that made it, and never again (only its digest is stored)."""

    # knox's fields have no names of their own ("user", "created"): these columns name them.
    list_display = ("prefix", "holder", "made", "expires")
    list_filter = (("created", CreatedFilter),)
    search_fields = ("user__username", "token_key")
    fields = ("prefix", "holder", "made", "expires")
    readonly_fields = fields
    actions = ["replace"]
    ordering = ("-created",)

    @admin.display(description=_("token (first characters)"), ordering="token_key")
    def prefix(self, obj: ApiToken) -> str:
        return token_prefix(obj)

    @admin.display(description=_("user"), ordering="user__username")
    def holder(self, obj: ApiToken):
        return obj.user

    @admin.display(description=_("created"), ordering="created")
    def made(self, obj: ApiToken):
        return display_for_value(obj.created, self.get_empty_value_display())

    @admin.display(description=_("expires"), ordering="expiry")
    def expires(self, obj: ApiToken):
        return display_for_value(obj.expiry, self.get_empty_value_display())

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TokenCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            token, secret = api_token_create(user=form.cleaned_data["user"])
            return self._shown_once(request, [(token, secret)])
        return admin_page(
            self, request, "admin/core/token_add.html", title=gettext("New API token"), form=form
        )

    @admin.action(
        description=_("New token (replaces the selected ones)"), permissions=["add", "delete"]
    )
    def replace(self, request: HttpRequest, queryset: QuerySet):
        made = [api_token_replace(token=token) for token in queryset.select_related("user")]
        return self._shown_once(request, made)

    def _shown_once(self, request: HttpRequest, made: list[tuple[ApiToken, str]]):
        response = admin_page(
            self,
            request,
            "admin/core/token_created.html",
            title=ngettext("New API token", "New API tokens", len(made)),
            made=[{"user": token.user, "secret": secret} for token, secret in made],
        )
        response["Cache-Control"] = "no-store"
        return response


# --- provider check (Verifica fornitori) and circuit breakers --------------------------------
HISTORY_ROWS = 30


@admin.register(ProviderCheck)
class ProviderCheckAdmin(ReadOnlyAdmin):
    """**Verifica fornitori**: each provider's last read-only check and a button to run it
    again, its circuit breaker (closed by hand when the provider is known to be back), and the
    checks run before. The change list is this page: a check's result has nothing to edit."""

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request)
        latest = {}
        for check in ProviderCheck.objects.order_by("-checked_at", "-id")[:200]:
            latest.setdefault(check.provider, check)
        providers = [
            {
                "code": p.provider,
                "label": p.label,
                "last": latest.get(p.provider),
                "breaker": breaker_status(p.provider),
            }
            for p in preflight_providers()
        ]
        return admin_page(
            self,
            request,
            "admin/core/provider_checks.html",
            title=gettext("Provider check"),
            providers=providers,
            history=ProviderCheck.objects.select_related("checked_by")[:HISTORY_ROWS],
            can_run=self._may_run(request),
        )

    def _may_run(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.change_providercheck")

    def _act(self, request: HttpRequest):
        if not self._may_run(request):
            raise PermissionDenied
        known = {p.provider: p.label for p in preflight_providers()}
        provider = request.POST.get("provider", "")
        if provider not in known:
            self.message_user(request, gettext("Unknown provider."), messages.ERROR)
        elif request.POST.get("action") == "close_breaker":
            if breaker_close(provider):
                self.message_user(
                    request,
                    gettext("%(provider)s: breaker closed, the waiting sends go now.")
                    % {"provider": known[provider]},
                )
        else:
            for report, _row in preflight_check_and_keep(provider, user=request.user):
                level = messages.SUCCESS if report.passed else messages.ERROR
                self.message_user(request, f"{report.label}: {report.summary()}", level)
        return HttpResponseRedirect(reverse("admin:core_providercheck_changelist"))


# --- users and groups: their permissions named in the user's language ------------------------
PERMISSION_ACTIONS = {
    "add": _("Can add %(name)s"),
    "change": _("Can change %(name)s"),
    "delete": _("Can delete %(name)s"),
    "view": _("Can view %(name)s"),
}


def permission_label(permission: Permission) -> str:
    """A permission as Django shows it (app | model | action), in the user's language: the
    names Django stores ("Can add shop") are written in English once, by `migrate`."""
    model = permission.content_type.model_class()
    if model is None:
        return str(permission)
    opts = model._meta
    model_name = gettext(str(opts.verbose_name))  # a third party's plain name: our catalogue
    action, _sep, model_code = permission.codename.partition("_")
    if action in PERMISSION_ACTIONS and model_code == opts.model_name:
        name = PERMISSION_ACTIONS[action] % {"name": model_name}
    else:
        name = gettext(permission.name)  # a model's own permission, named through gettext
    return f"{opts.app_config.verbose_name} | {model_name} | {name}"


class PermissionLabelsMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.remote_field.model is Permission:
            field.label_from_instance = permission_label
        return field


class VetrinaGroupAdmin(PermissionLabelsMixin, GroupAdmin):
    pass


class VetrinaUserAdmin(PermissionLabelsMixin, UserAdmin):
    pass


for _model, _model_admin in ((Group, VetrinaGroupAdmin), (User, VetrinaUserAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)


# --- the audit trail (core/audit.py) --------------------------------------------------------
class AuditedModelFilter(admin.SimpleListFilter):
    title = _("record type")
    parameter_name = "record_type"

    def lookups(self, request, model_admin):
        models = sorted(audited_models(), key=lambda m: str(m._meta.verbose_name_plural))
        return [
            (ContentType.objects.get_for_model(m).pk, capfirst(m._meta.verbose_name_plural))
            for m in models
        ]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(content_type_id=value) if value and value.isdigit() else queryset


class AuditWhatFilter(admin.SimpleListFilter):
    title = _("what")
    parameter_name = "what"

    def lookups(self, request, model_admin):
        actions = [(str(action), label) for action, label in ACTION_LABELS.items()]
        return [*actions[:3], *AuditEvent.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value in AuditEvent.values:
            return queryset.filter(additional_data__event=value)
        if value and value.isdigit():
            return queryset.filter(action=int(value)).exclude(additional_data__has_key="event")
        return queryset


if admin.site.is_registered(AuditEntry):  # django-auditlog's own admin, in English
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The whole audit trail, newest first: read by marketing and auditors, changed by nobody."""

    list_display = ("when", "author", "what", "record", "changed_fields")
    list_filter = (AuditWhatFilter, AuditedModelFilter, ("timestamp", admin.DateFieldListFilter))
    search_fields = ("object_repr", "actor__username")
    list_select_related = ("actor", "content_type")
    show_full_result_count = False
    fields = ("when", "author", "what", "record", "changes_made", "remote_addr")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-timestamp", "-pk")

    @admin.display(description=_("when"), ordering="timestamp")
    def when(self, entry):
        return display_for_value(timezone.localtime(entry.timestamp), "")

    @admin.display(description=_("who"))
    def author(self, entry):
        return audit_author(entry)

    @admin.display(description=_("what"))
    def what(self, entry):
        return audit_what(entry)

    @admin.display(description=_("record"))
    def record(self, entry):
        label = audit_record(entry)
        model = entry.content_type.model_class()
        if model is None or entry.object_id is None:
            return label
        try:
            url = reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                args=[entry.object_id],
            )
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=_("fields changed"))
    def changed_fields(self, entry):
        return audit_changed_fields(entry)

    @admin.display(description=_("changes"))
    def changes_made(self, entry):
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {} → {}</div>",
            ((c.field, c.old, c.new) for c in audit_changes(entry)),
        )
