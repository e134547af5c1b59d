from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import (
    LiveProgressAdminMixin,
    ReadOnlyAdmin,
    SyncAdminMixin,
    results_page,
    status_badge,
)
from core.errors import ProviderError
from core.send_window import send_window_check
from loyalty.consent import exclusion_labels
from loyalty.models import Audience
from messaging.care import care_request_create
from messaging.forms import PushSendForm
from messaging.models import (
    CareRequest,
    InboundCall,
    Order,
    OrderLine,
    PushBatch,
    PushInvitation,
    PushMessage,
    PushSend,
    SendStatus,
    message_detail_label,
    message_status_label,
)
from messaging.results import push_send_results
from messaging.services import (
    SEND_FIELDS,
    push_invitations_for_unreachable,
    push_send_confirm,
    push_send_counts,
    push_send_create,
    push_send_estimate,
    push_send_update,
    push_status_refresh,
)
from messaging.smshosting import OPEN_STATUSES, smshosting_client

SEND_BADGE = {
    SendStatus.DRAFT: "pending",
    SendStatus.ESTIMATED: "in_flight",
    SendStatus.SENDING: "in_flight",
    SendStatus.SENT: "synced",
    SendStatus.FAILED: "failed",
}


@admin.register(PushSend)
class PushSendAdmin(LiveProgressAdminMixin, admin.ModelAdmin):
    form = PushSendForm
    progress_json_name = "counts"
    list_display = (
        "name",
        "status_badge",
        "created_at",
        "resolved_count",
        "delivery",
        "results_link",
    )
    list_filter = ("status", "sandbox", "only_push")
    search_fields = ("name", "text", "transaction_id")
    date_hierarchy = "created_at"
    filter_horizontal = ("audience_shops", "audience_programs")
    change_form_template = "admin/messaging/pushsend/change_form.html"
    show_full_result_count = False

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: PushSend):
        return status_badge(SEND_BADGE[obj.status], obj.get_status_display())

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        """An audience is offered only to who may see the audiences (not to the counter)."""
        if db_field.name == "audience" and not request.user.has_perm("loyalty.view_audience"):
            kwargs["queryset"] = Audience.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("delivered"))
    def delivery(self, obj: PushSend) -> str:
        if obj.status not in (SendStatus.SENT, SendStatus.SENDING):
            return "—"
        counts = push_send_counts(obj)
        return f"{counts['delivered']}/{counts['total']} ({counts['delivery_rate']}%)"

    @admin.display(description=gettext_lazy("results"))
    def results_link(self, obj: PushSend):
        if obj.status not in (SendStatus.SENT, SendStatus.SENDING):
            return "—"
        url = reverse("admin:messaging_pushsend_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Results"))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.status not in (SendStatus.DRAFT, SendStatus.ESTIMATED):
            return False  # gone out: read-only, with its results
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: PushSend, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in SEND_FIELDS if name in form.cleaned_data}
        shops, programs = (
            form.cleaned_data["audience_shops"],
            form.cleaned_data["audience_programs"],
        )
        if change:
            push_send_update(send=obj, data=data, shops=shops, programs=programs)
        else:
            obj.pk = push_send_create(shops=shops, programs=programs, **data).pk

    def save_related(self, request, form, formsets, change) -> None:
        """The audiences are set by the service."""

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        send = self.get_object(request, object_id)
        extra = {}
        if send is not None:
            counts = push_send_counts(send)
            extra = {
                "send": send,
                "counts": counts,
                "statuses": _status_counts(counts),
                "excluded_labels": exclusion_labels(send.excluded or {}),
                "step_urls": {
                    name: reverse(f"admin:messaging_pushsend_{name}", args=[send.pk])
                    for name in ("estimate", "confirm", "refresh", "invitations")
                },
                "progress_url": self.progress_url(send),
                "results_url": reverse("admin:messaging_pushsend_results", args=[send.pk]),
                "messages_url": reverse("admin:messaging_pushmessage_changelist")
                + f"?send__id__exact={send.pk}",
                # What confirming now would meet: the send window at the time it would go.
                "window": send_window_check(send.send_at or timezone.now()),
                "may_override_window": request.user.has_perm("messaging.override_send_window"),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:send_id>/estimate/",
                view(self.estimate_view),
                name="messaging_pushsend_estimate",
            ),
            path(
                "<int:send_id>/confirm/", view(self.confirm_view), name="messaging_pushsend_confirm"
            ),
            path(
                "<int:send_id>/refresh/", view(self.refresh_view), name="messaging_pushsend_refresh"
            ),
            path(
                "<int:send_id>/invitations/",
                view(self.invitations_view),
                name="messaging_pushsend_invitations",
            ),
            path(
                "<int:send_id>/results/", view(self.results_view), name="messaging_pushsend_results"
            ),
            path(
                "multimedia/<str:media_id>/",
                view(self.multimedia_view),
                name="messaging_pushsend_multimedia",
            ),
            *super().get_urls(),
        ]

    def progress(self, obj: PushSend) -> dict[str, Any]:
        """The send's progress for its live page: batches answered, statuses, delivery rate."""
        counts = push_send_counts(obj)
        open_messages = sum(
            n for status, n in counts["by_status"].items() if status in OPEN_STATUSES
        )
        return {
            **counts,
            "status": obj.status,
            "status_label": obj.get_status_display(),
            "statuses": _status_counts(counts),
            "finished": obj.status in (SendStatus.SENT, SendStatus.FAILED) and not open_messages,
        }

    def _step(self, request: HttpRequest, send_id: int, step) -> HttpResponse:
        if request.method != "POST" or not request.user.has_perm("messaging.change_pushsend"):
            raise PermissionDenied
        send = get_object_or_404(PushSend, pk=send_id)
        try:
            message = step(send)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        except ProviderError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:messaging_pushsend_change", args=[send_id]))

    def estimate_view(self, request: HttpRequest, send_id: int) -> HttpResponse:
        def estimate(send):
            push_send_estimate(send=send)
            return _("Estimate received: check the cost, then confirm.")

        return self._step(request, send_id, estimate)

    def confirm_view(self, request: HttpRequest, send_id: int) -> HttpResponse:
        def confirm(send):
            send = push_send_confirm(
                send=send,
                user=request.user,
                window_override=request.POST.get("window_override") == "1",
                window_override_reason=request.POST.get("window_override_reason", ""),
            )
            if send.window_reason and not send.window_override_reason:
                return _("Confirmed, and postponed: %(reason)s") % {"reason": send.window_reason}
            return _("Confirmed: the send is going out.")

        return self._step(request, send_id, confirm)

    def refresh_view(self, request: HttpRequest, send_id: int) -> HttpResponse:
        def refresh(send):
            return _("%(n)d messages updated.") % {"n": push_status_refresh(sends=[send])}

        return self._step(request, send_id, refresh)

    def invitations_view(self, request: HttpRequest, send_id: int) -> HttpResponse:
        def invite(send):
            count = push_invitations_for_unreachable(send=send)
            return _("%(n)d invitation links created.") % {"n": count}

        return self._step(request, send_id, invite)

    def results_view(self, request: HttpRequest, send_id: int) -> HttpResponse:
        """Delivered, failed, per day and per shop (messaging/results.py)."""
        send = get_object_or_404(self.get_queryset(request), pk=send_id)
        if not self.has_view_permission(request, send):
            raise PermissionDenied
        results = push_send_results(send=send)
        return results_page(self, request, record=send, results=results)

    def multimedia_view(self, request: HttpRequest, media_id: str) -> HttpResponse:
        """The image of a sent push, as SMSHosting keeps it (push/multimedia/{id})."""
        if not request.user.has_perm("messaging.view_pushmessage"):
            raise PermissionDenied
        try:
            content, content_type = smshosting_client().multimedia(media_id)
        except ProviderError as exc:
            return HttpResponse(str(exc), status=502, content_type="text/plain; charset=utf-8")
        return HttpResponse(content, content_type=content_type)


@admin.register(PushBatch)
class PushBatchAdmin(SyncAdminMixin, ReadOnlyAdmin):
    list_display = (
        "send",
        "index",
        "transaction_id",
        "sms_inserted",
        "push_inserted",
        "sms_not_inserted",
    )
    list_filter = ("sync_status",)
    search_fields = ("transaction_id", "send__name")
    list_select_related = ("send",)
    actions = ["sync_now", "retry_failed"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("messaging.change_pushbatch") and obj is None


def _status_counts(counts: dict) -> list[tuple[str, int]]:
    """A send's messages by status, each status as the user reads it (not SMSHosting's code)."""
    return [(message_status_label(status), n) for status, n in counts["by_status"].items()]


class _MessageValueFilter(admin.SimpleListFilter):
    """The values a column holds, each shown by its label."""

    label = staticmethod(str)

    def lookups(self, request, model_admin):
        values = model_admin.get_queryset(request).order_by(self.parameter_name)
        values = values.values_list(self.parameter_name, flat=True).distinct()
        return [(value, self.label(value)) for value in values if value]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class MessageStatusFilter(_MessageValueFilter):
    title = gettext_lazy("status")
    parameter_name = "status"
    label = staticmethod(message_status_label)


class MessageDetailFilter(_MessageValueFilter):
    title = gettext_lazy("detail")
    parameter_name = "status_detail"
    label = staticmethod(message_detail_label)


@admin.register(PushMessage)
class PushMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "msisdn",
        "send",
        "status_shown",
        "detail_shown",
        "type",
        "sent_date",
        "delivery_date",
        "image",
    )
    list_filter = (MessageStatusFilter, "type", MessageDetailFilter)
    fields = (
        "send",
        "batch",
        "remote_id",
        "msisdn",
        "status_shown",
        "detail_shown",
        "type",
        "insert_date",
        "sent_date",
        "delivery_date",
        "price",
        "multimedia_id",
    )
    readonly_fields = ("status_shown", "detail_shown")
    search_fields = ("msisdn", "remote_id")
    list_select_related = ("send",)
    show_full_result_count = False

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_shown(self, obj: PushMessage) -> str:
        return message_status_label(obj.status)

    @admin.display(description=gettext_lazy("detail"), ordering="status_detail")
    def detail_shown(self, obj: PushMessage) -> str:
        return message_detail_label(obj.status_detail)

    @admin.display(description=gettext_lazy("image"))
    def image(self, obj: PushMessage):
        if not obj.multimedia_id:
            return "—"
        url = reverse("admin:messaging_pushsend_multimedia", args=[obj.multimedia_id])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("view"))


@admin.register(PushInvitation)
class PushInvitationAdmin(ReadOnlyAdmin):
    list_display = ("msisdn", "url", "created_at")
    search_fields = ("msisdn",)


@admin.register(CareRequest)
class CareRequestAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("subject", "customer", "type", "status", "created_at")
    list_filter = ("type", "status")
    list_select_related = ("customer",)
    search_fields = ("subject", "customer__msisdn", "customer__surname", "remote_id")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer",)
    fields = ("customer", "type", "subject", "message")
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.fields, "status") if obj else fields

    def save_model(self, request: HttpRequest, obj: CareRequest, form, change: bool) -> None:
        if change:
            return  # Aisac has no call to change a request; "sync now" reads it back
        data = form.cleaned_data
        obj.pk = care_request_create(
            customer=data["customer"],
            type=data["type"],
            subject=data["subject"],
            message=data["message"],
        ).pk


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "price")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(SyncAdminMixin, admin.ModelAdmin):
    """Orders arrive from the e-commerce through the API; here they are read and re-synced."""

    list_display = ("number", "customer", "shop", "total", "created_at")
    list_select_related = ("customer", "shop")
    search_fields = ("number", "customer__msisdn")
    date_hierarchy = "created_at"
    fields = ("number", "customer", "shop", "total")
    readonly_fields = fields
    inlines = [OrderLineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundCall)
class InboundCallAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "endpoint",
        "user_key",
        "status_code",
        "detail",
        "remote_addr",
        "duration_ms",
    )
    list_filter = ("endpoint", "status_code")
    date_hierarchy = "at"
    show_full_result_count = False
