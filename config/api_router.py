from rest_framework.routers import DefaultRouter

from campaigns.api.views import ShopViewSet

router = DefaultRouter()
router.register("shops", ShopViewSet, basename="shop")

urlpatterns = router.urls
