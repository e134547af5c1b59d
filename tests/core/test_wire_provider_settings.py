"""One reader of provider settings (core.provider_settings), the outbox reads the apps use
(core.selectors) and what a client module now owns (its settings, its answer keys)."""

from decimal import Decimal

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured

from campaigns.volantinopiu import volantinopiu_client
from core import errors
from core.models import RemoteCall
from core.preflight import preflight_run
from core.provider_settings import (
    ProviderSettingMissing,
    provider_setting,
    provider_settings,
    settings_missing,
)
from messaging.aisac import AisacClient, request_status
from messaging.inbound import _guard

BASE = "https://api.aisac.io/v1"


def test_a_setting_is_read_by_the_providers_name_and_its_own(settings):
    settings.WOLKVOX_SERVER = "0007"
    assert provider_setting("wolkvox", "SERVER") == "0007"
    assert provider_setting("wolkvox", "server") == "0007"
    assert provider_settings("amm", "BASE_URL", "AUTH_KEY") == {
        "base_url": settings.AMM_BASE_URL,
        "auth_key": settings.AMM_AUTH_KEY,
    }


@pytest.mark.parametrize("value", ["", "   ", None])
def test_a_blank_or_missing_required_setting_is_a_typed_error_naming_it(settings, value):
    settings.AMM_AUTH_SECRET = value
    with pytest.raises(ProviderSettingMissing) as raised:
        provider_setting("amm", "AUTH_SECRET")
    assert raised.value.setting == "AMM_AUTH_SECRET"
    assert raised.value.user_message == "amm: AMM_AUTH_SECRET non è configurato."
    # Not retried (a person must set it), and an ImproperlyConfigured outside a delivery.
    assert isinstance(raised.value, errors.ProviderAuthError)
    assert isinstance(raised.value, ImproperlyConfigured)
    assert not raised.value.retryable
    assert provider_setting("amm", "AUTH_SECRET", default="x") == "x"


def test_a_setting_that_does_not_exist_takes_its_default():
    assert provider_setting("nobody", "TOKEN", default=None) is None
    assert settings_missing(["NOBODY_TOKEN", "AMM_BASE_URL"]) == ["NOBODY_TOKEN"]


def test_zero_and_an_empty_list_are_set(settings):
    settings.AISAC_INBOUND_ALLOWED_IPS = []
    settings.WOLKVOX_LICENCES = 0
    assert provider_setting("aisac", "INBOUND_ALLOWED_IPS") == []
    assert provider_setting("wolkvox", "LICENCES") == 0


def test_a_client_without_its_base_url_says_so_as_before(settings):
    settings.VOLANTINOPIU_BASE_URL = ""
    with pytest.raises(errors.ProviderAuthError) as raised:
        volantinopiu_client()
    assert raised.value.user_message == "volantinopiu: l'URL di base non è configurato."


@pytest.mark.django_db
def test_a_client_without_its_token_calls_nobody(settings):
    settings.VOLANTINOPIU_TOKEN = " "
    with pytest.raises(ProviderSettingMissing) as raised:
        volantinopiu_client().list_shops()
    assert raised.value.setting == "VOLANTINOPIU_TOKEN"
    assert not RemoteCall.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "missing"),
    [
        ("volantinopiu", "VOLANTINOPIU_TOKEN"),
        ("amm", "AMM_AUTH_SECRET"),
        ("smshosting", "SMSHOSTING_BASE_URL"),
        ("aisac", "AISAC_API_KEY"),
    ],
)
def test_the_preflight_names_what_the_client_module_needs(settings, provider, missing):
    setattr(settings, missing, "")
    [report] = preflight_run(provider)
    assert not report.configured and report.missing_settings == [missing]


@pytest.mark.django_db
def test_the_inbound_endpoints_are_closed_without_their_key(rf, settings):
    settings.AISAC_INBOUND_KEY = ""
    response = _guard(rf.get("/integrations/aisac/getObject", HTTP_X_API_KEY=""))
    assert response is not None and response.status_code == 401


# --- Aisac's answer keys stay in its client ------------------------------------------------------
@pytest.mark.django_db
def test_an_order_aisac_already_has_is_placed(settings):
    aisac = AisacClient(base_url=BASE, api_key="k")
    with responses.RequestsMock() as api:
        api.post(f"{BASE}/createOrder", status=422, json={"error": "DUPLICATE_ORDER"})
        api.post(f"{BASE}/createOrder", status=422, json={"error": "VALIDATION_ERROR"})
        order = aisac.place_order(
            order_id="WEB-1", user_key="39347", shop_code="X", total=Decimal(1), lines=[]
        )
        assert (order.order_id, order.raw) == ("WEB-1", {"order_id": "WEB-1"})
        with pytest.raises(errors.ProviderRejected):
            aisac.place_order(
                order_id="WEB-2", user_key="39347", shop_code="X", total=Decimal(1), lines=[]
            )


def test_a_requests_status_is_read_as_text():
    assert request_status({"status": "open"}) == "open"
    assert request_status({"status": None}) == request_status({}) == ""
