"""The simulated Wolkvox add_record, called as the real one would be, in each answer style: the
usual (a count), "document" (the document's example answer, verbatim) and "variant" (other
shapes a real Wolkvox may use)."""

import json

import pytest
from django.conf import settings

from sandbox.models import WolkvoxRecord
from sandbox.wolkvox import DOCUMENT_ANSWER

pytestmark = pytest.mark.django_db
URL = "/sandbox/wolkvox/api/v2/campaign.php"
QUERY = "?api=add_record&type_campaign=predictive&campaign_id=42&campaign_status=start"


def add(client, records, *, token: str | None = None):
    return client.post(
        URL + QUERY,
        data=json.dumps(records),
        content_type="application/json",
        headers={"wolkvox-token": token or settings.SANDBOX_AUTH["wolkvox"]["token"]},
    )


def leads(count: int) -> list[dict]:
    return [{"tel1": f"39347{n:07d}"} for n in range(count)]


def test_the_usual_answer_counts_the_records(client):
    response = add(client, leads(3))
    assert response.status_code == 201
    assert response.json() == {
        "code": "201",
        "error": None,
        "msg": "All records has been added successfully",
        "data": [{"total_registers": 3}],
    }
    assert WolkvoxRecord.objects.count() == 3


def test_document_mode_answers_the_documents_example_verbatim(client, knobs):
    knobs("wolkvox", answers="document")
    response = add(client, leads(3))
    assert response.status_code == 200
    assert response.json() == DOCUMENT_ANSWER
    assert DOCUMENT_ANSWER["data"] == [{"total_registers": " "}]
    assert WolkvoxRecord.objects.count() == 3  # the records were added all the same


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (4, {"code": 201, "error": None, "data": {"total_registers": 4}}),
        (5, {"code": "200", "error": "", "data": [{"total_registers": "5"}]}),
        (6, {"code": 200, "data": [{"total_registers": ""}]}),
        (7, {"code": "201", "error": None, "data": {"total_registers": None}}),
    ],
)
def test_variant_mode_answers_other_plausible_shapes(client, knobs, count, expected):
    knobs("wolkvox", answers="variant")
    response = add(client, leads(count))
    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "msg"} == expected
    assert WolkvoxRecord.objects.count() == count


def test_variant_mode_tells_a_refusal_in_a_200_answer(client, knobs):
    knobs("wolkvox", answers="variant")
    response = add(client, [{"tel1": ""}])
    assert response.status_code == 200
    assert response.json()["code"] == 400 and response.json()["error"] == "Bad request"
    assert not WolkvoxRecord.objects.exists()


@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_a_wrong_token_is_a_401_in_every_style(client, knobs, style):
    knobs("wolkvox", answers=style)
    assert add(client, leads(1), token="wrong").status_code == 401
