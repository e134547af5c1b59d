"""Wolkvox client (`../shared/api-docs/wolkvox-callcenter-records.txt`): add_record on a
predictive campaign.

POST `{base}/campaign.php?api=add_record&type_campaign=predictive&campaign_id=…&campaign_status=…`
with the headers `wolkvox_server`, `wolkvox-token` and `Content-Type: application/json` and a
JSON array of records; answer `{"code": "201", "error": null, "msg": …, "data":
[{"total_registers": …}]}`. Limits: at most 10,000 records a call, 2 calls at a time per token,
60 s a call, licences × 1,000 calls a day. `recall_date` is `yyyymmddhhmmss`.

Wolkvox has no read-only call (the document shows add_record only): the preflight check can
only see that the base URL and the token are set (`wolkvox_preflight`)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.db.models import F, QuerySet, TextField, Value
from django.db.models.functions import Cast, JSONObject
from django.utils.translation import gettext_lazy as _

from core import errors
from core.http import ProviderClient, Response, Session, provider_client
from core.preflight import ProviderPreflight, provider_preflight
from core.provider_settings import provider_setting, provider_settings

# What the client is made from: WOLKVOX_BASE_URL, WOLKVOX_TOKEN (and WOLKVOX_SERVER if set).
SETTINGS = ("BASE_URL", "TOKEN")
MAX_RECORDS_PER_CALL = 10_000
# add_record's record, in the document's order: a lead (callcenter.models.CallRecord) has a
# field of each name, so a record is a lead's fields as they are, but for the recall date.
RECORD_FIELDS = (
    *("customer_name", "customer_last_name", "id_type", "customer_id", "age", "gender"),
    *("country", "state", "city", "zone", "address", *(f"opt{n}" for n in range(1, 13))),
    *(f"tel{n}" for n in range(1, 11)),
    *("tel_extra", "email", "recall_date", "recall_telephone"),
)
CALL_TIMEOUT_SECONDS = 60.0
RECALL_FORMAT = "%Y%m%d%H%M%S"
WOLKVOX_TZ = ZoneInfo("Europe/Rome")  # the operation's local time
# The document's URL is `https://wv{{wolkvox_server}}.wolkvox.com/api/v2/…`: the server's name
# is the part of the host between "wv" and ".wolkvox.com".
SERVER_HOST = re.compile(r"wv(?P<server>[^.]+)\.wolkvox\.com", re.IGNORECASE)
# A count as text: "3", or "3.0" from a float turned into text.
WHOLE_NUMBER = re.compile(r"(?P<digits>\d+)(?:\.0*)?")
STATUS_CODE = re.compile(r"[1-5]\d\d")


def format_recall(value: datetime | None) -> str:
    return value.astimezone(WOLKVOX_TZ).strftime(RECALL_FORMAT) if value else ""


def wolkvox_server(base_url: str, configured: str = "") -> str:
    """The operation's server name for the `wolkvox_server` header: the setting if given, else
    the `{{wolkvox_server}}` part of a `https://wv{server}.wolkvox.com/…` base URL, else ""
    (the sandbox: the header is then left out)."""
    if configured.strip():
        return configured.strip()
    match = SERVER_HOST.fullmatch(urlsplit(base_url).hostname or "")
    return match["server"] if match else ""


@dataclass(frozen=True)
class EncodedRecords:
    """Records ready to send: counted, and encoded as the JSON array add_record takes. A chunk
    is encoded before a Wolkvox slot is taken: 10,000 leads take a while to encode, and only
    two calls may be in flight."""

    count: int
    body: bytes


def encode_records(records: list[dict[str, str]]) -> EncodedRecords:
    _check_count(len(records))
    # Compact separators: a tenth less to encode, send and parse for 10,000 records.
    body = json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode()
    return EncodedRecords(len(records), body)


def _check_count(count: int) -> None:
    if count > MAX_RECORDS_PER_CALL:
        raise ValueError(f"At most {MAX_RECORDS_PER_CALL} records a call, got {count}")


def lead_records(
    leads: QuerySet,
    *,
    withheld: Collection[str] = (),
    withheld_from: Sequence[str] = (),
    recall_date: datetime | None = None,
) -> list[dict[str, Any]]:
    """The leads as add_record's records, built here: the recall date in RECALL_FORMAT (in
    Wolkvox's time) — `recall_date`, the upload's, for every lead when given, else the lead's
    own — and blank any of the `withheld_from` fields that holds a `withheld` number."""
    # Plain rows, not model instances: a chunk is 10,000 leads.
    rows = leads.values_list(*RECORD_FIELDS)
    records = [dict(zip(RECORD_FIELDS, row, strict=True)) for row in rows]  # faster than .values()
    # Each row is already the record to send: it is completed in place.
    for record in records:
        record["recall_date"] = format_recall(recall_date or record["recall_date"])
        if withheld:
            for name in withheld_from:
                if record[name] in withheld:
                    record[name] = ""
    return records


def encode_stored_leads(
    leads: QuerySet, *, recall_date: datetime | None = None
) -> EncodedRecords | None:
    """The leads as add_record's JSON array written by the database, when every lead goes as
    stored, or with the same `recall_date` (the upload's); None when a lead has a recall date
    of its own to format (`lead_records` builds those). The database writes each record's
    JSON (in C): five times faster than fetching 370,000 values, building dicts and encoding
    them here."""
    if recall_date is None and leads.filter(recall_date__isnull=False).exists():
        return None
    recall = Value(format_recall(recall_date))
    wire = JSONObject(
        **{name: recall if name == "recall_date" else F(name) for name in RECORD_FIELDS}
    )
    texts = list(leads.annotate(wire=Cast(wire, TextField())).values_list("wire", flat=True))
    _check_count(len(texts))
    return EncodedRecords(len(texts), f"[{','.join(texts)}]".encode())


class WolkvoxClient(ProviderClient):
    provider = "wolkvox"

    def __init__(self, *, base_url: str, token: str, server: str = "", **timeouts: float) -> None:
        self._token = token
        self.server = wolkvox_server(base_url, server)
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        # The document's request: "CURLOPT_HTTPHEADER => array('wolkvox_server:
        # {{wolkvox_server}}', 'wolkvox-token: {{wolkvox-token}}', 'Content-Type:
        # application/json')". Its text names only the token header; its example sends the
        # server's name too, so we do whenever it is known.
        if self.server:
            session.headers["wolkvox_server"] = self.server
        session.headers["wolkvox-token"] = self._token

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response)
        if not isinstance(body, dict):
            return "", ""
        return str(body.get("code") or ""), _text(body.get("msg")) or _text(body.get("error"))

    def add_records(
        self,
        *,
        campaign_id: str,
        campaign_status: str,
        records: list[dict[str, str]] | EncodedRecords,
    ) -> int | None:
        """Send up to 10,000 records; return Wolkvox's `total_registers`, or None when its
        success answer did not say how many it added ("count not reported")."""
        if not isinstance(records, EncodedRecords):
            records = encode_records(records)
        if campaign_status not in ("start", "stop"):
            raise ValueError("campaign_status is start or stop")
        return self.request(
            "POST",
            "campaign.php",
            operation="add_record",
            params={
                "api": "add_record",
                "type_campaign": "predictive",
                "campaign_id": campaign_id,
                "campaign_status": campaign_status,
            },
            data=records.body,
            headers={"Content-Type": "application/json"},
            read=self.read_add_record,
        )

    # --- reading add_record's answer ----------------------------------------------------------
    # The document's only answer (its "RESPONSE" block), a success:
    #     {"code": "201", "error": null, "msg": "All records has been added successfully",
    #      "data": [{"total_registers": " "}]}
    # and its response table: "total_registers  Total de registros añadidos  int". The example
    # contradicts the table (a blank text, not an int), and the document shows no error answer
    # and no HTTP status ("Posibles códigos de respuesta" is followed by nothing). So:
    #   code            "201" as in the example; also 201 and any other 2xx ("200", 200), as
    #                   text or number. The document lists no other code: a 1xx/3xx-5xx code
    #                   is the provider's refusal, typed as the same HTTP status would be.
    #   error           null as in the example; a missing key, "" or false read as no error.
    #                   Text there with a refusing code (or no code) is a refusal; text with a
    #                   success code contradicts itself: drift (the leads may be in).
    #   data            a list of one object as in the example; also the object itself.
    #   total_registers the table's int as a number or as numeric text ("3", " 3 ", "3.0").
    #                   The example's " " — or null, or any other non-numeric text — with a
    #                   success code means the records were accepted but not counted: None,
    #                   "count not reported", never an unknown outcome.
    # Anything else (no code, no data, no total_registers key, a list or object where a
    # value was expected, several data entries) cannot be read: a ContractDrift naming the
    # field; the call log keeps the answer's shape.
    def read_add_record(self, response: Response) -> int | None:
        body = self.json(response)  # not JSON: a garbled or cut answer, checked like a lost one
        if not isinstance(body, dict):
            raise self.drift(
                response,
                "answer",
                message=_("Wolkvox's answer to add_record is not a JSON object."),
            )
        status = _answer_code(body.get("code"))
        error = body.get("error")
        has_error = error not in (None, False) and not (
            isinstance(error, str) and not error.strip()
        )
        if status is None or not 200 <= status < 300:
            if status is None and not (has_error and isinstance(error, str)):
                raise self.drift(
                    response,
                    "code",
                    message=_("Wolkvox's answer to add_record has no readable code."),
                )
            raise self.refusal(body, status, response.status_code)
        if has_error:
            raise self.drift(
                response,
                "error",
                message=_(
                    "Wolkvox answered add_record with a success code and an error at once: the "
                    "leads may have been added."
                ),
            )
        return self._total_registers(response, body.get("data"))

    def _total_registers(self, response: Response, data: Any) -> int | None:
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, dict):
            raise self.drift(
                response,
                "data",
                message=_("Wolkvox's answer to add_record has no readable data."),
            )
        if "total_registers" not in data:
            raise self.drift(
                response,
                "data.total_registers",
                message=_("Wolkvox's answer to add_record has no total_registers."),
            )
        total = data["total_registers"]
        if total is None:
            return None
        if isinstance(total, str):
            count = WHOLE_NUMBER.fullmatch(total.strip())
            if not count:
                return None  # " " (the document's example) or other text: not reported
            digits = count["digits"].lstrip("0") or "0"
            total = int(digits) if len(digits) <= 9 else -1  # -1: too long for any count
        elif isinstance(total, float) and total.is_integer():
            total = int(total)
        # A count above what one call may carry is no count of this call's records (and would
        # not fit the chunk's column).
        is_count = isinstance(total, int) and not isinstance(total, bool)
        if is_count and 0 <= total <= MAX_RECORDS_PER_CALL:
            return total
        raise self.drift(
            response,
            "data.total_registers",
            message=_("Wolkvox's total_registers is not a count of records."),
        )

    def refusal(self, body: dict, status: int | None, http_status: int) -> errors.ProviderError:
        """An error told in a 2xx answer: typed as the same HTTP status would be."""
        message = _text(body.get("msg")) or _text(body.get("error"))
        by_status = self.status_class(status) if status is not None else None
        cls = by_status or errors.ProviderRejected
        return cls(
            message or None,
            provider=self.provider,
            code=str(status) if status is not None else "ERROR_IN_ANSWER",
            status=http_status,
        )


def _answer_code(code: Any) -> int | None:
    """The answer's `code` as a number ("201" or 201), or None when it is not a status code."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        text = str(code)
    elif isinstance(code, float) and code.is_integer():
        text = str(int(code))
    elif isinstance(code, str):
        text = code.strip()
    else:
        return None
    return int(text) if STATUS_CODE.fullmatch(text) else None


def _text(value: Any) -> str:
    """A provider's message, only when it is text (never a structure's values)."""
    return value.strip()[:500] if isinstance(value, str) else ""


def wolkvox_client() -> WolkvoxClient:
    return provider_client(
        WolkvoxClient,
        read_timeout=CALL_TIMEOUT_SECONDS,  # "Límite de tiempo de consumo del API: 60 segundos"
        **provider_settings(WolkvoxClient.provider, *SETTINGS),
        # empty: derived from the base URL's host
        server=provider_setting(WolkvoxClient.provider, "SERVER", default=""),
    )


def wolkvox_preflight() -> ProviderPreflight:
    """What `checkproviders` checks for Wolkvox: its settings only, there is no read call."""
    return provider_preflight(
        WolkvoxClient.provider,
        "Wolkvox",
        needs=SETTINGS,
        probes=lambda: [],
        no_read_call=_("Wolkvox has no read-only call: only the URL and token are checked."),
    )
