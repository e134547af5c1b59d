"""Simulated Wolkvox add_record (`/api/v2/campaign.php?api=add_record&type_campaign=predictive`):
`wolkvox-token` header, a JSON array of records, at most 10,000 a call, at most 2 calls at a
time per token (a third is refused), and the document's answer shape."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.framework import sandbox_endpoint
from sandbox.models import WolkvoxRecord, WolkvoxTokenUse

PROVIDER = "wolkvox"
MAX_RECORDS = 10_000
MAX_CONCURRENT = 2
FIELDS = {
    "customer_name", "customer_last_name", "id_type", "customer_id", "age", "gender", "country",
    "state", "city", "zone", "address", *(f"opt{n}" for n in range(1, 13)),
    *(f"tel{n}" for n in range(1, 11)), "tel_extra", "email", "recall_date", "recall_telephone",
}  # fmt: skip


def answer(code: int, msg: str, *, error: str | None = None, data=None) -> JsonResponse:
    body = {"code": str(code), "error": error, "msg": msg, "data": data if data is not None else []}
    return JsonResponse(body, status=code)


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
        return answer(400, "Unknown api or type_campaign", error="Bad request")
    if not re.fullmatch(r"\d+", query.get("campaign_id", "")):
        return answer(400, "campaign_id is required", error="Bad request")
    if query.get("campaign_status") not in ("start", "stop"):
        return answer(400, "campaign_status must be start or stop", error="Bad request")
    token = hashlib.sha256(request.headers["wolkvox-token"].encode()).hexdigest()
    use, _ = WolkvoxTokenUse.objects.get_or_create(token_hash=token)
    entered = (
        WolkvoxTokenUse.objects.filter(pk=use.pk)
        .filter(Q(in_flight__lt=MAX_CONCURRENT))
        .update(in_flight=F("in_flight") + 1)
    )
    if not entered:
        return answer(429, "The token is already in use by 2 requests", error="Too many requests")
    WolkvoxTokenUse.objects.filter(pk=use.pk).update(
        max_in_flight=Greatest(F("max_in_flight"), F("in_flight"))
    )
    try:
        return _add_records(request, query["campaign_id"])
    finally:
        WolkvoxTokenUse.objects.filter(pk=use.pk).update(in_flight=F("in_flight") - 1)


def _add_records(request: HttpRequest, campaign_id: str) -> JsonResponse:
    if request.content_type != "application/json":
        return answer(400, "Content-Type must be application/json", error="Bad request")
    try:
        records = json.loads(request.body or b"null")
    except ValueError:
        return answer(400, "The body is not valid JSON", error="Bad request")
    if not isinstance(records, list) or not records:
        return answer(400, "The body must be a non-empty JSON array", error="Bad request")
    if len(records) > MAX_RECORDS:
        return answer(400, f"At most {MAX_RECORDS} records per request", error="Limit exceeded")
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict) or set(record) - FIELDS or not record.get("tel1"):
            return answer(400, f"Record {position} is not valid", error="Bad request")
        recall = record.get("recall_date") or ""
        if recall and not re.fullmatch(r"\d{14}", recall):
            return answer(
                400, f"Record {position}: recall_date is yyyymmddhhmmss", error="Bad request"
            )
    _store(campaign_id, records)
    return answer(
        201, "All records has been added successfully", data=[{"total_registers": len(records)}]
    )


def _store(campaign_id: str, records: list[dict]) -> None:
    """One executemany of plain rows: bulk_create built 10,000 model instances a call (half a
    second), the sandbox's own cost, not a provider's, which a 250,000-lead upload paid 25
    times."""
    meta = WolkvoxRecord._meta
    data = meta.get_field("data")
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column)
        for name in ("campaign_id", "tel1", "data", "added_at")
    )
    now = meta.get_field("added_at").get_db_prep_save(timezone.now(), connection)
    if connection.vendor == "sqlite":  # a JSON field is its JSON text there: encoded directly
        encode = partial(json.dumps, separators=(",", ":"))
    else:  # PostgreSQL's jsonb needs the driver's adapter
        encode = partial(data.get_db_prep_save, connection=connection)
    rows = [(campaign_id, r["tel1"], encode(r), now) for r in records]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s)",
            rows,
        )
