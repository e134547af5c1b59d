"""Mounted under /sandbox/ only when SANDBOX_ENABLED (see config/urls.py)."""

from django.urls import path

from sandbox import aisac, amm, knobs, smshosting, volantinopiu, wolkvox

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
    # SMSHosting: base URL …/sandbox/smshosting/rest/api
    path("smshosting/rest/api/push/send", smshosting.push_send),
    path("smshosting/rest/api/push/estimate", smshosting.push_estimate),
    path("smshosting/rest/api/push/search", smshosting.push_search),
    path("smshosting/rest/api/push/multimedia/<str:media_id>", smshosting.push_multimedia),
    path("smshosting/rest/api/push/invitation", smshosting.push_invitation),
    # Wolkvox: base URL …/sandbox/wolkvox/api/v2
    path("wolkvox/api/v2/campaign.php", wolkvox.campaign_php),
    # Aisac: base URL …/sandbox/aisac/v1
    path("aisac/v1/createRequest", aisac.create_request),
    path("aisac/v1/getRequest", aisac.get_request),
    path("aisac/v1/getRequests", aisac.get_requests),
    path("aisac/v1/getFlowByUserKey", aisac.flows_by_user_key),
    path("aisac/v1/getChargesByUserKey", aisac.charges_by_user_key),
    path("aisac/v1/createOrder", aisac.create_order),
    # AMM: base URL …/sandbox/amm/sms/v2
    path("amm/sms/v2/fidelity/list", amm.fidelity_list),
    path("amm/sms/v2/fidelity/<str:program_id>/card/list", amm.card_list),
    path("amm/sms/v2/fidelity/<str:program_id>/card", amm.card_create),
    path("amm/sms/v2/fidelity/<str:program_id>/card/<str:code>", amm.card_detail),
    path("amm/sms/v2/fidelity/<str:program_id>/card/<str:code>/record/list", amm.record_list),
    path("amm/sms/v2/fidelity/<str:program_id>/card/<str:code>/record", amm.record_create),
    path(
        "amm/sms/v2/fidelity/<str:program_id>/card/<str:code>/record/<str:record_id>",
        amm.record_delete,
    ),
]
