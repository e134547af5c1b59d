from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.utils.translation import gettext_lazy as _

from sandbox.models import KNOB_FIELDS, SandboxKnob, SandboxObject


@admin.register(SandboxKnob)
class SandboxKnobAdmin(admin.ModelAdmin):
    list_display = ("provider", *KNOB_FIELDS, "in_flight")
    readonly_fields = ("in_flight", "max_in_flight")


@admin.register(SandboxObject)
class SandboxObjectAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "kind", "updated")
    list_filter = ("provider", "kind")
    readonly_fields = ("created", "updated")

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj: SandboxObject):
        return display_for_value(obj.created_at, self.get_empty_value_display())

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, obj: SandboxObject):
        return display_for_value(obj.updated_at, self.get_empty_value_display())

    show_full_result_count = False
