from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin, SyncAdminMixin
from core.errors import ProviderError
from core.pull import pull_run
from loyalty.forms import PointMovementForm
from loyalty.models import Customer, FidelityCard, FidelityProgram, MovementAction, PointMovement
from loyalty.services import (
    card_enrol,
    customer_get_or_create,
    customer_update,
    movement_add,
    movement_delete,
    movement_reset,
    movement_reward,
)


class BalanceDiffersFilter(admin.SimpleListFilter):
    title = gettext_lazy("balance at AMM")
    parameter_name = "balance"

    def lookups(self, request, model_admin):
        return [("differs", _("differs from ours")), ("same", _("same as ours"))]

    def queryset(self, request, queryset):
        if self.value() == "differs":
            return queryset.exclude(remote_points=None).exclude(remote_points=F("points"))
        if self.value() == "same":
            return queryset.filter(remote_points=F("points"))
        return queryset


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("msisdn", "name", "surname", "email", "created_at")
    search_fields = ("msisdn", "name", "surname", "email")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Customer, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            customer_update(
                customer=obj, name=data["name"], surname=data["surname"], email=data["email"]
            )
        else:
            created = customer_get_or_create(
                msisdn=str(data["msisdn"]),
                name=data["name"],
                surname=data["surname"],
                email=data["email"],
            )
            obj.pk = created.pk


@admin.register(FidelityProgram)
class FidelityProgramAdmin(ReadOnlyAdmin):
    list_display = ("name", "remote_id", "point_value", "pulled_at")

    def get_urls(self):
        return [
            path("pull/", self.admin_site.admin_view(self.pull_view), name="loyalty_pull"),
            *super().get_urls(),
        ]

    def pull_view(self, request: HttpRequest) -> HttpResponse:
        """GET: what a pull from AMM would change. POST: import new cards and report."""
        if not request.user.has_perm("loyalty.change_fidelitycard"):
            raise PermissionDenied
        dry_run = request.method != "POST"
        report = None
        try:
            report = pull_run(provider="amm", dry_run=dry_run)
        except ProviderError as exc:
            self.message_user(
                request, _("AMM could not be read: %(error)s") % {"error": exc}, messages.ERROR
            )
        if report is not None and not dry_run:
            self.message_user(request, _("Pull completed."), messages.SUCCESS)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Pull from AMM"),
            "report": report,
            "dry_run": dry_run,
            "provider_name": "AMM",
        }
        return TemplateResponse(request, "admin/pull.html", context)


@admin.register(FidelityCard)
class FidelityCardAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "program", "customer", "shop", "points", "balance_badge", "active")
    list_filter = ("program", "active", BalanceDiffersFilter, "shop")
    list_select_related = ("program", "customer", "shop")
    search_fields = ("code", "customer__msisdn", "customer__surname")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer", "shop")
    show_full_result_count = False
    fields = (
        "program",
        "customer",
        "shop",
        "code",
        "starting_points",
        "starting_amount",
        "send_sms",
    )

    @admin.display(description=gettext_lazy("last movements"))
    def last_movements(self, obj: FidelityCard):
        rows = obj.movements.select_related("shop").order_by("-date", "-id")[:20]
        return render_to_string(
            "admin/loyalty/last_movements.html", {"movements": rows, "card": obj}
        )

    @admin.display(description=gettext_lazy("at AMM"))
    def balance_badge(self, obj: FidelityCard):
        if obj.remote_points is None:
            return "—"
        if obj.remote_points == obj.points:
            return obj.remote_points
        return format_html(
            '<span class="balance-differs" style="color:#b00020;font-weight:bold" title="{}">{} ⚠</span>',
            _("AMM's balance differs from the sum of the movements here."),
            obj.remote_points,
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # AMM has no call to change a card: once created it is read-only here.
        extra = ("points", "remote_points", "active", "activation_date", "last_movements")
        return (*fields, *self.fields, *extra) if obj else fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj:
            fieldsets[0][1]["fields"] = [
                *self.fields,
                "points",
                "remote_points",
                "active",
                "activation_date",
                "last_movements",
            ]
        return fieldsets

    def save_model(self, request: HttpRequest, obj: FidelityCard, form, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        created = card_enrol(
            program=data["program"],
            customer=data["customer"],
            shop=data["shop"],
            code=data["code"],
            starting_points=data["starting_points"] if data["starting_amount"] is None else None,
            starting_amount=data["starting_amount"],
            send_sms=data["send_sms"],
            user=request.user,
        )
        obj.pk = created.pk


@admin.register(PointMovement)
class PointMovementAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("date", "card", "action", "points", "amount", "reward_id", "shop", "created_by")
    list_filter = ("action", "shop")
    list_select_related = ("card", "shop", "created_by")
    search_fields = ("card__code", "note")
    date_hierarchy = "date"
    autocomplete_fields = ("card", "shop")
    show_full_result_count = False
    fields = ("card", "action", "points", "amount", "reward_id", "note", "send_sms", "shop")
    actions = ["sync_now", "retry_failed"]
    form = PointMovementForm

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.fields, "date", "created_by") if obj else fields

    def save_model(self, request: HttpRequest, obj: PointMovement, form, change: bool) -> None:
        if change:
            return  # a record never changes at AMM: delete it and make a new one
        data = form.cleaned_data
        common = {
            "card": data["card"],
            "note": data["note"],
            "shop": data["shop"],
            "user": request.user,
        }
        if data["action"] == MovementAction.ADD:
            created = movement_add(
                points=data["points"], amount=data["amount"], send_sms=data["send_sms"], **common
            )
        elif data["action"] == MovementAction.REWARD:
            created = movement_reward(
                reward_id=data["reward_id"], send_sms=data["send_sms"], **common
            )
        else:
            created = movement_reset(**common)
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: PointMovement) -> None:
        movement_delete(movement=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PointMovement]) -> None:
        for movement in queryset:
            movement_delete(movement=movement)
