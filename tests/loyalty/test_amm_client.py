"""AMM fidelity client, against the document read literally: paths, HTTP Basic, form-encoded
parameters with the document's names, `yyyy-MM-dd'T'HH:mm:ssZ` dates, pages with metadata."""

import base64
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from core.errors import ProviderAuthError, ProviderNotFound, ProviderRejected, ProviderUnavailable
from loyalty.amm import AmmClient

BASE = "https://api.amm.cloud/sms/v2"
BASIC = "Basic " + base64.b64encode(b"KEY:SECRET").decode()
pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return AmmClient(base_url=BASE, auth_key="KEY", auth_secret="SECRET")


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def form(call) -> dict:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_fidelity_list_reads_id_name_and_point_value(client, api):
    api.get(
        f"{BASE}/fidelity/list",
        json={"fidelityList": [{"id": 38, "name": "Mio programma fidelity", "pointValue": 5.0}]},
        match=[matchers.header_matcher({"Authorization": BASIC})],
    )
    [program] = client.list_programs()
    assert (program.id, program.name, program.point_value) == (
        "38",
        "Mio programma fidelity",
        Decimal("5.0"),
    )


def test_card_list_is_paginated_with_offset_limit_and_dates_in_the_documented_format(client, api):
    api.get(
        f"{BASE}/fidelity/62/card/list",
        match=[
            matchers.query_param_matcher(
                {"offset": "0", "limit": "3", "fromDate": "2019-11-22T11:22:33+0200"}
            )
        ],
        json={
            "metadata": {"count": 15, "offset": 0, "limit": 3},
            "fidelityCardList": [
                {
                    "fidelityId": 62,
                    "fidelityCardId": 2668,
                    "fidelityCode": "CARD_00011",
                    "activationDate": "2019-11-22T16:11:23+0100",
                    "active": True,
                    "points": 21,
                }
            ],
        },
    )
    since = datetime(2019, 11, 22, 11, 22, 33, tzinfo=timezone(timedelta(hours=2)))
    page = client.list_cards("62", offset=0, limit=3, from_date=since)
    assert (page.count, page.offset, page.limit) == (15, 0, 3)
    [card] = page.items
    assert (card.program_id, card.id, card.code, card.active, card.points) == (
        "62",
        "2668",
        "CARD_00011",
        True,
        21,
    )
    assert card.activation_date == datetime(
        2019, 11, 22, 16, 11, 23, tzinfo=timezone(timedelta(hours=1))
    )


def test_card_detail_reads_the_contact(client, api):
    api.get(
        f"{BASE}/fidelity/38/card/CARD_00038",
        json={
            "fidelityId": 62,
            "fidelityCardId": 2676,
            "fidelityName": "Programma fidelity superfico",
            "contactDetail": {"msisdn": "393480000000", "name": "Mario", "lastname": "Rossi"},
            "fidelityCode": "CARD_00038",
            "activationDate": "2019-11-22T16:11:23+0100",
            "active": True,
            "points": 7,
        },
    )
    card = client.get_card("38", "CARD_00038")
    assert (card.code, card.points, card.contact["msisdn"]) == ("CARD_00038", 7, "393480000000")


def test_create_card_posts_the_documented_form_parameters(client, api):
    api.post(
        f"{BASE}/fidelity/38/card",
        json={
            "fidelityId": 38,
            "fidelityCardId": 1234,
            "fidelityCode": "F582323963717",
            "activationDate": "2019-12-03T14:26:48+0100",
            "active": True,
            "points": 0,
        },
    )
    card = client.create_card(
        "38", msisdn="393400000000", card_code="CARD_1234", starting_points=10, send_sms=True
    )
    call = api.calls[0]
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {
        "msisdn": "393400000000",
        "cardCode": "CARD_1234",
        "startingPoints": "10",
        "sendSms": "true",
    }
    assert (card.id, card.code) == ("1234", "F582323963717")


def test_create_card_leaves_out_what_was_not_given(client, api):
    api.post(
        f"{BASE}/fidelity/38/card",
        json={"fidelityId": 38, "fidelityCardId": 1, "fidelityCode": "F1", "points": 0},
    )
    client.create_card("38", msisdn="393400000000", starting_amount=Decimal("11.10"))
    assert form(api.calls[0]) == {"msisdn": "393400000000", "startingAmount": "11.1"}


def test_record_list_reads_points_amount_action_reward_and_date(client, api):
    api.get(
        f"{BASE}/fidelity/38/card/CARD_00038/record/list",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "20", "action": "REWARD"})],
        json={
            "metadata": {"count": 1, "offset": 0, "limit": 20},
            "fidelityCardRecordList": [
                {
                    "id": 438,
                    "points": -5,
                    "amount": 0.0,
                    "rewardId": 60,
                    "action": "REWARD",
                    "date": "2019-11-27T15:38:37+0100",
                }
            ],
        },
    )
    [record] = client.list_records("38", "CARD_00038", action="REWARD", limit=20).items
    assert (record.id, record.points, record.reward_id, record.action) == ("438", -5, 60, "REWARD")


def test_add_record_posts_action_points_amount_reward_note_and_sms(client, api):
    api.post(
        f"{BASE}/fidelity/38/card/CARD_00038/record",
        json={
            "id": 607,
            "points": 2,
            "amount": 11.12,
            "action": "ADD",
            "date": "2020-07-06T12:53:41+0200",
        },
    )
    record = client.add_record(
        "38",
        "CARD_00038",
        action="ADD",
        amount=Decimal("11.12"),
        note="scontrino 5",
        send_sms=False,
    )
    assert form(api.calls[0]) == {
        "action": "ADD",
        "amount": "11.12",
        "note": "scontrino 5",
        "sendSms": "false",
    }
    assert (record.id, record.points, record.amount) == ("607", 2, Decimal("11.12"))


def test_delete_record_expects_204(client, api):
    api.delete(f"{BASE}/fidelity/38/card/CARD_00038/record/123", status=204)
    client.delete_record("38", "CARD_00038", "123")


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (400, {"errorCode": 400, "errorMsg": "BAD_MSISDN"}, ProviderRejected, "BAD_MSISDN"),
        (400, {"errorCode": 400, "errorMsg": "CARD_NOT_FOUND"}, ProviderNotFound, "CARD_NOT_FOUND"),
        (401, {"errorCode": 401, "errorMsg": "UNAUTHORIZED"}, ProviderAuthError, "UNAUTHORIZED"),
        (405, {}, ProviderRejected, "HTTP_405"),
        (500, {"errorMsg": "GENERIC_ERROR"}, ProviderUnavailable, "GENERIC_ERROR"),
    ],
)
def test_errors_carry_amms_code_and_a_clear_message(client, api, status, body, error, code):
    api.post(f"{BASE}/fidelity/38/card", status=status, json=body)
    with pytest.raises(error) as raised:
        client.create_card("38", msisdn="3934")
    assert raised.value.code == code
    if code == "BAD_MSISDN":
        assert "prefisso internazionale" in str(raised.value)
