"""Mounted under /sandbox/ only when SANDBOX_ENABLED (see config/urls.py)."""

from django.urls import path

from sandbox import knobs, volantinopiu

app_name = "sandbox"

urlpatterns = [
    path("_knobs/<str:provider>", knobs.knobs_view, name="knobs"),
    path("_state/<str:provider>", knobs.state_view, name="state"),
    # VolantinoPiù: base URL …/sandbox/volantinopiu/api/v2
    path("volantinopiu/api/v2/listShops", volantinopiu.list_shops),
    path("volantinopiu/api/v2/addShop", volantinopiu.add_shop),
    path("volantinopiu/api/v2/updateShop", volantinopiu.update_shop),
    path("volantinopiu/api/v2/deleteShop", volantinopiu.delete_shop),
    path("volantinopiu/api/v2/listMedia", volantinopiu.list_media),
    path("volantinopiu/api/v2/uploadMedia", volantinopiu.upload_media),
    path("volantinopiu/api/v2/listCampaigns", volantinopiu.list_campaigns),
    path("volantinopiu/api/v2/registerCampaign", volantinopiu.register_campaign),
    path("volantinopiu/api/v2/registerCampaignFlyer", volantinopiu.register_campaign_flyer),
    path("volantinopiu/api/v2/deleteCampaign", volantinopiu.delete_campaign),
    path("volantinopiu/storage/<int:media_id>/<str:name>", volantinopiu.media_file),
]
