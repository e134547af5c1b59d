import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser

from campaigns import services
from campaigns.api.serializers import CampaignSerializer, MediaSerializer, ShopSerializer
from campaigns.models import Campaign, Media, Shop


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the record's state.")
    default_code = "conflict"


class ShopViewSet(viewsets.ModelViewSet):
    """Shops (punti vendita). Writes reach VolantinoPiù through the outbox: watch `sync_status`."""

    queryset = Shop.objects.all().order_by("code")
    serializer_class = ShopSerializer
    filterset_fields = ("city", "province", "active", "sync_status")
    search_fields = ("code", "city", "address", "description")
    ordering_fields = ("code", "city", "created_at")

    def perform_create(self, serializer: ShopSerializer) -> None:
        serializer.instance = services.shop_create(**serializer.validated_data)

    def perform_update(self, serializer: ShopSerializer) -> None:
        serializer.instance = services.shop_update(
            shop=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Shop) -> None:
        services.shop_delete(shop=instance)


class MediaViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Images for campaigns, uploaded to VolantinoPiù (uploadMedia). POST as multipart with the
    image in `file`. An uploaded image cannot change; VolantinoPiù keeps its copy on delete."""

    queryset = Media.objects.all().order_by("-created_at")
    serializer_class = MediaSerializer
    parser_classes = (MultiPartParser, FormParser)
    filterset_fields = ("sync_status",)
    search_fields = ("name",)

    def perform_create(self, serializer: MediaSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.media_create(file=data["file"], name=data.get("name", ""))

    def perform_destroy(self, instance: Media) -> None:
        services.media_delete(media=instance)


class CampaignFilter(django_filters.FilterSet):
    date_send_after = django_filters.IsoDateTimeFilter(field_name="date_send", lookup_expr="gte")
    date_send_before = django_filters.IsoDateTimeFilter(field_name="date_send", lookup_expr="lte")

    class Meta:
        model = Campaign
        fields = ("shop", "kind", "sync_status", "batch")


class CampaignViewSet(viewsets.ModelViewSet):
    """WhatsApp campaigns, `template` (registerCampaign) or `flyer` (registerCampaignFlyer).
    Once registered a campaign cannot change (409): DELETE withdraws it (deleteCampaign), then
    POST a new one."""

    queryset = Campaign.objects.select_related("shop", "media").order_by("-date_send", "id")
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    search_fields = ("promo_name", "template_name", "shop__code")
    ordering_fields = ("date_send", "created_at")

    def perform_create(self, serializer: CampaignSerializer) -> None:
        serializer.instance = services.campaign_create(**serializer.validated_data)

    def perform_update(self, serializer: CampaignSerializer) -> None:
        if services.campaign_is_registered(serializer.instance):
            raise Conflict(
                _(
                    "This campaign is registered with VolantinoPiù, which cannot change it: "
                    "DELETE it (withdraw) and POST it again with the changes."
                )
            )
        serializer.instance = services.campaign_update(
            campaign=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Campaign) -> None:
        services.campaign_withdraw(campaign=instance)
