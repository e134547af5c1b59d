from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """SMSHosting push/SMS sends and Aisac WhatsApp customer care."""

    name = "messaging"
    verbose_name = _("Messaging (SMSHosting, Aisac)")

    def ready(self) -> None:
        from core.audit import audit_register
        from core.customer_data import CustomerAdminSection, customer_part_register
        from core.preflight import preflight_register
        from core.retention import retention_register
        from messaging import (  # noqa: F401  (registers the sync handlers and the pulls)
            care,
            pull,
            sync,
        )
        from messaging.aisac import aisac_preflight
        from messaging.customer_data import (
            aisac_activity,
            messaging_erase,
            messaging_export,
            messaging_timeline,
        )
        from messaging.dashboard import messaging_dashboard_register
        from messaging.inbound import inbound_calls_purge
        from messaging.models import PushSend
        from messaging.smshosting import smshosting_preflight

        retention_register("inbound_calls", inbound_calls_purge)
        preflight_register(aisac_preflight())
        preflight_register(smshosting_preflight())
        customer_part_register(
            "messaging",
            export=messaging_export,
            erase=messaging_erase,
            timeline=messaging_timeline,
            admin_section=CustomerAdminSection(_("WhatsApp (Aisac)"), aisac_activity),
        )
        messaging_dashboard_register()  # the admin home (core/dashboard.py)
        # The audit trail (core/audit.py): who wrote, estimated and sent a push ("sent" is
        # recorded by push_send_confirm). Not the numbers (personal data, thousands of them:
        # their count is in the "sent" entry), nor what SMSHosting's estimate answered.
        audit_register(
            PushSend,
            exclude=(
                "recipients",
                "excluded",
                "transaction_id",
                "estimate_cost",
                "estimate_credit",
                "estimate_sms",
                "estimate_push",
                "estimate_push_available",
                "estimated_at",
                "resolved_count",
            ),
            m2m=("audience_shops", "audience_programs"),
        )
