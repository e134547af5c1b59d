"""AMM fidelity client, against the document read literally: paths, HTTP Basic, form-encoded
parameters with the document's names, `yyyy-MM-dd'T'HH:mm:ssZ` dates, pages with metadata."""

import base64
import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from core.errors import ProviderAuthError, ProviderNotFound, ProviderRejected, ProviderUnavailable
from core.wire import parse_date
from loyalty.amm import AmmClient
from loyalty.pull import lent_threads

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
    assert (card.code, card.points, card.contact.msisdn) == ("CARD_00038", 7, "393480000000")


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


def card_json(n: int) -> dict:
    return {
        "fidelityId": 62,
        "fidelityCardId": n,
        "fidelityCode": f"CARD_{n:05d}",
        "activationDate": "2019-11-22T16:11:23+0100",
        "active": True,
        "points": n,
    }


def card_page(offset: int, limit: int, count: int, sent: int | None = None) -> dict:
    sent = min(limit, count - offset) if sent is None else sent
    return {
        "metadata": {"count": count, "offset": offset, "limit": limit},
        "fidelityCardList": [card_json(n) for n in range(offset, offset + sent)],
    }


def test_iter_cards_asks_each_next_page_at_the_offset_of_what_was_received(client, api):
    # A provider that sends fewer cards than asked (a cap of its own) loses none of them.
    for offset, sent in ((0, 3), (3, 3), (6, 1)):
        api.get(
            f"{BASE}/fidelity/62/card/list",
            match=[matchers.query_param_matcher({"offset": str(offset), "limit": "5"})],
            json=card_page(offset, 5, count=7, sent=sent),
        )
    pages = list(client.iter_cards("62", page_size=5))
    assert [card.id for _page, cards in pages for card in cards] == [str(n) for n in range(7)]


def test_a_page_size_refused_with_bad_limit_is_halved_down_to_the_documented_default(client, api):
    refused = {"errorCode": 400, "errorMsg": "BAD_LIMIT"}
    for limit in ("80", "40"):
        api.get(
            f"{BASE}/fidelity/62/card/list",
            match=[matchers.query_param_matcher({"offset": "0", "limit": limit})],
            status=400,
            json=refused,
        )
    api.get(
        f"{BASE}/fidelity/62/card/list",
        match=[matchers.query_param_matcher({"offset": "0", "limit": "20"})],
        json=card_page(0, 20, count=25),
    )
    api.get(
        f"{BASE}/fidelity/62/card/list",
        match=[matchers.query_param_matcher({"offset": "20", "limit": "20"})],
        json=card_page(20, 20, count=25),
    )
    cards = [card for _page, cards in client.iter_cards("62", page_size=80) for card in cards]
    assert len(cards) == 25


def test_bad_limit_at_the_documented_default_is_an_error(client, api):
    api.get(
        f"{BASE}/fidelity/62/card/list",
        status=400,
        json={"errorCode": 400, "errorMsg": "BAD_LIMIT"},
    )
    with pytest.raises(ProviderRejected) as caught:
        list(client.iter_cards("62", page_size=20))
    assert caught.value.code == "BAD_LIMIT"


@pytest.mark.parametrize(
    "text",
    [
        "2019-11-22T16:11:23+0100",
        "2019-06-30T23:59:59-0230",
        "2020-02-29T00:00:00+0000",
    ],
)
def test_dates_are_read_as_the_documented_format_says(text):
    assert parse_date(text) == datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    assert parse_date(text).utcoffset() is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-11-22T16:11:23+01:00", datetime(2019, 11, 22, 15, 11, 23, tzinfo=UTC)),
        ("2019-11-22T15:11:23Z", datetime(2019, 11, 22, 15, 11, 23, tzinfo=UTC)),
        ("2019-11-22T16:11:23.250+0100", datetime(2019, 11, 22, 15, 11, 23, 250000, UTC)),
        ("2019-11-22 16:11:23+0100", datetime(2019, 11, 22, 15, 11, 23, tzinfo=UTC)),
        ("2019-11-22T16:11:23", datetime(2019, 11, 22, 15, 11, 23, tzinfo=UTC)),  # Rome
        (1574435483000, datetime(2019, 11, 22, 15, 11, 23, tzinfo=UTC)),  # ms
    ],
)
def test_iso_variants_and_epoch_milliseconds_are_read_too(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["2019-13-22T16:11:23+0100", "22/11/2019 16:11", "2019-11-22", "yesterday", "20191122"]
)
def test_dates_in_no_known_format_are_refused(text):
    with pytest.raises(ValueError):
        parse_date(text)


class FakeCardList:
    """AMM's card list as a responses callback: `count` cards, pages capped at `cap` (a provider
    may send fewer than asked), optionally failing at one offset."""

    def __init__(self, count: int, *, cap: int = 1000, fail_at: int | None = None, short_at=None):
        self.count, self.cap, self.fail_at = count, cap, fail_at
        self.short_at = short_at or {}  # offset: cards sent there
        self.asked: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def __call__(self, request):
        query = parse_qs(request.url.split("?", 1)[1])
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        with self.lock:
            self.asked.append((offset, limit))
        if offset == self.fail_at:
            return (500, {}, "{}")
        sent = max(0, min(limit, self.cap, self.count - offset, self.short_at.get(offset, limit)))
        body = card_page(offset, limit, count=self.count, sent=sent)
        return (200, {"Content-Type": "application/json"}, json.dumps(body))


@pytest.fixture
def pool(transactional_db):
    """The pull's threads (outside a transaction: each writes the call log on its own)."""
    with lent_threads(2) as submit:
        assert submit is not None
        yield submit


def listed_ids(client, api, provider, pool) -> list[str]:
    """The ids of every card `iter_cards` lists from `provider`, 5 a page, reading ahead."""
    api.add_callback(responses.GET, f"{BASE}/fidelity/62/card/list", callback=provider)
    return [
        card.id
        for _page, cards in client.iter_cards("62", page_size=5, submit=pool)
        for card in cards
    ]


def test_with_threads_lent_the_next_pages_are_asked_for_ahead(client, api, pool):
    provider = FakeCardList(23)
    ids = listed_ids(client, api, provider, pool)
    assert ids == [str(n) for n in range(23)]
    assert sorted(provider.asked) == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 5)]


def test_after_a_short_page_the_pages_asked_ahead_are_asked_again_where_they_start(
    client, api, pool
):
    provider = FakeCardList(23, cap=4)  # asked for 5, sends 4
    ids = listed_ids(client, api, provider, pool)
    assert ids == [str(n) for n in range(23)]  # none lost, none twice
    assert [offset for offset, _limit in provider.asked] == [0, 4, 8, 12, 16, 20]


def test_a_short_page_drops_the_pages_asked_ahead_of_it(client, api, pool):
    provider = FakeCardList(23, short_at={5: 3})  # 0-4, then 5-7 only, then on from 8
    ids = listed_ids(client, api, provider, pool)
    assert ids == [str(n) for n in range(23)]
    asked = {offset for offset, _limit in provider.asked}
    assert {0, 5, 8, 13, 18} <= asked <= {0, 5, 8, 10, 13, 15, 18}


def test_an_error_on_a_page_asked_ahead_is_raised_after_the_pages_before_it(client, api, pool):
    provider = FakeCardList(23, fail_at=10)
    api.add_callback(responses.GET, f"{BASE}/fidelity/62/card/list", callback=provider)
    received = []
    with pytest.raises(ProviderUnavailable):
        for _page, cards in client.iter_cards("62", page_size=5, submit=pool):
            received.extend(card.id for card in cards)
    assert received == [str(n) for n in range(10)]
