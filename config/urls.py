from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from messaging import inbound as aisac_inbound

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("store/", include("store.urls")),
    path("integrations/aisac/getObject", aisac_inbound.get_object, name="aisac-get-object"),
    path(
        "integrations/aisac/updateObject", aisac_inbound.update_object, name="aisac-update-object"
    ),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/schema/ui/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/auth/", include("rest_framework.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.DEBUG:
    # Uploaded images on the embedded default; in production the web server serves MEDIA_ROOT.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Never in production (config/settings/production.py neither installs nor enables it).
if settings.SANDBOX_ENABLED and apps.is_installed("sandbox"):
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
