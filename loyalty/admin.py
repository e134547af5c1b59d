from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import scope_queryset
from core.admin import (
    LargeListAdminMixin,
    PullAdminMixin,
    ReadOnlyAdmin,
    SyncAdminMixin,
    admin_page,
)
from core.customer_data import customer_admin_sections
from core.errors import ProviderError
from core.outbox import outbox_resend
from core.selectors import outbox_awaiting_decision
from loyalty.audiences import (
    AudienceForm,
    AudienceRulesForm,
    audience_describe,
    audience_preview,
    audience_save,
)
from loyalty.consent import CONSENT_FIELD
from loyalty.donotcall import DoNotCallImportForm, do_not_call_import
from loyalty.forms import PointMovementForm
from loyalty.models import (
    Audience,
    ConsentEvent,
    ConsentSource,
    Customer,
    CustomerTag,
    DoNotCall,
    FidelityCard,
    FidelityProgram,
    PointMovement,
    Reward,
)
from loyalty.privacy import customer_erase, customer_export
from loyalty.services import (
    CUSTOMER_FIELDS,
    MOVEMENT_FIELDS,
    card_enrol,
    customer_save,
    movement_create,
    movement_delete,
)
from loyalty.sync import DECISION_CODE, movement_awaiting_decision, movement_mark_delivered
from loyalty.timeline import customer_timeline


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


def _is_autocomplete(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and match.url_name == "autocomplete"


CARD_SEARCH_HELP = gettext_lazy(
    "A card code (the whole code), the holder's mobile number or the start of their surname; "
    "several words find the cards matching any of them."
)


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    fields = ("at", "channel", "state", "source", "text_version", "by")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("consent history")


CONSENT_CHOICES = [
    ("", gettext_lazy("unknown")),
    ("1", gettext_lazy("given")),
    ("0", gettext_lazy("withdrawn")),
]
CONSENT_GIVEN = {"1": True, "0": False}  # a choice above → consent_set's `given`


class CustomerForm(forms.ModelForm):
    """Consent is changed through `consent_set`, so that every change lands in the history."""

    push_sms = forms.ChoiceField(
        label=capfirst(gettext_lazy("consent to push and SMS")),
        choices=CONSENT_CHOICES,
        required=False,
    )
    whatsapp = forms.ChoiceField(
        label=capfirst(gettext_lazy("consent to WhatsApp")), choices=CONSENT_CHOICES, required=False
    )
    calls = forms.ChoiceField(
        label=capfirst(gettext_lazy("consent to phone calls")),
        choices=CONSENT_CHOICES,
        required=False,
    )

    class Meta:
        model = Customer
        fields = ("msisdn", "name", "surname", "email", "tags")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for channel, name in CONSENT_FIELD.items():
                state = getattr(self.instance, name)
                self.fields[channel].initial = {"given": "1", "withdrawn": "0"}.get(state, "")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = CUSTOMER_FIELDS
    list_filter = tuple(CONSENT_FIELD.values())
    search_fields = ("msisdn", "name", "surname", "email")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [ConsentEventInline]
    change_form_template = "admin/loyalty/customer/change_form.html"

    def get_fieldsets(self, request, obj=None):
        main = ["msisdn", "name", "surname", "email", "push_sms", "whatsapp", "calls", "tags"]
        if obj is None:
            return [(None, {"fields": main})]
        # Then the other apps' sections of the page (core.customer_data), collapsed.
        return [
            (None, {"fields": main}),
            (_("Timeline"), {"fields": ["timeline"]}),
            *(
                (section.label, {"fields": [section.render], "classes": ["collapse"]})
                for section in customer_admin_sections()
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("msisdn", "timeline", *(section.render for section in customer_admin_sections()))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        customer = super().get_object(request, object_id, from_field)
        if customer is not None:
            customer.viewer = request.user  # whose reach the timeline shows (core.access)
        return customer

    @admin.display(description=gettext_lazy("newest first"))
    def timeline(self, obj: Customer):
        # No viewer known: core.access shows nothing rather than everything.
        events = customer_timeline(customer=obj, user=getattr(obj, "viewer", None))
        return render_to_string("admin/loyalty/customer/timeline.html", {"events": events})

    def save_model(self, request: HttpRequest, obj: Customer, form, change: bool) -> None:
        data = form.cleaned_data
        customer = customer_save(
            customer=obj if change else None,
            msisdn=str(data.get("msisdn", "")),  # read-only once the customer exists
            name=data["name"],
            surname=data["surname"],
            email=data["email"],
            # Every channel, as the form shows them all: "unknown" too is a choice made here.
            consents={
                channel: CONSENT_GIVEN.get(data.get(channel, "")) for channel in CONSENT_FIELD
            },
            source=ConsentSource.ADMIN,
            user=request.user,
        )
        obj.pk = customer.pk

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:customer_id>/export/", view(self.export_view), name="loyalty_customer_export"
            ),
            path("<int:customer_id>/erase/", view(self.erase_view), name="loyalty_customer_erase"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = get_object_or_404(scope_queryset(request.user, Customer.objects), pk=customer_id)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        response = JsonResponse(
            customer_export(customer=customer, user=request.user),
            json_dumps_params={"indent": 2, "ensure_ascii": False},
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    def erase_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = get_object_or_404(scope_queryset(request.user, Customer.objects), pk=customer_id)
        if not self.has_delete_permission(request, customer):
            raise PermissionDenied
        not_propagated = None
        if request.method == "POST":
            not_propagated = customer_erase(customer=customer, user=request.user)
            self.message_user(request, _("The customer was anonymised."), messages.SUCCESS)
        return admin_page(
            self,
            request,
            "admin/loyalty/customer/erase.html",
            title=_("Erase customer"),
            object=customer,
            not_propagated=not_propagated,
        )


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ("msisdn", "registered_on", "imported_at")
    search_fields = ("msisdn",)
    date_hierarchy = "imported_at"
    show_full_result_count = False
    change_list_template = "admin/loyalty/donotcall/change_list.html"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="loyalty_donotcall_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("loyalty.add_donotcall"):
            raise PermissionDenied
        form = DoNotCallImportForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            result = do_not_call_import(file=form.cleaned_data["file"])
            self.message_user(
                request,
                _("%(added)d numbers added or updated, %(bad)d rows refused.")
                % {"added": result.imported, "bad": len(result.errors)},
                messages.WARNING if result.errors else messages.SUCCESS,
            )
        return admin_page(
            self,
            request,
            "admin/loyalty/donotcall/import.html",
            title=_("Import the do-not-call list"),
            form=form,
            result=result,
        )


@admin.register(FidelityProgram)
class FidelityProgramAdmin(PullAdminMixin, ReadOnlyAdmin):
    list_display = ("name", "remote_id", "point_value", "pulled_at")
    pull_provider = "amm"
    pull_provider_name = "AMM"
    pull_permission = "loyalty.change_fidelitycard"


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    """The rewards the counter offers by name. AMM's API does not list them: each is entered
    here with the id AMM's console shows for it."""

    list_display = ("name", "program", "points", "remote_id", "active")
    list_filter = ("program", "active")
    list_editable = ("active",)
    list_select_related = ("program",)
    search_fields = ("name",)
    fields = ("program", "name", "points", "remote_id", "active")


@admin.register(FidelityCard)
class FidelityCardAdmin(LargeListAdminMixin, SyncAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "program", "customer", "shop", "points", "balance_badge", "active")
    # A date filter, not a date hierarchy: the hierarchy lists the years by truncating the date
    # of every row, which over 100,000 cards (SQLite: in Python) takes seconds a page.
    list_filter = (
        "program",
        "active",
        BalanceDiffersFilter,
        "shop",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("program", "customer", "shop")
    # What the card fields of other forms (autocomplete) search, a few cards at a time; the
    # change list searches through indexes instead (get_search_results).
    search_fields = ("code", "customer__msisdn", "customer__surname")
    search_help_text = CARD_SEARCH_HELP
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

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        if _is_autocomplete(request):
            return super().get_search_results(request, queryset, search_term)
        # A substring of code, number or surname would read every card (twice: the count).
        return queryset.matching(search_term), False

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
        # The form's fields are the service's: program, customer, shop, code, starting points…
        data = form.cleaned_data
        created = card_enrol(user=request.user, **{name: data[name] for name in self.fields})
        obj.pk = created.pk


@admin.register(PointMovement)
class PointMovementAdmin(LargeListAdminMixin, SyncAdminMixin, admin.ModelAdmin):
    list_display = ("date", "card", "action", "points", "amount", "reward_id", "shop", "created_by")
    list_filter = ("action", "shop", ("date", admin.DateFieldListFilter))  # see the cards' note
    list_select_related = ("card", "shop", "created_by")
    search_fields = ("card__code",)  # through the card's indexes: see get_search_results
    search_help_text = gettext_lazy(
        "The movements of the cards found by a card code (the whole code), the holder's mobile "
        "number or the start of their surname."
    )
    autocomplete_fields = ("card", "shop")
    show_full_result_count = False
    fields = ("card", *MOVEMENT_FIELDS)
    actions = ["sync_now", "retry_failed"]
    form = PointMovementForm

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # Not a substring of the card's code or of the note: that reads a million movements
        # and their cards. The cards come from their indexes, then their movements from theirs.
        if not search_term.strip():
            return queryset, False
        return queryset.filter(card__in=FidelityCard.objects.matching(search_term)), False

    def _readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.fields, "date", "created_by") if obj else fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and movement_awaiting_decision(obj) is not None:
            shown = "decision" if self._may_decide(request, obj) else "decision_info"
            return [(_("Decision needed"), {"fields": [shown]}), *fieldsets]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = self._readonly_fields(request, obj)
        return (*fields, "decision", "decision_info") if obj else fields

    def _may_decide(self, request: HttpRequest, obj: PointMovement) -> bool:
        return self.has_change_permission(request, obj) and request.user.has_perm(
            "core.change_outboxentry"
        )

    @admin.display(description=gettext_lazy("what to do"))
    def decision_info(self, obj: PointMovement):
        """What happened and what a person checks at AMM (for whoever may not decide)."""
        return format_html("<p>{}</p><p>{}</p>", obj.sync_error, self._what_to_check())

    @staticmethod
    def _what_to_check() -> str:
        return _(
            "Look at the card's records in AMM's console. If none of them is this movement, "
            "send it again. If one is, give its AMM id: the movement takes it, and nothing is "
            "sent."
        )

    @admin.display(description=gettext_lazy("what to do"))
    def decision(self, obj: PointMovement):
        """A movement whose answer was lost and that the look-up could not tell apart: what a
        person checks at AMM, and the two decisions (buttons of this page's form, posted to
        `decide_view`)."""
        url = reverse("admin:loyalty_pointmovement_decide", args=[obj.pk])
        return format_html(
            "<p>{}</p><p>{}</p>"
            '<p><button type="submit" class="button" formaction="{}" name="decision" '
            'value="resend">{}</button></p>'
            '<p><label for="id_amm_record">{}</label> '
            '<input type="text" id="id_amm_record" name="record_id" size="12" inputmode="numeric"> '
            '<button type="submit" class="button" formaction="{}" name="decision" '
            'value="delivered">{}</button></p>',
            obj.sync_error,
            self._what_to_check(),
            url,
            _("Send again without looking it up (checked: it did not arrive)"),
            _("AMM id of the record that is this movement:"),
            url,
            _("It arrived: it is this record"),
        )

    def get_urls(self):
        return [
            path(
                "<int:movement_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="loyalty_pointmovement_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, movement_id: int) -> HttpResponse:
        """A person's decision on a movement whose answer was lost: send again, or it is this
        record at AMM. Anything else changes nothing."""
        movement = get_object_or_404(
            scope_queryset(request.user, PointMovement.objects), pk=movement_id
        )
        if request.method != "POST" or not self._may_decide(request, movement):
            raise PermissionDenied
        back = HttpResponseRedirect(
            reverse("admin:loyalty_pointmovement_change", args=[movement.pk])
        )
        entry = movement_awaiting_decision(movement)
        if entry is None:
            self.message_user(
                request, _("This movement is not waiting for a decision."), messages.ERROR
            )
            return back
        decision = request.POST.get("decision")
        if decision == "resend":
            waiting = outbox_awaiting_decision(obj=movement, code=DECISION_CODE)
            if outbox_resend(entries=waiting):
                self.message_user(
                    request, _("The movement is sent to AMM again."), messages.SUCCESS
                )
            return back
        if decision != "delivered":
            self.message_user(request, _("Choose one of the two decisions."), messages.ERROR)
            return back
        record_id = request.POST.get("record_id", "").strip()
        if not record_id.isdigit():
            self.message_user(
                request, _("Give the AMM id of the record: digits only."), messages.ERROR
            )
            return back
        try:
            movement_mark_delivered(movement=movement, record_id=record_id)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        except ProviderError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
        else:
            self.message_user(
                request,
                _("The movement is AMM's record %(id)s.") % {"id": record_id},
                messages.SUCCESS,
            )
        return back

    def save_model(self, request: HttpRequest, obj: PointMovement, form, change: bool) -> None:
        if change:
            return  # a record never changes at AMM: delete it and make a new one
        data = form.cleaned_data
        created = movement_create(user=request.user, **{name: data[name] for name in self.fields})
        obj.pk = created.pk
        # The points the service worked out: the form's are empty for an amount or a reset,
        # and the admin's log and message name the movement by them.
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: PointMovement) -> None:
        movement_delete(movement=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PointMovement]) -> None:
        for movement in queryset:
            movement_delete(movement=movement)


@admin.register(CustomerTag)
class CustomerTagAdmin(admin.ModelAdmin):
    """Labels put on customers (on the customer's page) to pick them in an audience."""

    list_display = ("name", "customer_count")
    search_fields = ("name",)
    fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerTag]:
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description=gettext_lazy("customers"), ordering="customer_count")
    def customer_count(self, obj: CustomerTag) -> int:
        return obj.customer_count


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    """Saved rule sets over customers (loyalty.audiences). The page of an audience counts it and
    shows its first customers as it stands now: save and continue to see a change's effect."""

    form = AudienceForm
    list_display = ("name", "rules_text", "created_by", "updated_at")
    list_select_related = ("created_by",)
    search_fields = ("name",)
    readonly_fields = ("rules_text", "preview", "created_by", "created_at", "updated_at")

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            rules = {"fields": ["rules_text"]}
        else:
            rules = {
                "fields": list(AudienceRulesForm.base_fields),
                "description": _(
                    "Every rule is optional; the customers must meet all those given. The card "
                    "rules hold for one and the same card."
                ),
            }
        fieldsets = [(None, {"fields": ["name"]}), (_("Audience rules"), rules)]
        if obj is not None:
            fieldsets += [
                (_("Who is in it now"), {"fields": ["preview"]}),
                (_("Created and changed"), {"fields": ["created_by", "created_at", "updated_at"]}),
            ]
        return fieldsets

    @admin.display(description=gettext_lazy("rules"))
    def rules_text(self, obj: Audience) -> str:
        return audience_describe(obj.rules)

    @admin.display(description=gettext_lazy("count and first customers"))
    def preview(self, obj: Audience):
        return render_to_string(
            "admin/loyalty/audience/preview.html", {"preview": audience_preview(obj)}
        )

    def save_model(self, request: HttpRequest, obj: Audience, form, change: bool) -> None:
        audience_save(
            audience=obj, name=form.cleaned_data["name"], rules=form.rules, user=request.user
        )
