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
]
