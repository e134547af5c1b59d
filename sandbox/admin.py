from django.contrib import admin

from sandbox.models import SandboxKnob, SandboxObject


@admin.register(SandboxKnob)
class SandboxKnobAdmin(admin.ModelAdmin):
    list_display = (
        "provider",
        "latency_ms",
        "latency_after_ms",
        "answer_time_ms",
        "error_rate",
        "forced_status",
        "forced_remaining",
        "malformed_json",
        "concurrency_cap",
        "answers",
        "in_flight",
    )
    readonly_fields = ("in_flight", "max_in_flight")


@admin.register(SandboxObject)
class SandboxObjectAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "kind", "updated_at")
    list_filter = ("provider", "kind")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
