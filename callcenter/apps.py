from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcenterConfig(AppConfig):
    """Wolkvox predictive-campaign lead lists."""

    name = "callcenter"
    verbose_name = _("Call center (Wolkvox)")

    def ready(self) -> None:
        from callcenter import sync  # noqa: F401  (registers the sync handler)
        from callcenter.customer_data import (
            call_leads_erase,
            call_leads_export,
            call_leads_timeline,
        )
        from callcenter.dashboard import callcenter_dashboard_register
        from callcenter.models import CallCampaign, CallUpload
        from callcenter.previews import lead_import_previews_purge
        from callcenter.wolkvox import wolkvox_preflight
        from core.audit import audit_register
        from core.customer_data import customer_part_register
        from core.preflight import preflight_register
        from core.retention import retention_register

        retention_register("lead_import_previews", lead_import_previews_purge)
        preflight_register(wolkvox_preflight())
        customer_part_register(
            "callcenter",
            export=call_leads_export,
            erase=call_leads_erase,
            timeline=call_leads_timeline,
        )
        callcenter_dashboard_register()  # the admin home (core/dashboard.py)
        # The audit trail (core/audit.py): campaigns, and who started an upload and how it
        # ended; not the progress the preparer and the worker write as they go.
        audit_register(CallCampaign)
        audit_register(
            CallUpload,
            exclude=(
                "records_sent",
                "records_confirmed",
                "chunks_total",
                "chunks_done",
                "preparing",
                "selection",
                "prepared_through",
                "preparer",
                "prepare_lease_until",
                "prepare_attempts",
                "prepare_error",
            ),
        )
