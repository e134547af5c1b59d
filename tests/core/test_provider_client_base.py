"""What core.http's ProviderClient does for every provider: the Accept header asked once, an
HTTP status classified in one place, and no provider's error body read by the base."""

import pytest
import responses

from callcenter.wolkvox import WolkvoxClient
from core import errors
from core.http import ProviderClient
from loyalty.amm import AmmClient
from messaging.aisac import AisacClient
from messaging.smshosting import SmsHostingClient

pytestmark = pytest.mark.django_db

BASE = "https://provider.example/api"


class BareClient(ProviderClient):
    provider = "bare"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, errors.ProviderAuthError),
        (403, errors.ProviderAuthError),
        (404, errors.ProviderNotFound),
        (408, errors.ProviderUnavailable),
        (409, errors.ProviderRejected),
        (429, errors.ProviderRateLimited),
        (500, errors.ProviderUnavailable),
        (503, errors.ProviderUnavailable),
        (400, None),
        (422, None),
        (302, None),
    ],
)
def test_a_status_means_its_error_class_by_itself_or_nothing(status, expected):
    assert ProviderClient.status_class(status) is expected


@responses.activate
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.ProviderRejected),
        (404, errors.ProviderNotFound),
        (502, errors.ProviderUnavailable),
    ],
)
def test_given_an_error_status_when_called_then_the_error_is_typed_by_it(status, expected):
    # The base reads no provider's error body: each client reads its own (parse_error).
    responses.get(f"{BASE}/thing", json={"code": "SOMETHING", "message": "text"}, status=status)

    with pytest.raises(expected) as failure:
        BareClient(base_url=BASE).request("GET", "thing", operation="getThing")

    assert type(failure.value) is expected
    assert (failure.value.code, failure.value.status) == (f"HTTP_{status}", status)


@responses.activate
@pytest.mark.parametrize(
    "client",
    [
        BareClient(base_url=BASE),
        WolkvoxClient(base_url=BASE, token="t"),
        AisacClient(base_url=BASE, api_key="k"),
        AmmClient(base_url=BASE, auth_key="a", auth_secret="s"),
        SmsHostingClient(base_url=BASE, auth_key="a", auth_secret="s"),
    ],
    ids=["bare", "wolkvox", "aisac", "amm", "smshosting"],
)
def test_every_client_asks_for_json(client):
    responses.get(f"{BASE}/thing", json={})

    client.request("GET", "thing", operation="getThing")

    assert responses.calls[0].request.headers["Accept"] == "application/json"


def test_wolkvox_types_a_refusal_in_its_answer_as_the_same_http_status_would_be():
    client = WolkvoxClient(base_url=BASE, token="t")

    for code, expected in [
        (503, errors.ProviderUnavailable),
        (401, errors.ProviderAuthError),
        (400, errors.ProviderRejected),
        (None, errors.ProviderRejected),
    ]:
        refusal = client.refusal({"msg": "no"}, code, 200)
        assert type(refusal) is expected
        assert refusal.user_message == "no"
