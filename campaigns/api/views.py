from rest_framework import viewsets

from campaigns.api.serializers import ShopSerializer
from campaigns.models import Shop
from campaigns.services import shop_create, shop_delete, shop_update


class ShopViewSet(viewsets.ModelViewSet):
    """Shops (punti vendita). Writes reach VolantinoPiù through the outbox: watch `sync_status`."""

    queryset = Shop.objects.all().order_by("code")
    serializer_class = ShopSerializer
    filterset_fields = ("city", "province", "sync_status")
    search_fields = ("code", "city", "address", "description")
    ordering_fields = ("code", "city", "created_at")

    def perform_create(self, serializer: ShopSerializer) -> None:
        serializer.instance = shop_create(**serializer.validated_data)

    def perform_update(self, serializer: ShopSerializer) -> None:
        serializer.instance = shop_update(shop=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Shop) -> None:
        shop_delete(shop=instance)
