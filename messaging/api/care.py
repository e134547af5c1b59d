from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, viewsets

from loyalty.models import Customer
from loyalty.services import customer_get_or_create
from messaging.care import care_request_create, order_create
from messaging.models import CareRequest, CareType, Order, OrderLine


class CreateReadViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Records Aisac takes and never lets change: created and read, never updated or deleted."""


class CareRequestSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False)
    msisdn = serializers.CharField(
        required=False, help_text="The customer's phone; the customer is created if missing."
    )

    class Meta:
        model = CareRequest
        fields = (
            "id",
            "customer",
            "msisdn",
            "type",
            "subject",
            "message",
            "status",
            "remote_id",
            "sync_status",
            "sync_error",
        )
        read_only_fields = ("status", "remote_id", "sync_status", "sync_error")
        # Optional as in the model: a request without a type is an information request.
        extra_kwargs = {"type": {"default": CareType.INFORMATION}}

    def to_representation(self, instance: CareRequest):
        data = super().to_representation(instance)
        data["msisdn"] = str(instance.customer.msisdn)
        return data

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("msisdn"):
            raise serializers.ValidationError({"msisdn": [_("Give the customer or their msisdn.")]})
        return attrs


class CareRequestViewSet(CreateReadViewSet):
    """WhatsApp customer-care requests handled by Aisac (createRequest, getRequest)."""

    queryset = CareRequest.objects.select_related("customer").order_by("-created_at")
    serializer_class = CareRequestSerializer
    filterset_fields = ("type", "status", "sync_status", "customer")
    search_fields = ("subject", "customer__msisdn")

    def perform_create(self, serializer):
        data = serializer.validated_data
        customer = data.get("customer") or customer_get_or_create(msisdn=data["msisdn"])
        serializer.instance = care_request_create(
            customer=customer,
            type=data["type"],
            subject=data["subject"],
            message=data.get("message", ""),
        )


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ("sku", "name", "quantity", "price")


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "number",
            "customer",
            "shop",
            "total",
            "lines",
            "remote_id",
            "sync_status",
            "sync_error",
        )
        read_only_fields = ("total", "remote_id", "sync_status", "sync_error")


class OrderViewSet(CreateReadViewSet):
    """Orders of the chain's e-commerce, sent to Aisac (createOrder). The total is the lines' sum."""

    queryset = Order.objects.prefetch_related("lines").order_by("-created_at")
    serializer_class = OrderSerializer
    filterset_fields = ("customer", "shop", "sync_status")
    search_fields = ("number",)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = order_create(
            number=data["number"], customer=data["customer"], shop=data["shop"], lines=data["lines"]
        )
