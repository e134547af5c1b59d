"""An answer a client cannot read: whatever the reading trips on becomes a ContractDrift, the
call log keeps the answer's shape (never its values), and the dashboard counts it."""

import pytest
import responses

from core import errors
from core.http import ProviderClient
from core.models import RemoteCall
from core.shapes import answer_shape, fields_differing, items_differing

pytestmark = pytest.mark.django_db

BASE = "https://provider.example/api"


class ExampleClient(ProviderClient):
    provider = "example"

    def read_id(self, response):
        return str(self.json(response)["data"]["id"])

    def get(self):
        return self.request("GET", "thing", operation="getThing", read=self.read_id)


@pytest.fixture
def client():
    return ExampleClient(base_url=BASE)


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        {"data": None},
        {"data": "x"},
        {"data": []},
        {"data": {"name": "Mario Rossi"}},
        "text",
        17,
    ],
    ids=["empty", "list", "null data", "text data", "list data", "no id", "string", "number"],
)
def test_any_answer_the_reader_trips_on_is_a_contract_drift(client, body):
    responses.get(f"{BASE}/thing", json=body)

    with pytest.raises(errors.ContractDrift) as drift:
        client.get()

    assert drift.value.outcome_unknown and not drift.value.retryable
    assert drift.value.provider == "example"
    call = RemoteCall.objects.get()
    assert (call.ok, call.error_code, call.status_code) == (False, "CONTRACT_DRIFT", 200)
    assert call.answer_shape == drift.value.shape


@responses.activate
def test_the_call_log_keeps_the_shape_of_the_answer_never_its_values(client):
    responses.get(
        f"{BASE}/thing",
        json={"data": {"name": "Mario Rossi", "phone": "+393471234567", "points": 12}},
    )

    with pytest.raises(errors.ContractDrift):
        client.get()

    shape = RemoteCall.objects.get().answer_shape
    assert shape == "{data: {name: text, phone: text, points: number}}"
    assert "Mario" not in shape and "347" not in shape and "12" not in shape


@responses.activate
def test_a_body_that_is_not_json_stays_a_lost_answer_with_its_type_and_size_logged(client):
    responses.get(f"{BASE}/thing", body="<html>oops</html>", content_type="text/html")

    with pytest.raises(errors.ProviderTimeout) as lost:
        client.get()

    assert lost.value.code == "MALFORMED_RESPONSE" and lost.value.retryable
    assert RemoteCall.objects.get().answer_shape == "not JSON (text/html, 17 bytes)"


@responses.activate
def test_a_readable_answer_logs_no_shape(client):
    responses.get(f"{BASE}/thing", json={"data": {"id": 7}})

    assert client.get() == "7"
    call = RemoteCall.objects.get()
    assert (call.ok, call.answer_shape) == (True, "")


def test_shapes_name_types_and_tell_blank_text_apart():
    assert answer_shape({"code": "201", "error": None, "data": [{"total_registers": " "}]}) == (
        "{code: text, data: [{total_registers: blank text}] ×1, error: null}"
    )
    assert answer_shape([{"id": 1}, {"id": "2"}]) == "[{id: number} | {id: text}] ×2"


def test_differing_fields_are_named_with_what_was_found():
    expected = {"id": ("number", "text"), "codice": ("text",)}
    assert fields_differing({"id": [], "nome": "x"}, expected, where="data") == [
        "data.id: list, expected number or text",
        "data.codice: missing",
    ]
    assert items_differing([{"id": 1, "codice": "A"}, {"id": 2}], expected, where="data") == [
        "data[].codice: missing"
    ]
    assert items_differing({"id": 1}, expected, where="data") == ["data: object, expected list"]


def test_the_dashboard_counts_unreadable_answers_per_provider(admin_client):
    from django.core.cache import cache

    for _ in range(3):
        RemoteCall.objects.create(
            provider="wolkvox",
            operation="add_record",
            method="POST",
            path="/campaign.php",
            status_code=200,
            duration_ms=5,
            error_code="CONTRACT_DRIFT",
            ok=False,
        )
    cache.clear()

    from core.dashboard import sync_health

    rows = {row["code"]: row for row in sync_health()}
    assert rows["wolkvox"]["drifts"] == 3
    assert rows["amm"]["drifts"] == 0
    page = admin_client.get("/admin/").content.decode()
    assert "error_code__exact=CONTRACT_DRIFT&provider__exact=wolkvox" in page


def test_an_entry_stopped_for_a_decision_is_sent_again_by_hand_without_a_lookup(
    admin_client, knobs, deliver, sandbox_records
):
    """A person checked at the provider that a lost create did not arrive: **Send again**
    creates it without looking it up first (the lookup is what could not decide)."""
    from django.urls import reverse

    from core.models import OutboxEntry, OutboxState
    from tests.campaigns.factories import make_shop

    knobs("volantinopiu", forced_status=401)
    with deliver():
        make_shop(code="PV-DECIDE")
    OutboxEntry.objects.update(outcome_unknown=True)  # as after a lost answer
    knobs("volantinopiu", forced_status=None)
    entry = OutboxEntry.objects.get()

    with deliver():
        admin_client.post(
            reverse("admin:core_outboxentry_changelist"),
            {"action": "resend", "_selected_action": [entry.pk]},
        )

    entry.refresh_from_db()
    assert entry.state == OutboxState.DONE
    assert [s["codice"] for s in sandbox_records("volantinopiu", "shop")] == ["PV-DECIDE"]
    assert not RemoteCall.objects.filter(operation="listShops").exists()
