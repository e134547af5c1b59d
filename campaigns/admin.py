from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campaigns.forms import CampaignBatchForm
from campaigns.models import Campaign, CampaignBatch, CampaignKind, Media, Shop
from campaigns.results import READER, campaign_results
from campaigns.services import (
    CAMPAIGN_FIELDS,
    SHOP_EDITABLE_FIELDS,
    campaign_batch_create,
    campaign_batch_progress,
    campaign_create,
    campaign_is_registered,
    campaign_replace,
    campaign_update,
    campaign_withdraw,
    media_create,
    media_delete,
    shop_create,
    shop_delete,
    shop_update,
)
from core.admin import (
    STATUS_COLOURS,
    LiveProgressPageMixin,
    PullAdminMixin,
    SyncAdminMixin,
    admin_page,
    results_page,
    status_badge,
)
from core.results import results_available


def _thumbnail(url: str, size: int = 60):
    if not url:
        return "—"
    return format_html(
        '<img src="{}" alt="" style="max-width:{}px;max-height:{}px;border-radius:4px">',
        url,
        size,
        size,
    )


def _message_validation_error(modeladmin, request, exc: ValidationError) -> None:
    modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)


@admin.register(Shop)
class ShopAdmin(PullAdminMixin, SyncAdminMixin, admin.ModelAdmin):
    list_display = ("code", "city", "province", "address", "active")
    list_filter = ("active", "province")
    search_fields = ("code", "city", "address", "description")
    fields = SHOP_EDITABLE_FIELDS
    actions = [*SyncAdminMixin.actions, "create_campaign_for_shops"]
    pull_provider, pull_provider_name = "volantinopiu", "VolantinoPiù"
    pull_permission = "campaigns.change_shop"

    def save_model(self, request: HttpRequest, obj: Shop, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in SHOP_EDITABLE_FIELDS}
        if change:
            shop_update(shop=obj, data=data)
        else:
            created = shop_create(**data)
            obj.pk, obj.sync_status = created.pk, created.sync_status

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            _message_validation_error(self, request, exc)
            return HttpResponseRedirect(reverse("admin:campaigns_shop_change", args=[object_id]))

    def delete_model(self, request: HttpRequest, obj: Shop) -> None:
        shop_delete(shop=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Shop]) -> None:
        for shop in queryset:
            try:
                shop_delete(shop=shop)
            except ValidationError as exc:
                _message_validation_error(self, request, exc)

    @admin.action(
        description=gettext_lazy("Create a campaign for the selected shops"),
        permissions=["add_campaign"],
    )
    def create_campaign_for_shops(self, request: HttpRequest, queryset: QuerySet[Shop]):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        url = reverse("admin:campaigns_campaignbatch_add") + "?" + urlencode({"shops": ids})
        return HttpResponseRedirect(url)

    def has_add_campaign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.add_campaign")


@admin.register(Media)
class MediaAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("thumbnail", "name", "dimensions", "size_bytes", "created_at")
    search_fields = ("name", "remote_url")
    date_hierarchy = "created_at"
    fields = ("file", "name")
    actions = ["sync_now", "retry_failed"]

    @admin.display(description=gettext_lazy("preview"))
    def thumbnail(self, obj: Media):
        return _thumbnail(obj.preview_url)

    @admin.display(description=gettext_lazy("size (px)"))
    def dimensions(self, obj: Media) -> str:
        return f"{obj.width}×{obj.height}" if obj.width else "—"

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # An uploaded file cannot change at VolantinoPiù; upload a new image instead.
        return (*fields, "large_preview", "remote_url", "file", "name") if obj else fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj:
            fieldsets[0][1]["fields"] = ["large_preview", "name", "file", "remote_url"]
        return fieldsets

    @admin.display(description=gettext_lazy("preview"))
    def large_preview(self, obj: Media):
        return _thumbnail(obj.preview_url, 320)

    def save_model(self, request: HttpRequest, obj: Media, form, change: bool) -> None:
        if not change:
            created = media_create(file=form.cleaned_data["file"], name=form.cleaned_data["name"])
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Media) -> None:
        media_delete(media=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Media]) -> None:
        for media in queryset:
            try:
                media_delete(media=media)
            except ValidationError as exc:
                _message_validation_error(self, request, exc)


@admin.register(Campaign)
class CampaignAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("promo_name", "kind", "shop", "date_send", "thumbnail", "batch")
    list_filter = ("kind", "date_send", "shop")
    list_select_related = ("shop", "media", "batch")
    search_fields = ("promo_name", "template_name", "shop__code", "shop__city")
    date_hierarchy = "date_send"
    autocomplete_fields = ("shop", "media")
    fields = CAMPAIGN_FIELDS
    actions = ["sync_now", "retry_failed", "withdraw"]
    change_form_template = "admin/campaigns/campaign/change_form.html"

    @admin.display(description=gettext_lazy("image"))
    def thumbnail(self, obj: Campaign):
        return _thumbnail(obj.media.preview_url if obj.media_id else obj.image_url, 40)

    def get_actions(self, request: HttpRequest, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)  # "withdraw" says what really happens
        return actions

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and campaign_is_registered(obj):
            return False  # VolantinoPiù cannot edit it: shown read-only, with withdraw offered
        return super().has_change_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        extra = {"registered": bool(campaign and campaign_is_registered(campaign))}
        if extra["registered"]:
            extra["withdraw_url"] = reverse("admin:campaigns_campaign_withdraw", args=[object_id])
            extra["replace_url"] = (
                reverse("admin:campaigns_campaign_add") + "?" + urlencode({"replace": object_id})
            )
            extra["can_withdraw"] = self.has_delete_permission(request, campaign)
        if (
            campaign
            and campaign.kind == CampaignKind.FLYER
            and results_available(READER, request.user)
        ):
            extra["results_url"] = reverse("admin:campaigns_campaign_results", args=[campaign.pk])
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        replacing = self._replacing(request)
        extra = {"replacing": replacing}
        return super().add_view(request, form_url, {**extra, **(extra_context or {})})

    def get_changeform_initial_data(self, request: HttpRequest):
        replacing = self._replacing(request)
        if replacing is None:
            return super().get_changeform_initial_data(request)
        return {name: getattr(replacing, name) for name in CAMPAIGN_FIELDS}

    def _replacing(self, request: HttpRequest) -> Campaign | None:
        replace_id = request.GET.get("replace", "")
        if not replace_id.isdigit():
            return None
        return Campaign.objects.filter(pk=replace_id).select_related("shop").first()

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in CAMPAIGN_FIELDS}
        replacing = None if change else self._replacing(request)
        if change:
            campaign_update(campaign=obj, data=data)
            return
        if replacing is not None:
            if not self.has_delete_permission(request, replacing):
                raise PermissionDenied
            created = campaign_replace(campaign=replacing, data=data)
        else:
            created = campaign_create(**data)
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Campaign) -> None:
        campaign_withdraw(campaign=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            campaign_withdraw(campaign=campaign)

    @admin.action(
        description=gettext_lazy("Withdraw the selected campaigns (deleteCampaign)"),
        permissions=["delete"],
    )
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        count = 0
        for campaign in queryset:
            campaign_withdraw(campaign=campaign)
            count += 1
        self.message_user(
            request,
            ngettext("%(n)d campaign withdrawn.", "%(n)d campaigns withdrawn.", count)
            % {"n": count},
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/withdraw/",
                self.admin_site.admin_view(self.withdraw_view),
                name="campaigns_campaign_withdraw",
            ),
            path(
                "<path:object_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="campaigns_campaign_results",
            ),
            *super().get_urls(),
        ]

    def results_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A flyer's points redeemed in its shops, against the four weeks before
        (campaigns/results.py)."""
        campaign = get_object_or_404(
            self.get_queryset(request).filter(kind=CampaignKind.FLYER), pk=object_id
        )
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        try:
            results = campaign_results(campaign=campaign, user=request.user)
        except PermissionError:
            raise PermissionDenied from None
        return results_page(self, request, record=campaign, results=results)

    def withdraw_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        campaign = get_object_or_404(Campaign.objects.select_related("shop"), pk=object_id)
        if not self.has_delete_permission(request, campaign):
            raise PermissionDenied
        if request.method == "POST":
            campaign_withdraw(campaign=campaign)
            self.message_user(
                request,
                _("The campaign “%(campaign)s” was withdrawn; VolantinoPiù is being told.")
                % {"campaign": campaign},
            )
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_changelist"))
        return admin_page(
            self,
            request,
            "admin/campaigns/campaign/withdraw.html",
            title=_("Withdraw campaign"),
            object=campaign,
        )


@admin.register(CampaignBatch)
class CampaignBatchAdmin(LiveProgressPageMixin, admin.ModelAdmin):
    form = CampaignBatchForm
    progress_template = "admin/campaigns/campaignbatch/progress.html"
    context_object_name = "batch"
    list_display = ("promo_name", "kind", "date_send", "created_at", "created_by", "outcome")
    list_filter = ("kind",)
    date_hierarchy = "created_at"
    search_fields = ("promo_name",)
    fields = (
        "kind",
        "promo_name",
        "date_send",
        "media",
        "image_url",
        "link",
        "flyer_link",
        "template_name",
        "shops",
    )

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                total=Count("campaigns"),
                synced=Count("campaigns", filter=Q(campaigns__sync_status="synced")),
                failed=Count("campaigns", filter=Q(campaigns__sync_status="failed")),
            )
        )

    @admin.display(description=gettext_lazy("outcome"))
    def outcome(self, obj: CampaignBatch) -> str:
        return _("%(synced)d/%(total)d registered, %(failed)d failed") % {
            "synced": obj.synced,
            "total": obj.total,
            "failed": obj.failed,
        }

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a batch is created once; its campaigns are managed one by one

    def get_changeform_initial_data(self, request: HttpRequest):
        initial = super().get_changeform_initial_data(request)
        ids = [pk for pk in request.GET.get("shops", "").split(",") if pk.isdigit()]
        initial["shops"] = (
            Shop.objects.filter(pk__in=ids, active=True)
            if ids
            else Shop.objects.filter(active=True)
        )
        return initial

    def save_model(self, request: HttpRequest, obj: CampaignBatch, form, change: bool) -> None:
        data = form.cleaned_data
        batch = campaign_batch_create(
            shops=data["shops"],
            kind=data["kind"],
            date_send=data["date_send"],
            promo_name=data["promo_name"],
            media=data.get("media"),
            image_url=data.get("image_url") or "",
            link=data.get("link") or "",
            flyer_link=data.get("flyer_link") or "",
            template_name=data.get("template_name") or "",
            created_by=request.user,
        )
        obj.pk = batch.pk

    def save_related(self, request, form, formsets, change) -> None:
        """The batch's campaigns are made by the service; there is no m2m to save."""

    def response_add(self, request: HttpRequest, obj: CampaignBatch, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:campaigns_campaignbatch_change", args=[obj.pk]))

    def progress(self, obj: CampaignBatch) -> dict[str, Any]:
        return campaign_batch_progress(batch=obj)

    def progress_context(self, request: HttpRequest, obj: CampaignBatch, progress) -> dict:
        badges = [status_badge(r["sync_status"], r["sync_status_label"]) for r in progress["rows"]]
        return {
            "rows": list(zip(progress["rows"], badges, strict=True)),
            "status_colours": json.dumps(STATUS_COLOURS),
        }
