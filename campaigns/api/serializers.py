from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from campaigns.images import validate_campaign_image
from campaigns.models import Campaign, Media, Shop
from core.api import SYNC_FIELDS


class ShopSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shop
        fields = (
            "id",
            "code",
            "address",
            "postal_code",
            "city",
            "province",
            "latitude",
            "longitude",
            "email",
            "url",
            "description",
            "active",
            *SYNC_FIELDS,
        )
        read_only_fields = SYNC_FIELDS


class MediaSerializer(serializers.ModelSerializer):
    file = serializers.ImageField(
        required=True, help_text="JPEG, PNG or WebP image, sent as multipart field `file`."
    )
    remote_url = serializers.URLField(
        read_only=True,
        allow_null=True,
        help_text="The image's address at VolantinoPiù; null until it is uploaded.",
    )

    class Meta:
        model = Media
        fields = ("id", "file", "name", "width", "height", "remote_url", *SYNC_FIELDS)
        read_only_fields = ("width", "height", "remote_url", *SYNC_FIELDS)

    def to_representation(self, instance: Media):
        data = super().to_representation(instance)
        data["remote_url"] = instance.remote_url or None
        return data

    def validate_file(self, value):
        try:
            validate_campaign_image(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class CampaignSerializer(serializers.ModelSerializer):
    image = serializers.URLField(
        source="image_url",
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Image URL, when no uploaded `media` is given. Reads back the URL sent.",
    )

    class Meta:
        model = Campaign
        fields = (
            "id",
            "kind",
            "shop",
            "media",
            "image",
            "link",
            "flyer_link",
            "date_send",
            "template_name",
            "promo_name",
            "batch",
            *SYNC_FIELDS,
        )
        read_only_fields = ("batch", *SYNC_FIELDS)

    def to_representation(self, instance: Campaign):
        data = super().to_representation(instance)
        data["image"] = instance.image or None
        return data
