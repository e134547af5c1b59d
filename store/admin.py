from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from store.models import FlyerRequest, FlyerRequestStatus, StoreManager
from store.services import flyer_request_approve, flyer_request_reject


@admin.register(StoreManager)
class StoreManagerAdmin(admin.ModelAdmin):
    list_display = ("user", "shop_codes")
    search_fields = ("user__username", "shops__code")
    filter_horizontal = ("shops",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("shops")

    @admin.display(description=gettext_lazy("shops"))
    def shop_codes(self, obj: StoreManager) -> str:
        return ", ".join(shop.code for shop in obj.shops.all())


@admin.register(FlyerRequest)
class FlyerRequestAdmin(admin.ModelAdmin):
    """Marketing decides: approve (registers the flyer with VolantinoPiù) or reject with a
    reason. Only the decision note is editable; the request is the store manager's."""

    list_display = ("promo_name", "shop", "date_send", "status", "requested_by", "created_at")
    list_filter = ("status", "shop")
    list_select_related = ("shop", "requested_by")
    search_fields = ("promo_name", "shop__code")
    date_hierarchy = "created_at"
    fields = (
        "shop",
        "promo_name",
        "date_send",
        "image_preview",
        "flyer_link",
        "note",
        "requested_by",
        "created_at",
        "status",
        "decided_by",
        "decided_at",
        "campaign",
        "decision_note",
    )
    readonly_fields = tuple(f for f in fields if f != "decision_note")
    actions = ["approve_selected"]
    change_form_template = "admin/store/flyerrequest/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from the counter

    def has_approve_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("store.approve_flyerrequest")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.status != FlyerRequestStatus.PENDING:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description=gettext_lazy("image"))
    def image_preview(self, obj: FlyerRequest):
        if not obj.image:
            return "—"
        return format_html(
            '<a href="{0}"><img src="{0}" alt="" style="max-width:240px;max-height:240px"></a>',
            obj.image.url,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_decide"] = (
            obj is not None
            and obj.status == FlyerRequestStatus.PENDING
            and self.has_approve_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request: HttpRequest, obj: FlyerRequest):
        decision = next((d for d in ("_approve", "_reject") if d in request.POST), None)
        if decision is None:
            return super().response_change(request, obj)
        if not self.has_approve_permission(request, obj):
            raise PermissionDenied
        note = request.POST.get("decision_note", "")
        try:
            if decision == "_approve":
                flyer_request_approve(flyer_request=obj, user=request.user, note=note)
                done = _("Approved: the flyer is being registered with VolantinoPiù.")
            else:
                flyer_request_reject(flyer_request=obj, user=request.user, reason=note)
                done = _("Rejected: the store manager sees your reason at the counter.")
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:store_flyerrequest_changelist"))

    @admin.action(
        description=gettext_lazy("Approve the selected requests (registerCampaignFlyer)"),
        permissions=["approve"],
    )
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[FlyerRequest]) -> None:
        approved, refused = 0, []
        for flyer_request in queryset.filter(status=FlyerRequestStatus.PENDING):
            try:
                flyer_request_approve(flyer_request=flyer_request, user=request.user)
                approved += 1
            except ValidationError as exc:
                refused.append(f"{flyer_request}: {' '.join(exc.messages)}")
        self.message_user(
            request,
            ngettext("%(n)d request approved.", "%(n)d requests approved.", approved)
            % {"n": approved},
            messages.SUCCESS if approved else messages.WARNING,
        )
        for line in refused:
            self.message_user(request, line, messages.ERROR)
