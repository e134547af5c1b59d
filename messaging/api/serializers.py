from rest_framework import serializers

from messaging.models import PushMessage, PushSend
from messaging.services import SEND_INPUT_FIELDS, push_send_counts


class PushSendSerializer(serializers.ModelSerializer):
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, help_text="Mobile numbers."
    )
    groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, help_text="Address-book ids."
    )
    name = serializers.CharField(max_length=200, required=False)
    estimate = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = PushSend
        fields = (
            "id",
            *SEND_INPUT_FIELDS,
            "transaction_id",
            "status",
            "error",
            "estimate",
            "counts",
        )
        read_only_fields = ("transaction_id", "status", "error")
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
            "estimated_at": send.estimated_at,
        }

    def get_counts(self, send: PushSend) -> dict:
        # A list page computes every send's counts at once (PushSendViewSet.paginate_queryset).
        page_counts = self.context.get("push_counts") or {}
        return page_counts[send.pk] if send.pk in page_counts else push_send_counts(send)


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
