"""The simulated AMM card list (`GET /sms/v2/fidelity/{id}/card/list`), called as the real one
would be: HTTP Basic, offset/limit (default 20, at most 1,000 here), fromDate/toDate in
`yyyy-MM-dd'T'HH:mm:ssZ`, and a page with `metadata {count, offset, limit}`."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from sandbox.amm import DATE_FORMAT, MAX_LIMIT, ROME, seed_programs
from sandbox.models import AmmCard, AmmProgram

pytestmark = pytest.mark.django_db


def basic() -> dict[str, str]:
    auth = settings.SANDBOX_AUTH["amm"]
    token = base64.b64encode(f"{auth['key']}:{auth['secret']}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def program() -> AmmProgram:
    seed_programs()
    program = AmmProgram.objects.order_by("pk").first()
    first = datetime(2026, 1, 10, 8, 30, 15, 123456, tzinfo=UTC)  # winter: +0100 in Rome
    AmmCard.objects.bulk_create(
        AmmCard(
            program=program,
            code=f"CARD_{n:05d}",
            msisdn=f"39347{n:07d}",
            activation_date=first + timedelta(days=30 * n),
            active=n != 3,
            points=n * 10,
        )
        for n in range(8)
    )
    return program


def card_list(client, program, **params):
    return client.get(
        f"/sandbox/amm/sms/v2/fidelity/{program.pk}/card/list", params, headers=basic()
    )


def test_a_page_lists_each_card_in_the_documented_shape(client, program):
    response = card_list(client, program, offset=2, limit=3)
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"count": 8, "offset": 2, "limit": 3}
    cards = AmmCard.objects.filter(program=program).order_by("pk")[2:5]
    assert body["fidelityCardList"] == [
        {
            "fidelityId": program.pk,
            "fidelityCardId": card.pk,
            "fidelityCode": card.code,
            "activationDate": card.activation_date.astimezone(ROME).strftime(DATE_FORMAT),
            "active": card.active,
            "points": card.points,
        }
        for card in cards
    ]
    assert [list(item) for item in body["fidelityCardList"]] == [
        ["fidelityId", "fidelityCardId", "fidelityCode", "activationDate", "active", "points"]
    ] * 3
    assert body["fidelityCardList"][0]["activationDate"] == "2026-03-11T09:30:15+0100"
    assert body["fidelityCardList"][1]["activationDate"] == "2026-04-10T10:30:15+0200"


def test_the_default_page_is_20_and_the_last_page_is_short(client, program):
    assert card_list(client, program).json()["metadata"]["limit"] == 20
    body = card_list(client, program, offset=6, limit=MAX_LIMIT).json()
    assert [c["fidelityCode"] for c in body["fidelityCardList"]] == ["CARD_00006", "CARD_00007"]


def test_dates_filter_on_the_activation_date(client, program):
    since = datetime(2026, 3, 1, tzinfo=ROME).strftime(DATE_FORMAT)
    until = datetime(2026, 5, 1, tzinfo=ROME).strftime(DATE_FORMAT)
    body = card_list(client, program, fromDate=since, toDate=until, limit=100).json()
    assert body["metadata"]["count"] == 2
    assert [c["fidelityCode"] for c in body["fidelityCardList"]] == ["CARD_00002", "CARD_00003"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": MAX_LIMIT + 1}, "BAD_LIMIT"),
        ({"limit": 0}, "BAD_LIMIT"),
        ({"limit": "x"}, "BAD_LIMIT"),
        ({"offset": -1}, "BAD_OFFSET"),
        ({"fromDate": "2026-03-01"}, "BAD_DATE"),
    ],
)
def test_bad_parameters_are_400_with_amms_code(client, program, params, code):
    response = card_list(client, program, **params)
    assert response.status_code == 400
    assert response.json()["errorMsg"] == code


def test_an_unknown_program_and_bad_credentials(client, program):
    response = client.get("/sandbox/amm/sms/v2/fidelity/999/card/list", headers=basic())
    assert (response.status_code, response.json()["errorMsg"]) == (400, "FIDELITY_NOT_FOUND")
    response = client.get(f"/sandbox/amm/sms/v2/fidelity/{program.pk}/card/list")
    assert response.status_code == 401
