from rest_framework.routers import DefaultRouter

from campaigns.api.views import CampaignViewSet, MediaViewSet, ShopViewSet

router = DefaultRouter()
router.register("shops", ShopViewSet, basename="shop")
router.register("media", MediaViewSet, basename="media")
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
