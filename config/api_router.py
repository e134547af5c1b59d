from django.urls import re_path
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, routers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.routers import DefaultRouter
from rest_framework.utils.formatting import markup_description

from callcenter.api.views import CallCampaignViewSet, CallRecordViewSet, CallUploadViewSet
from campaigns.api.views import CampaignViewSet, MediaViewSet, ShopViewSet
from loyalty.api.views import (
    AudienceViewSet,
    CustomerViewSet,
    FidelityCardViewSet,
    FidelityProgramViewSet,
    PointMovementViewSet,
)
from messaging.api.care import CareRequestViewSet, OrderViewSet
from messaging.api.views import PushSendViewSet
from store.api import FlyerRequestViewSet


class APIRootView(routers.APIRootView):
    """The API's index, in the reader's language (DRF's own says "Api Root" and describes
    itself in English)."""

    def get_view_name(self) -> str:
        return gettext("API index")

    def get_view_description(self, html: bool = False) -> str:
        text = gettext(
            "Vetrina's API: each link leads to a list of records. The documentation of every "
            "endpoint is at /api/schema/ui/."
        )
        return markup_description(text) if html else text


router = DefaultRouter()
router.APIRootView = APIRootView
router.register("shops", ShopViewSet, basename="shop")
router.register("media", MediaViewSet, basename="media")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("customers", CustomerViewSet, basename="customer")
router.register("fidelity-programs", FidelityProgramViewSet, basename="fidelity-program")
router.register("fidelity-cards", FidelityCardViewSet, basename="fidelity-card")
router.register("audiences", AudienceViewSet, basename="audience")
router.register("push-sends", PushSendViewSet, basename="push-send")
router.register("flyer-requests", FlyerRequestViewSet, basename="flyer-request")
router.register("care-requests", CareRequestViewSet, basename="care-request")
router.register("orders", OrderViewSet, basename="order")
router.register("call-campaigns", CallCampaignViewSet, basename="call-campaign")
# At most 18 digits: a larger id exists in no database (a bigint holds 19) and would make
# the database driver raise instead of the page answering 404.
router.register(
    r"call-campaigns/(?P<campaign_pk>[0-9]{1,18})/records",
    CallRecordViewSet,
    basename="call-record",
)
router.register("call-uploads", CallUploadViewSet, basename="call-upload")
router.register(
    r"fidelity-cards/(?P<card_pk>[0-9]{1,18})/movements", PointMovementViewSet, basename="movement"
)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@permission_classes([permissions.AllowAny])
def not_found(request, path: str):
    """Any other address under the API (e.g. /shops/1.5/) is an API error like the others,
    not Django's HTML page. Only addresses ending in a slash: without one, Django first
    redirects to the address with it (APPEND_SLASH)."""
    raise NotFound


urlpatterns = [*router.urls, re_path(r"^(?P<path>(?s:.*)/)$", not_found)]
