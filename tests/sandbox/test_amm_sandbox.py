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


# --- answer styles: "document" (the document's examples) and "variant" (other shapes) --------
def same_shape(answer, example, where="answer"):
    """`answer` has the example's keys, in its order, with values of the same JSON types (a
    list: its items like the example's first one; an empty list matches any)."""
    from core.shapes import type_name

    if isinstance(example, dict):
        assert isinstance(answer, dict) and list(answer) == list(example), where
        for key in example:
            same_shape(answer[key], example[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(answer, list), where
        for item in answer if example else []:
            same_shape(item, example[0], f"{where}[]")
    else:
        assert type_name(answer) == type_name(example), (where, answer, example)


def test_document_style_answers_every_endpoint_as_the_document_prints_it(client, knobs):
    import json

    from tests.loyalty import test_amm_contract as document

    knobs("amm", answers="document")
    seed_programs()
    program = AmmProgram.objects.order_by("pk").first()
    base = "/sandbox/amm/sms/v2/fidelity"
    listed = client.get(f"{base}/list", headers=basic()).json()
    same_shape(listed, json.loads(document.FIDELITY_LIST))

    created = client.post(f"{base}/{program.pk}/card", {"msisdn": "393400000000"}, headers=basic())
    same_shape(created.json(), json.loads(document.CARD_CREATED))
    code = created.json()["fidelityCode"]
    AmmCard.objects.filter(code=code).update(
        contact={"name": "Mario", "lastname": "Rossi", "email": "mario.rossi@fake.it"}
    )
    detail = client.get(f"{base}/{program.pk}/card/{code}", headers=basic()).json()
    example = json.loads(document.CARD_DETAIL)
    same_shape(detail, example)
    assert detail["contactDetail"]["customFields"] == [
        {**field, "fieldValue": value}
        for field, value in zip(
            example["contactDetail"]["customFields"],
            ["393400000000", "mario.rossi@fake.it", "Mario", "Rossi"],
            strict=True,
        )
    ]
    same_shape(
        client.get(f"{base}/{program.pk}/card/list", headers=basic()).json(),
        json.loads(document.CARD_LIST),
    )

    records = json.loads(document.RECORD_LIST)
    added = client.post(
        f"{base}/{program.pk}/card/{code}/record",
        {"action": "ADD", "amount": "11.12"},
        headers=basic(),
    )
    same_shape(added.json(), json.loads(document.RECORD_CREATED))
    reward = program.rewards.order_by("points").first()
    client.post(
        f"{base}/{program.pk}/card/{code}/record",
        {"action": "ADD", "points": "20"},
        headers=basic(),
    )
    rewarded = client.post(
        f"{base}/{program.pk}/card/{code}/record",
        {"action": "REWARD", "rewardId": str(reward.pk)},
        headers=basic(),
    )
    same_shape(rewarded.json(), records["fidelityCardRecordList"][3])
    page = client.get(f"{base}/{program.pk}/card/{code}/record/list", headers=basic()).json()
    same_shape(page["metadata"], records["metadata"])
    same_shape(page["fidelityCardRecordList"][:2], records["fidelityCardRecordList"][:1])
    same_shape(page["fidelityCardRecordList"][2], records["fidelityCardRecordList"][3])
    gone = client.delete(
        f"{base}/{program.pk}/card/{code}/record/{added.json()['id']}", headers=basic()
    )
    assert (gone.status_code, gone.content) == (204, b"")


def test_variant_style_answers_text_numbers_iso_dates_and_no_metadata(client, knobs, program):
    knobs("amm", answers="variant")
    base = "/sandbox/amm/sms/v2/fidelity"
    [first, *_] = client.get(f"{base}/list", headers=basic()).json()["fidelityList"]
    assert (first["id"], first["pointValue"]) == (str(program.pk), "5.00")
    body = card_list(client, program, limit=2).json()
    assert list(body) == ["fidelityCardList"]  # no metadata block
    card = body["fidelityCardList"][0]
    assert (card["fidelityCardId"], card["points"], card["active"]) == (
        str(AmmCard.objects.order_by("pk").first().pk),
        "0",
        "true",
    )
    assert card["activationDate"] == "2026-01-10T09:30:15+01:00"
    detail = client.get(f"{base}/{program.pk}/card/CARD_00001", headers=basic()).json()
    assert detail["contactDetail"]["msisdn"] == 393470000001  # a number
    record = client.post(
        f"{base}/{program.pk}/card/CARD_00001/record",
        {"action": "ADD", "points": "3"},
        headers=basic(),
    ).json()
    assert (record["id"], record["points"], record["rewardId"]) == (record["id"], "3", None)
    assert record["date"].endswith("Z") and isinstance(record["id"], str)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("999/card/list", {"errorCode": "400", "errorMsg": "FIDELITY_NOT_EXIST"}),
        (
            "{program}/card/NOPE01",
            {
                "errorCode": 400,
                "errorMsg": "INVALID_CARD",
                "errorDescription": "Fidelity card not found",
            },
        ),
    ],
)
def test_variant_style_says_not_found_under_codes_the_client_does_not_know(
    client, knobs, program, path, expected
):
    knobs("amm", answers="variant")
    url = f"/sandbox/amm/sms/v2/fidelity/{path.format(program=program.pk)}"
    response = client.get(url, headers=basic())
    assert (response.status_code, response.json()) == (400, expected)
    response = client.delete(
        f"/sandbox/amm/sms/v2/fidelity/{program.pk}/card/CARD_00001/record/12345", headers=basic()
    )
    assert response.json() == {"errorCode": 400, "errorMsg": "Record non trovato"}


def test_the_usual_style_is_unchanged_by_default(client, program):
    body = card_list(client, program, limit=1).json()
    assert list(body) == ["metadata", "fidelityCardList"]
    assert isinstance(body["fidelityCardList"][0]["fidelityCardId"], int)
