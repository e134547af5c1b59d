from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from loyalty.models import Audience
from messaging.models import PushMessage, PushSend
from messaging.services import SEND_INPUT_FIELDS, push_send_counts


class AudienceField(serializers.PrimaryKeyRelatedField):
    """A saved audience by id, among those the user may see (none without
    loyalty.view_audience)."""

    default_error_messages = {
        "does_not_exist": _("No audience you may use has id {pk_value}."),
    }

    def get_queryset(self):
        request = self.context.get("request")
        if request is None or not request.user.has_perm("loyalty.view_audience"):
            return Audience.objects.none()
        return Audience.objects.all()


class PushSendSerializer(serializers.ModelSerializer):
    audience = AudienceField(
        required=False,
        allow_null=True,
        help_text="A saved audience (/api/v1/audiences/) instead of recipients, groups, "
        "audience_shops and audience_programs: its customers with push/SMS consent.",
    )
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, help_text="Mobile numbers."
    )
    groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, help_text="Address-book ids."
    )
    name = serializers.CharField(max_length=200, required=False)
    estimate = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    window_override_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PushSend
        fields = (
            "id",
            *SEND_INPUT_FIELDS,
            "transaction_id",
            "status",
            "error",
            "window_reason",
            "window_override_reason",
            "window_override_by",
            "estimate",
            "counts",
        )
        read_only_fields = (
            "transaction_id",
            "status",
            "error",
            "window_reason",
            "window_override_reason",
            "window_override_by",
        )
        # null, as the schema has it (a send without an image reads back null): no image.
        extra_kwargs = {"image": {"allow_null": True}}

    def get_estimate(self, send: PushSend) -> dict | None:
        if send.estimated_at is None:
            return None
        return {
            "cost": str(send.estimate_cost),
            "user_credit": str(send.estimate_credit),
            "sms_count": send.estimate_sms,
            "push_count": send.estimate_push,
            "push_available": send.estimate_push_available,
            "recipients": send.resolved_count,
            "excluded": send.excluded,
            # With an audience: in_audience, with_consent, do_not_call (null: not a rule of
            # push), recipients.
            "audience": send.audience_reach or None,
            "estimated_at": send.estimated_at,
        }

    def get_counts(self, send: PushSend) -> dict:
        # A list page computes every send's counts at once (PushSendViewSet.paginate_queryset).
        page_counts = self.context.get("push_counts") or {}
        return page_counts[send.pk] if send.pk in page_counts else push_send_counts(send)


class PushSendConfirmSerializer(serializers.Serializer):
    """The body of `send`: nothing, or an override of the send window (marketing only)."""

    window_override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Send now even outside the send window (permission "
        "messaging.override_send_window); needs window_override_reason.",
    )
    window_override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )


class PushMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushMessage
        fields = (
            "id",
            "msisdn",
            "status",
            "status_detail",
            "type",
            "remote_id",
            "insert_date",
            "sent_date",
            "delivery_date",
            "price",
        )
