from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from core.api import SYNC_FIELDS
from loyalty.audiences import audience_count, audience_rules_clean, audience_rules_schema
from loyalty.consent import CONSENT_FIELD
from loyalty.models import (
    Audience,
    Customer,
    FidelityCard,
    FidelityProgram,
    MovementAction,
    PointMovement,
)
from loyalty.services import CUSTOMER_FIELDS, msisdn_normalise


class CustomerSerializer(serializers.ModelSerializer):
    msisdn = PhoneNumberField(region="IT")
    consent_push_sms = serializers.BooleanField(
        allow_null=True, required=False, help_text="true given, false withdrawn, null unknown."
    )
    consent_whatsapp = serializers.BooleanField(allow_null=True, required=False)
    consent_calls = serializers.BooleanField(allow_null=True, required=False)

    class Meta:
        model = Customer
        fields = ("id", *CUSTOMER_FIELDS)
        read_only_fields = ("created_at",)

    def validate_msisdn(self, value):
        # The service's rule on what was typed: the field's parser reads letters as digits.
        try:
            return msisdn_normalise(self.initial_data.get("msisdn", value))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["msisdn"]) from exc

    def to_representation(self, instance: Customer):
        data = super().to_representation(instance)
        for name in CONSENT_FIELD.values():
            data[name] = {"given": True, "withdrawn": False}.get(getattr(instance, name))
        return data


class FidelityProgramSerializer(serializers.ModelSerializer):
    class Meta:
        model = FidelityProgram
        fields = ("id", "remote_id", "name", "point_value", "pulled_at")


class FidelityCardSerializer(serializers.ModelSerializer):
    msisdn = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The customer's mobile number; the customer is created if missing. "
        "Reads back the card holder's number (null for a card with no customer).",
    )
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False)

    class Meta:
        model = FidelityCard
        fields = (
            "id",
            "program",
            "code",
            "customer",
            "msisdn",
            "shop",
            "starting_points",
            "starting_amount",
            "send_sms",
            "points",
            "active",
            "activation_date",
            *SYNC_FIELDS,
        )
        read_only_fields = ("points", "active", "activation_date", *SYNC_FIELDS)

    def to_representation(self, instance: FidelityCard):
        data = super().to_representation(instance)
        data["msisdn"] = str(instance.customer.msisdn) if instance.customer_id else None
        return data

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("msisdn"):
            raise serializers.ValidationError({"msisdn": [_("Give the customer or their msisdn.")]})
        return attrs


class PointMovementSerializer(serializers.ModelSerializer):
    points = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="ADD: the points to add, at least 1 (or give `amount` and they follow from "
        "it). Reads back the points the movement made: negative for a REWARD or AZZERA.",
    )

    class Meta:
        model = PointMovement
        fields = (
            "id",
            "action",
            "points",
            "amount",
            "reward_id",
            "note",
            "send_sms",
            "date",
            "shop",
            *SYNC_FIELDS,
        )
        read_only_fields = ("date", *SYNC_FIELDS)

    def validate_points(self, value):
        # Not `min_value`: the schema would then deny the negative points read back.
        if value is not None and value < 1:
            self.fields["points"].fail("min_value", min_value=1)
        return value

    def validate_action(self, value):
        if value not in MovementAction.values:
            raise serializers.ValidationError(_("Unknown action."))
        return value


@extend_schema_field(audience_rules_schema())
class AudienceRulesField(serializers.JSONField):
    """The rules as JSON, checked by loyalty.audiences (one error per wrong rule, by name)."""

    def to_internal_value(self, data):
        try:
            return audience_rules_clean(super().to_internal_value(data))
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise serializers.ValidationError(detail) from exc


class AudienceSerializer(serializers.ModelSerializer):
    rules = AudienceRulesField(
        required=False,
        help_text="Every rule is optional; customers must meet all those given. The card rules "
        "hold for one and the same card. Null or an empty list: no such rule.",
    )
    count = serializers.SerializerMethodField(
        help_text="The customers in the audience now (erased ones never; consent not applied)."
    )

    class Meta:
        model = Audience
        fields = ("id", "name", "rules", "count")

    def get_count(self, obj: Audience) -> int:
        return audience_count(obj)


class AudienceRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The customer's id.")
    name = serializers.CharField()
    msisdn = serializers.CharField(help_text="Masked: the last three digits only.")
    shop = serializers.CharField(help_text="Code of the shop of the card that matched.")
    points = serializers.IntegerField(allow_null=True, help_text="That card's balance.")


class AudiencePreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = AudienceRowSerializer(many=True, source="rows")


class AudienceRulesPreviewSerializer(serializers.Serializer):
    rules = AudienceRulesField(help_text="Rules to try, as an audience's `rules`.")
