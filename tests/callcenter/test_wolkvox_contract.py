"""Wolkvox's add_record against its document (`../shared/api-docs/wolkvox-callcenter-records.txt`):
the request the client builds is the document's request, the document's one example answer
reads as a success (its `total_registers` is blank: "count not reported"), the other plausible
shapes read too, and every garbled answer ends as a typed ProviderError — never a KeyError,
ValueError or TypeError. Then the same through the sandbox in document and variant mode: an
upload whose every answer is the document's example ends done with all its leads counted."""

import json
from datetime import UTC, datetime

import pytest
import responses
from django.utils import translation
from django.utils.translation import gettext
from responses import matchers

from callcenter.models import CallCampaign, CallRecord, CallUploadChunk, UploadStatus
from callcenter.services import (
    call_records_save,
    call_upload_create,
    call_upload_progress,
    chunk_body,
)
from callcenter.wolkvox import WolkvoxClient, format_recall, wolkvox_client, wolkvox_server
from core import errors
from core.errors import ContractDrift
from core.models import RemoteCall, SyncStatus
from core.preflight import preflight_run
from sandbox.models import WolkvoxRecord
from tests.provider_documents import provider_document

BASE = "https://wv0001.wolkvox.com/api/v2"
URL = f"{BASE}/campaign.php"
SANDBOX_BASE = "http://sandbox.test/sandbox/wolkvox/api/v2"
DOCUMENT = provider_document("wolkvox-callcenter-records")

# The document's request body fields (its "Request" table and its curl example), in its order.
DOCUMENT_FIELDS = [
    "customer_name", "customer_last_name", "id_type", "customer_id", "age", "gender", "country",
    "state", "city", "zone", "address", *(f"opt{n}" for n in range(1, 13)),
    *(f"tel{n}" for n in range(1, 11)), "tel_extra", "email", "recall_date", "recall_telephone",
]  # fmt: skip
# The document's "RESPONSE" block, verbatim.
DOCUMENT_ANSWER = {
    "code": "201",
    "error": None,
    "msg": "All records has been added successfully",
    "data": [{"total_registers": " "}],
}
MSG = DOCUMENT_ANSWER["msg"]


def ok(data, **fields):
    return {"code": "201", "error": None, "msg": MSG, "data": data, **fields}


def client() -> WolkvoxClient:
    return WolkvoxClient(base_url=BASE, token="TOKEN")


def send(api: responses.RequestsMock, body=None, *, status: int = 200, raw: bytes | None = None):
    """add_record of one lead, answered with `body` (JSON) or `raw` bytes."""
    if raw is None:
        raw = json.dumps(body).encode()
    api.post(URL, status=status, body=raw, content_type="application/json")
    return client().add_records(
        campaign_id="42", campaign_status="start", records=[{"tel1": "393471234567"}]
    )


# --- the document itself --------------------------------------------------------------------
def test_the_fixtures_are_the_documents_own_text():
    text = DOCUMENT.read_text()
    for name in DOCUMENT_FIELDS:
        assert f'"{name}": "{{{{{name}}}}}"' in text
    assert "api=add_record&type_campaign=predictive&campaign_id=" in text
    assert "'wolkvox_server: {{wolkvox_server}}'" in text
    assert "'wolkvox-token: {{wolkvox-token}}'" in text
    assert '"total_registers": " "' in text and '"code": "201"' in text and MSG in text


# --- the request ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_add_record_sends_exactly_the_documents_request():
    record = {name: f"v-{name}" for name in DOCUMENT_FIELDS}
    record["recall_date"] = format_recall(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    with responses.RequestsMock() as api:
        api.post(
            URL,
            match=[
                matchers.query_param_matcher(
                    {
                        "api": "add_record",
                        "type_campaign": "predictive",
                        "campaign_id": "42",
                        "campaign_status": "stop",
                    },
                    strict_match=True,
                ),
                matchers.header_matcher(
                    {
                        "wolkvox_server": "0001",
                        "wolkvox-token": "TOKEN",
                        "Content-Type": "application/json",
                    }
                ),
            ],
            json=DOCUMENT_ANSWER,
        )
        client().add_records(campaign_id="42", campaign_status="stop", records=[record])
        sent = api.calls[0].request
    assert sent.method == "POST"
    assert sent.url.split("?")[0] == URL
    body = json.loads(sent.body)
    assert isinstance(body, list) and list(body[0]) == DOCUMENT_FIELDS
    assert body[0]["recall_date"] == "20261201103000"  # yyyymmddhhmmss, Rome time


@pytest.mark.django_db
@pytest.mark.parametrize("with_recall", [False, True])
def test_a_chunk_carries_the_documents_fields_and_no_other(with_recall):
    """Both ways a chunk is encoded (by the database, or here when a lead has a recall date)."""
    campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Contratto")
    call_records_save(
        campaign=campaign, rows=[(2, {"tel1": "3471111111", "city": "Forlì"})], source="import"
    )
    if with_recall:
        CallRecord.objects.update(recall_date=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    upload_chunk = CallUploadChunk(
        record_ids=list(CallRecord.objects.values_list("id", flat=True)), records_count=1
    )
    [record] = json.loads(chunk_body(upload_chunk).body)
    assert set(record) == set(DOCUMENT_FIELDS)
    assert all(isinstance(value, str) for value in record.values())
    assert record["recall_date"] == ("20261201103000" if with_recall else "")


@pytest.mark.parametrize(
    ("base_url", "configured", "expected"),
    [
        ("https://wv0001.wolkvox.com/api/v2", "", "0001"),
        ("https://wvco01.wolkvox.com/api/v2/", "", "co01"),
        ("https://wv0001.wolkvox.com/api/v2", "0042", "0042"),  # the setting wins
        (SANDBOX_BASE, "", ""),  # not a Wolkvox host: no header
    ],
)
def test_the_server_header_comes_from_the_setting_or_the_base_urls_host(
    base_url, configured, expected
):
    assert wolkvox_server(base_url, configured) == expected
    session = WolkvoxClient(base_url=base_url, token="T", server=configured).session
    assert session.headers.get("wolkvox_server") == (expected or None)


def test_the_configured_client_reads_the_server_setting(settings):
    settings.WOLKVOX_BASE_URL = "https://wv0001.wolkvox.com/api/v2"
    settings.WOLKVOX_SERVER = "0007"
    assert wolkvox_client().session.headers["wolkvox_server"] == "0007"


# --- answers that read ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("status", [200, 201])
def test_the_documents_example_answer_is_a_success_with_the_count_not_reported(status):
    with responses.RequestsMock() as api:
        assert send(api, DOCUMENT_ANSWER, status=status) is None
    call = RemoteCall.objects.get()
    assert call.ok and not call.error_code and not call.answer_shape


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (ok([{"total_registers": 1}]), 1),  # the response table's int
        (ok([{"total_registers": "1"}]), 1),  # as text
        (ok([{"total_registers": " 1 "}]), 1),
        (ok([{"total_registers": "1.0"}]), 1),
        (ok([{"total_registers": 1.0}]), 1),
        (ok([{"total_registers": 0}]), 0),
        (ok({"total_registers": 1}), 1),  # data an object, not a list
        ({**ok([{"total_registers": 1}]), "code": 201}, 1),  # code a number
        ({**ok([{"total_registers": 1}]), "code": "200"}, 1),
        ({**ok([{"total_registers": 1}]), "code": 200}, 1),
        ({**ok([{"total_registers": 1}]), "error": ""}, 1),  # a blank error is no error
        ({"code": "201", "msg": MSG, "data": [{"total_registers": 1}]}, 1),  # no error key
        ({"code": "201", "data": [{"total_registers": 1}]}, 1),  # no msg
        (ok([{"total_registers": ""}]), None),  # blank: not reported
        (ok([{"total_registers": None}]), None),
        (ok([{"total_registers": "n/d"}]), None),  # non-numeric text: not reported
        (ok({"total_registers": " "}), None),
        ({**DOCUMENT_ANSWER, "code": 201}, None),
        (ok([{"total_registers": 1, "other": "x"}], extra=True), 1),  # more keys: fine
    ],
)
def test_every_plausible_success_shape_reads(body, expected):
    with responses.RequestsMock() as api:
        assert send(api, body) == expected


# --- answers that do not ---------------------------------------------------------------------
GARBLED = [
    {},
    [],
    [DOCUMENT_ANSWER],  # the answer wrapped in a list
    "All records has been added successfully",
    201,
    {"data": "x"},
    {"code": "201"},
    {"code": "201", "data": [{}]},
    {"code": "201", "data": None},
    {"code": "201", "data": []},
    {"code": "201", "data": "x"},
    {"code": "201", "data": [1]},
    {"code": "201", "data": ["total_registers"]},
    {"code": "201", "data": [{"total_registers": 1}, {"total_registers": 2}]},
    {"code": "201", "data": [{"total": 1}]},
    {"code": "201", "data": [{"total_registers": [1]}]},
    {"code": "201", "data": [{"total_registers": {"n": 1}}]},
    {"code": "201", "data": [{"total_registers": True}]},
    {"code": "201", "data": [{"total_registers": -1}]},
    {"code": "201", "data": [{"total_registers": 1.5}]},
    {"code": "201", "data": [{"total_registers": 10**12}]},  # no count of one call
    {"code": "201", "data": [{"total_registers": "9" * 5000}]},
    {"code": None, "data": [{"total_registers": 1}]},
    {"code": "", "data": [{"total_registers": 1}]},
    {"code": "OK", "data": [{"total_registers": 1}]},
    {"code": True, "data": [{"total_registers": 1}]},
    {"code": [201], "data": [{"total_registers": 1}]},
    {"code": {"status": 201}, "data": [{"total_registers": 1}]},
    {"code": 201.5, "data": [{"total_registers": 1}]},
    {"code": 20100, "data": [{"total_registers": 1}]},
    {"msg": MSG, "data": [{"total_registers": 1}]},  # no code at all
    {"code": "201", "error": "Partial failure", "data": [{"total_registers": 1}]},
    {"code": "201", "error": {"tel1": "bad"}, "data": [{"total_registers": 1}]},
    {"code": "201", "error": 5, "data": [{"total_registers": 1}]},
    {"code": 5, "error": None, "msg": 7, "data": 9},  # numbers where text was expected
]


@pytest.mark.django_db
@pytest.mark.parametrize("body", GARBLED, ids=[json.dumps(b)[:60] for b in GARBLED])
def test_a_garbled_answer_is_a_contract_drift_naming_the_field(body):
    with responses.RequestsMock() as api, pytest.raises(ContractDrift) as raised:
        send(api, body)
    drift = raised.value
    assert drift.provider == "wolkvox" and drift.fields and drift.outcome_unknown
    # The call log keeps the answer's shape, never its values.
    call = RemoteCall.objects.get()
    assert not call.ok and call.error_code == "CONTRACT_DRIFT" and call.answer_shape
    assert "Partial failure" not in call.answer_shape and "bad" not in call.answer_shape


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": "400", "error": "Bad request", "msg": "Record 1 is not valid", "data": []}, 400),
        ({"code": 400, "error": "Bad request", "msg": 12, "data": None}, 400),
        ({"code": "401", "error": "Unauthorized", "msg": "Invalid token"}, 401),
        ({"code": "403", "error": None, "msg": "Forbidden"}, 403),
        ({"code": "404", "error": "Not found", "msg": "Campaign not found"}, 404),
        ({"code": "429", "error": "Too many requests", "msg": "Token in use"}, 429),
        ({"code": "500", "error": "Server error", "msg": "Internal error"}, 500),
        ({"error": "Unauthorized", "msg": "Invalid token"}, None),  # an error and no code
    ],
)
def test_an_error_told_in_a_2xx_answer_is_typed_as_its_code(body, error):
    expected = {
        400: errors.ProviderRejected,
        401: errors.ProviderAuthError,
        403: errors.ProviderAuthError,
        404: errors.ProviderNotFound,
        429: errors.ProviderRateLimited,
        500: errors.ProviderUnavailable,
        None: errors.ProviderRejected,
    }[error]
    with responses.RequestsMock() as api, pytest.raises(expected) as raised:
        send(api, body)
    assert not isinstance(raised.value, ContractDrift)
    assert not RemoteCall.objects.get().ok


@pytest.mark.django_db
# `null` too: core.http reads it as no JSON at all.
@pytest.mark.parametrize("raw", [b'{"code": "201", "da', b"<html>ok</html>", b"\xff\xfe", b"null"])
def test_an_answer_that_is_not_json_is_checked_like_a_lost_one(raw):
    with responses.RequestsMock() as api, pytest.raises(errors.ProviderTimeout) as raised:
        send(api, raw=raw)
    assert raised.value.outcome_unknown and raised.value.code == "MALFORMED_RESPONSE"


@pytest.mark.django_db
def test_an_empty_2xx_answer_is_a_drift():
    with responses.RequestsMock() as api, pytest.raises(ContractDrift):
        send(api, raw=b"")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, [], errors.ProviderRejected),
        (400, "x", errors.ProviderRejected),
        (400, {"code": {"a": 1}, "msg": ["x"], "error": 5}, errors.ProviderRejected),
        (401, {"code": "401", "error": "Unauthorized", "msg": "Invalid token"}, errors.ProviderAuthError),
        (429, None, errors.ProviderRateLimited),
        (503, {"data": "x"}, errors.ProviderUnavailable),
    ],
)  # fmt: skip
def test_an_http_error_with_any_body_is_typed_by_its_status(status, body, expected):
    with responses.RequestsMock() as api, pytest.raises(expected):
        send(api, body, status=status)


# --- preflight: no read call, the settings only ------------------------------------------------
@pytest.mark.django_db
def test_the_preflight_passes_with_url_and_token_set(settings):
    settings.WOLKVOX_BASE_URL = SANDBOX_BASE
    settings.WOLKVOX_TOKEN = "sandbox-wolkvox-token"
    [report] = preflight_run("wolkvox")
    assert report.passed and report.configured and report.probes == []
    assert report.note  # says that Wolkvox has no read-only call
    assert not RemoteCall.objects.exists()  # nothing was called


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["WOLKVOX_TOKEN", "WOLKVOX_BASE_URL"])
def test_the_preflight_fails_naming_a_missing_setting(settings, missing):
    settings.WOLKVOX_BASE_URL = SANDBOX_BASE
    settings.WOLKVOX_TOKEN = "sandbox-wolkvox-token"
    setattr(settings, missing, "")
    [report] = preflight_run("wolkvox")
    assert not report.passed and report.missing_settings == [missing]
    assert missing in report.summary()


# --- through the sandbox ------------------------------------------------------------------------
@pytest.fixture
def campaign(db):
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione clienti")


def leads(campaign, count: int, start: int = 0) -> None:
    rows = [(i + 2, {"tel1": f"3470{start + i:06d}"}) for i in range(count)]
    assert not call_records_save(campaign=campaign, rows=rows, source="import").errors


def test_an_upload_answered_with_the_documents_example_ends_done_with_every_lead_counted(
    deliver, campaign, knobs, settings
):
    settings.WOLKVOX_CHUNK_SIZE = 100
    leads(campaign, 250)
    knobs("wolkvox", answers="document")
    with deliver():
        upload = call_upload_create(campaign=campaign)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert (upload.chunks_done, upload.chunks_total) == (3, 3)
    assert upload.records_sent == upload.records_total == 250
    assert upload.records_confirmed == 0  # Wolkvox confirmed no count
    assert call_upload_progress(upload=upload)["records_count_not_reported"] == 250
    assert WolkvoxRecord.objects.filter(campaign_id="42").count() == 250
    assert not CallRecord.objects.filter(uploaded_at=None).exists()
    for chunk in upload.chunks.all():
        assert chunk.sync_status == SyncStatus.SYNCED
        assert chunk.total_registers is None  # not reported
        assert chunk.sync_error == (
            gettext(
                "Wolkvox accepted these %(sent)d leads but did not say how many it added "
                "(count not reported)."
            )
            % {"sent": chunk.records_count}
        )


def test_count_not_reported_is_said_in_italian():
    msgid = (
        "Wolkvox accepted these %(sent)d leads but did not say how many it added "
        "(count not reported)."
    )
    with translation.override("it"):
        assert gettext(msgid) != msgid


@pytest.mark.parametrize(
    ("count", "confirmed"),
    [
        (4, 4),  # code 201 (a number), data an object, the count a number
        (5, 5),  # code "200", error "", the count as text
        (6, None),  # code 200, no error key, the count blank
        (7, None),  # data an object, the count null
    ],
)
def test_an_upload_answered_in_other_shapes_ends_done(deliver, campaign, knobs, count, confirmed):
    leads(campaign, count)
    knobs("wolkvox", answers="variant")
    with deliver():
        upload = call_upload_create(campaign=campaign)
    upload.refresh_from_db()
    chunk = upload.chunks.get()
    assert (upload.status, upload.records_sent) == (UploadStatus.DONE, count)
    assert (chunk.total_registers, upload.records_confirmed) == (confirmed, confirmed or 0)
    assert bool(chunk.sync_error) == (confirmed is None)


@pytest.mark.django_db
def test_a_refusal_told_in_a_200_answer_is_a_rejection(knobs):
    knobs("wolkvox", answers="variant")
    sandbox = WolkvoxClient(base_url=SANDBOX_BASE, token="sandbox-wolkvox-token")
    with pytest.raises(errors.ProviderRejected) as raised:
        sandbox.add_records(campaign_id="42", campaign_status="start", records=[{"tel1": ""}])
    assert raised.value.status == 200 and raised.value.code == "400"
    assert not WolkvoxRecord.objects.exists()


def test_a_chunk_whose_answer_cannot_be_read_waits_for_a_decision(deliver, campaign, monkeypatch):
    """An answer Vetrina cannot read may still mean the leads are in: the upload asks."""
    leads(campaign, 3)

    def garbled(self, response):
        raise self.drift(response, "data")

    monkeypatch.setattr(WolkvoxClient, "read_add_record", garbled)
    with deliver():
        upload = call_upload_create(campaign=campaign)
    upload.refresh_from_db()
    chunk = upload.chunks.get()
    assert chunk.sync_status == SyncStatus.FAILED and "[CONTRACT_DRIFT]" in chunk.sync_error
    assert upload.status == UploadStatus.ATTENTION
