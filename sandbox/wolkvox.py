"""Simulated Wolkvox add_record (`/api/v2/campaign.php?api=add_record&type_campaign=predictive`):
`wolkvox-token` header, a JSON array of records, at most 10,000 a call, at most 2 calls at a
time per token (a third is refused), and the document's answer shape.

The `answers` knob: "" answers `total_registers` as the count of records added; "document"
answers exactly the document's example (`"total_registers": " "`, a blank); "variant" answers
other shapes a real Wolkvox may use (a number for `code`, an object for `data`, the count as
text, no `error` key, an error told in a 200 answer)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.framework import answer_style, sandbox_endpoint
from sandbox.models import WolkvoxRecord, WolkvoxTokenUse
from sandbox.routers import sandbox_connection

PROVIDER = "wolkvox"
MAX_RECORDS = 10_000
MAX_CONCURRENT = 2
FIELDS = {
    "customer_name", "customer_last_name", "id_type", "customer_id", "age", "gender", "country",
    "state", "city", "zone", "address", *(f"opt{n}" for n in range(1, 13)),
    *(f"tel{n}" for n in range(1, 11)), "tel_extra", "email", "recall_date", "recall_telephone",
}  # fmt: skip


SUCCESS_MSG = "All records has been added successfully"
# The document's "RESPONSE" block, verbatim.
DOCUMENT_ANSWER = {
    "code": "201",
    "error": None,
    "msg": SUCCESS_MSG,
    "data": [{"total_registers": " "}],
}


def answer(code: int, msg: str, *, error: str | None = None, data=None) -> JsonResponse:
    body = {"code": str(code), "error": error, "msg": msg, "data": data if data is not None else []}
    return JsonResponse(body, status=code)


def refuse(request: HttpRequest, code: int, msg: str, *, error: str) -> JsonResponse:
    """An error answer; in "variant" mode told in a 200 answer, as many PHP APIs do, the code
    a number."""
    if answer_style(request) == "variant":
        return JsonResponse({"code": code, "error": error, "msg": msg, "data": []}, status=200)
    return answer(code, msg, error=error)


def added(request: HttpRequest, count: int) -> JsonResponse:
    """The success answer in the knob's style. The variants take turns by the number of
    records, so a test picks one by the size of its chunk."""
    style = answer_style(request)
    if style == "document":
        return JsonResponse(DOCUMENT_ANSWER, status=200)
    if style == "variant":
        variants = (
            # code a number, data an object, the count a number
            {"code": 201, "error": None, "msg": SUCCESS_MSG, "data": {"total_registers": count}},
            # code "200", error blank, the count as text
            {
                "code": "200",
                "error": "",
                "msg": SUCCESS_MSG,
                "data": [{"total_registers": str(count)}],
            },
            # no error key, code a number, the count left empty
            {"code": 200, "msg": SUCCESS_MSG, "data": [{"total_registers": ""}]},
            # the count null, data an object
            {"code": "201", "error": None, "msg": SUCCESS_MSG, "data": {"total_registers": None}},
        )
        return JsonResponse(variants[count % len(variants)], status=200)
    return answer(201, SUCCESS_MSG, data=[{"total_registers": count}])


def token_auth(request: HttpRequest) -> HttpResponse | None:
    expected = settings.SANDBOX_AUTH[PROVIDER]["token"]
    given = request.headers.get("wolkvox-token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return answer(401, "Invalid token", error="Unauthorized")
    return None


@sandbox_endpoint(PROVIDER, methods=("POST",), auth=token_auth)
def campaign_php(request: HttpRequest) -> HttpResponse:
    query = request.GET
    if query.get("api") != "add_record" or query.get("type_campaign") != "predictive":
        return refuse(request, 400, "Unknown api or type_campaign", error="Bad request")
    if not re.fullmatch(r"\d+", query.get("campaign_id", "")):
        return refuse(request, 400, "campaign_id is required", error="Bad request")
    if query.get("campaign_status") not in ("start", "stop"):
        return refuse(request, 400, "campaign_status must be start or stop", error="Bad request")
    token = hashlib.sha256(request.headers["wolkvox-token"].encode()).hexdigest()
    use, _ = WolkvoxTokenUse.objects.get_or_create(token_hash=token)
    entered = (
        WolkvoxTokenUse.objects.filter(pk=use.pk)
        .filter(Q(in_flight__lt=MAX_CONCURRENT))
        .update(in_flight=F("in_flight") + 1)
    )
    if not entered:
        return refuse(
            request, 429, "The token is already in use by 2 requests", error="Too many requests"
        )
    WolkvoxTokenUse.objects.filter(pk=use.pk).update(
        max_in_flight=Greatest(F("max_in_flight"), F("in_flight"))
    )
    try:
        return _add_records(request, query["campaign_id"])
    finally:
        WolkvoxTokenUse.objects.filter(pk=use.pk).update(in_flight=F("in_flight") - 1)


def _add_records(request: HttpRequest, campaign_id: str) -> JsonResponse:
    if request.content_type != "application/json":
        return refuse(request, 400, "Content-Type must be application/json", error="Bad request")
    try:
        records = json.loads(request.body or b"null")
    except ValueError:
        return refuse(request, 400, "The body is not valid JSON", error="Bad request")
    if not isinstance(records, list) or not records:
        return refuse(request, 400, "The body must be a non-empty JSON array", error="Bad request")
    if len(records) > MAX_RECORDS:
        return refuse(
            request, 400, f"At most {MAX_RECORDS} records per request", error="Limit exceeded"
        )
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not record.keys() <= FIELDS or not record.get("tel1"):
            return refuse(request, 400, f"Record {position} is not valid", error="Bad request")
        recall = record.get("recall_date") or ""
        if recall and not re.fullmatch(r"\d{14}", recall):
            return refuse(
                request,
                400,
                f"Record {position}: recall_date is yyyymmddhhmmss",
                error="Bad request",
            )
    _store(campaign_id, _array_text(request.body, records))
    return added(request, len(records))


def _array_text(body: bytes, records: list[dict]) -> str:
    """The checked array as JSON text: the body itself, unless it is not UTF-8."""
    try:
        return body.decode()
    except UnicodeDecodeError:  # JSON may come as UTF-16 or UTF-32 too
        return json.dumps(records, ensure_ascii=False)


def _store(campaign_id: str, array: str) -> None:
    """One INSERT … SELECT over the array's elements: the database splits the checked body and
    stores each lead's JSON. Encoding 10,000 leads one by one here took longer than the call's
    500 ms, the sandbox's own cost, not a provider's, paid 25 times by a 250,000-lead upload."""
    connection = sandbox_connection()
    meta = WolkvoxRecord._meta
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column)
        for name in ("campaign_id", "tel1", "data", "added_at")
    )
    now = meta.get_field("added_at").get_db_prep_save(timezone.now(), connection)
    if connection.vendor == "postgresql":
        elements = "SELECT %s, lead->>'tel1', lead, %s FROM jsonb_array_elements(%s::jsonb) lead"
    else:  # SQLite: each element's value is its JSON text, what a JSON field holds there
        elements = "SELECT %s, json_extract(value, '$.tel1'), value, %s FROM json_each(%s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) {elements}",
            [campaign_id, now, array],
        )
