from rest_framework import serializers

from campaigns.models import Shop
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
            *SYNC_FIELDS,
        )
        read_only_fields = SYNC_FIELDS
