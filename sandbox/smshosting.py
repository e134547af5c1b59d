"""Simulated SMSHosting push API (`/rest/api/push/...`): HTTP Basic, form or multipart bodies,
`yyyy-MM-ddTHH:mm:ssZ` dates, the document's errorMsg codes, credit and push quota that run
out, and message statuses that move on with time (PENDING → SENT → DELIVERED/…).

Who can get a push: a number whose last digit is even has a push app; the others can only be
reached by SMS (`onlyPush=false`) and are left out of a push-only send. Numbers ending in 9 end
NOTDELIVERED, numbers ending in 00 NOSENT; every other message ends DELIVERED.

The answer-style knob (`answer_style`): "" the usual answers; "document" each answer built on
the document's printed example for its endpoint, key for key and type for type (push/search's
messages with only the keys its example prints: no from, price or type, no null dates; whole
numbers as whole numbers: `"cost":0`), with the sandbox's values in place of the example's;
"variant" the other shapes a real SMSHosting may send and the client reads: ids, counts and
amounts as text, ISO dates with "+01:00", no `metadata` block on push/search, a null
`multimediaContent`, and an unknown image under a code the client does not know, recognised
by its words ("Immagine non trovata")."""

from __future__ import annotations

import base64
import math
import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.framework import SandboxError, answer_style, basic_auth, sandbox_endpoint
from sandbox.models import SmsAccount, SmsGroup, SmsMessage, SmsMultimedia
from sandbox.routers import sandbox_atomic, sandbox_connection

PROVIDER = "smshosting"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
ROME = ZoneInfo("Europe/Rome")
SMS_PRICE = Decimal("0.065")
GSM_CHARS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
MSISDN = re.compile(r"\d{10,15}")  # international digits, as the document writes them
STATUSES = ("PENDING", "SENT", "NOSENT", "DELIVERED", "NOTDELIVERED")


def endpoint(*methods: str):
    return sandbox_endpoint(PROVIDER, methods=methods, auth=basic_auth(PROVIDER))


def fail(code: str) -> SandboxError:
    return SandboxError(400, {"errorCode": 400, "errorMsg": code})


def account() -> SmsAccount:
    found = SmsAccount.objects.first()
    if found is None:
        found = SmsAccount.objects.create()
        SmsGroup.objects.create(pk=1, name="Amici", members=["393480000002", "393480000004"])
        SmsGroup.objects.create(
            pk=2, name="Clienti negozio", members=["393480000006", "393480000011"]
        )
    return found


def has_push_app(msisdn: str) -> bool:
    return int(msisdn[-1]) % 2 == 0


def sms_parts(text: str, encoding: str) -> int:
    if encoding == "AUTO":
        encoding = "7BIT" if set(text) <= GSM_CHARS else "UCS2"
    single, multi = (160, 153) if encoding == "7BIT" else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


# --- request parsing: the document's rules, in its order of errors --------------------------
def _form(request: HttpRequest) -> Any:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise SandboxError(415, {"errorCode": 415, "errorMsg": "UNSUPPORTED_MEDIA_TYPE"})
    return request.POST


def _parse_push(request: HttpRequest, *, for_send: bool) -> dict[str, Any]:
    form = _form(request)
    acct = account()
    if not acct.push_plan_active:
        raise fail("PUSH_UNAVAILABLE")
    transaction_id = form.get("transactionId", "")
    if for_send and len(transaction_id) > 60:
        raise fail("BAD_TRANSACTIONID")
    send_at = None
    if for_send and form.get("date"):
        try:
            send_at = datetime.strptime(form["date"], DATE_FORMAT)  # noqa: DTZ007 (%z)
        except ValueError:
            raise fail("BAD_DATE") from None
    text, image = form.get("text", ""), request.FILES.get("file")
    if not text and image is None:
        raise fail("BAD_CONTENT_PUSH")
    encoding = form.get("smsEncoding", "7BIT")
    if encoding not in ("7BIT", "UCS2", "AUTO"):
        raise fail("BAD_ENCODING")
    only_push = form.get("onlyPush", "true").lower() != "false"
    sms_text = form.get("smsText", "")
    if not only_push and (not sms_text or sms_parts(sms_text, encoding) > 5):
        raise fail("BAD_TEXT")
    sender = form.get("smsFrom", "")
    if sender and not re.fullmatch(r"\+?\d{6,16}|[A-Za-z0-9]{1,11}", sender):
        raise fail("BAD_FROM")
    numbers: list[str] = [n.strip() for n in form.get("to", "").split(",") if n.strip()]
    for group_id in [g.strip() for g in form.get("group", "").split(",") if g.strip()]:
        group = SmsGroup.objects.filter(pk=int(group_id) if group_id.isdigit() else 0).first()
        if group is None:
            raise fail("BAD_GROUP")
        numbers.extend(group.members)
    seen, recipients, bad = set(), [], []
    for number in numbers:
        if number in seen:
            continue
        seen.add(number)
        (recipients if MSISDN.fullmatch(number) else bad).append(number)
    push_to = [n for n in recipients if has_push_app(n)]
    sms_to = [] if only_push else [n for n in recipients if not has_push_app(n)]
    if not push_to and not sms_to:
        raise fail("NO_VALID_RECIPIENT")
    parts = sms_parts(sms_text, encoding) if sms_to else 0
    return {
        "account": acct,
        "transaction_id": transaction_id or secrets.token_hex(16),
        "send_at": send_at,
        "text": text,
        "image": image,
        "sms_text": sms_text,
        "sender": sender,
        "push_to": push_to,
        "sms_to": sms_to,
        "bad": bad,
        "cost": SMS_PRICE * parts * len(sms_to),
        "parts": parts,
        "sandbox": form.get("sandbox", "").lower() == "true",
    }


def _number(value: Decimal, style: str) -> Any:
    """An amount: a float; "document" prints a whole one as a whole number (`"cost":0`),
    "variant" sends it as text."""
    value = Decimal(value)
    if style == "variant":
        return str(value)
    if style == "document" and value == value.to_integral_value():
        return int(value)
    return float(value)


@endpoint("POST")
def push_estimate(request: HttpRequest) -> HttpResponse:
    push = _parse_push(request, for_send=False)
    style = answer_style(request)
    counted = str if style == "variant" else int
    return JsonResponse(
        {
            "cost": _number(push["cost"], style),
            "userCredit": _number(push["account"].credit, style),
            "smsCount": counted(len(push["sms_to"])),
            "pushCount": counted(len(push["push_to"])),
            "pushAvailable": counted(push["account"].push_available),
        }
    )


@endpoint("POST")
def push_send(request: HttpRequest) -> HttpResponse:
    push = _parse_push(request, for_send=True)
    acct = push["account"]
    if push["cost"] > acct.credit:
        raise fail("BAD_CREDIT")
    if len(push["push_to"]) > acct.push_available:
        raise fail("NO_PUSH")
    now = timezone.now().replace(microsecond=0)
    answer = [
        {"to": n, "status": "NOT_INSERTED", "statusDetail": "BADNUMBERFORMAT"} for n in push["bad"]
    ]
    with sandbox_atomic():
        multimedia = ""
        if push["image"] is not None and not push["sandbox"]:
            multimedia = base64.urlsafe_b64encode(secrets.token_bytes(6)).decode()
            SmsMultimedia.objects.create(
                key=multimedia,
                content=push["image"].read(),
                content_type=push["image"].content_type,
            )
        created: list[tuple[str, str]] = []  # (type, number)
        for kind, numbers in (("PUSH", push["push_to"]), ("SMS", push["sms_to"])):
            text = push["text"] if kind == "PUSH" else push["sms_text"]
            duplicates = _sent_within_a_day(numbers, text=text, sender=push["sender"], now=now)
            for number in numbers:
                if number in duplicates:
                    answer.append(
                        {
                            "to": number,
                            "status": "NOT_INSERTED",
                            "statusDetail": "DUPLICATESMS",
                            "type": kind,
                        }
                    )
                else:
                    created.append((kind, number))
        if push["sandbox"]:  # validated and answered, never sent: nothing is kept
            for index, (kind, number) in enumerate(created):
                answer.append(
                    {"id": 900000000 + index, "to": number, "status": "INSERTED", "type": kind}
                )
        else:
            stored = _messages_insert(push, created, multimedia=multimedia, now=now)
            answer.extend(
                {"id": pk, "to": number, "status": "INSERTED", "type": kind}
                for pk, number, kind in sorted(stored)
            )
            sms_count = sum(1 for kind, _number in created if kind == "SMS")
            push_count = len(created) - sms_count
            SmsAccount.objects.filter(pk=acct.pk).update(
                credit=F("credit") - SMS_PRICE * push["parts"] * sms_count,
                push_available=F("push_available") - push_count,
            )
    inserted = [m for m in answer if m["status"] == "INSERTED"]
    counts = {
        "smsInserted": sum(1 for m in inserted if m.get("type") == "SMS"),
        "smsNotInserted": len(answer) - len(inserted),
        "pushInserted": sum(1 for m in inserted if m.get("type") == "PUSH"),
    }
    if answer_style(request) == "variant":  # counts and ids as text, null ids
        counts = {key: str(n) for key, n in counts.items()}
        answer = [{**m, "id": None if m.get("id") is None else str(m["id"])} for m in answer]
    return JsonResponse({"transactionId": push["transaction_id"], **counts, "sms": answer})


_MESSAGE_COLUMNS = (
    "transaction_id",
    "to",
    "text",
    "sender",
    "type",
    "price",
    "insert_date",
    "send_date",
    "multimedia_id",
)


def _chunk_size(columns: int) -> int:
    """How many rows of `columns` values one statement may carry (SQLite: often 32,766
    parameters, or 999 when built without the raised limit; PostgreSQL: 65,535)."""
    limit = sandbox_connection().features.max_query_params or 65_535
    return max(1, min(limit, 65_535) // columns)


def _sent_within_a_day(numbers: list[str], *, text: str, sender: str, now: datetime) -> set[str]:
    """The numbers that got this same text from this sender in the last 24 hours
    (DUPLICATESMS). Plain SQL: the ORM's IN of 1,000 numbers cost more than running it, and it
    runs while this request holds the database's write lock."""
    connection = sandbox_connection()
    ops = connection.ops
    table, to = ops.quote_name(SmsMessage._meta.db_table), ops.quote_name("to")
    since = ops.adapt_datetimefield_value(now - timedelta(hours=24))
    found: set[str] = set()
    size = _chunk_size(1) - 3
    with connection.cursor() as cursor:
        for start in range(0, len(numbers), size):
            chunk = numbers[start : start + size]
            cursor.execute(
                f"SELECT {to} FROM {table} WHERE text = %s AND sender = %s"  # noqa: S608
                f" AND insert_date >= %s AND {to} IN ({', '.join(['%s'] * len(chunk))})",
                [text, sender, since, *chunk],
            )
            found.update(number for (number,) in cursor.fetchall())
    return found


def _messages_insert(
    push: dict[str, Any], created: list[tuple[str, str]], *, multimedia: str, now: datetime
) -> list[tuple[int, str, str]]:
    """Record the accepted messages; answer (id, number, type) of each. A multi-row INSERT …
    RETURNING of plain values: a model instance per message (bulk_create) cost more than the
    rest of the call, and the ids come back without reading the rows again."""
    if not created:
        return []
    connection = sandbox_connection()
    ops = connection.ops
    meta = SmsMessage._meta
    price = meta.get_field("price")
    columns = ", ".join(ops.quote_name(meta.get_field(name).column) for name in _MESSAGE_COLUMNS)
    row_marks = "({})".format(", ".join(["%s"] * len(_MESSAGE_COLUMNS)))
    inserted = ops.adapt_datetimefield_value(now)
    sent = ops.adapt_datetimefield_value(push["send_at"] or now)

    def cost(value: Decimal) -> Any:
        return ops.adapt_decimalfield_value(value, price.max_digits, price.decimal_places)

    # After the transaction id and the number, what a message carries, by its type.
    carries = {
        kind: (text, push["sender"], kind, charged, inserted, sent, media)
        for kind, text, charged, media in (
            ("PUSH", push["text"], cost(Decimal(0)), multimedia),
            ("SMS", push["sms_text"], cost(SMS_PRICE), ""),
        )
    }
    transaction_id = push["transaction_id"]
    stored: list[tuple[int, str, str]] = []
    size = _chunk_size(len(_MESSAGE_COLUMNS))
    with connection.cursor() as cursor:
        for start in range(0, len(created), size):
            chunk = created[start : start + size]
            values: list[Any] = []
            for kind, number in chunk:
                values += (transaction_id, number, *carries[kind])
            cursor.execute(
                f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns})"  # noqa: S608
                f" VALUES {', '.join([row_marks] * len(chunk))}"
                f" RETURNING {ops.quote_name('id')}, {ops.quote_name('to')}, type",
                values,
            )
            stored.extend(cursor.fetchall())
    return stored


def status_of(message: SmsMessage, now: datetime) -> tuple[str, datetime | None, datetime | None]:
    """Where a message stands now: (status, sent date, delivery date)."""
    step = timedelta(seconds=settings.SANDBOX_SMSHOSTING_STEP_SECONDS)
    if now < message.send_date + step:
        return "PENDING", None, None
    sent = message.send_date + step
    if message.to.endswith("00"):
        return "NOSENT", None, None
    if now < sent + step:
        return "SENT", sent, None
    if message.to.endswith("9"):
        return "NOTDELIVERED", sent, None
    return "DELIVERED", sent, sent + step


def _when(value: datetime | None) -> str | None:
    return timezone.localtime(value, ROME).strftime(DATE_FORMAT) if value else None


def _message_out(message: SmsMessage, now: datetime, style: str = "") -> dict[str, Any]:
    status, sent, delivered = status_of(message, now)
    if style == "document":  # the keys of the document's example, in its order; no nulls
        out = {
            "id": message.pk,
            "to": message.to,
            "text": message.text,
            "status": status,
            "insertDate": _when(message.insert_date),
            "sentDate": _when(sent),
            "deliveryDate": _when(delivered),
            "transactionId": message.transaction_id,
        }
        if message.multimedia_id:
            out["multimediaContent"] = {"id": message.multimedia_id, "type": "IMAGE"}
        return {key: value for key, value in out.items() if value is not None}
    out = {
        "id": message.pk,
        "to": message.to,
        "text": message.text,
        "from": message.sender,
        "status": status,
        "insertDate": _when(message.insert_date),
        "sentDate": _when(sent),
        "deliveryDate": _when(delivered),
        "transactionId": message.transaction_id,
        "price": float(message.price),
        "type": message.type,
    }
    if message.multimedia_id:
        out["multimediaContent"] = {"id": message.multimedia_id, "type": "IMAGE"}
    if style == "variant":
        out["id"] = str(message.pk)
        out["price"] = str(message.price)
        for key in ("insertDate", "sentDate", "deliveryDate"):
            if out[key]:
                out[key] = f"{out[key][:-2]}:{out[key][-2:]}"  # "+0100" → "+01:00"
        out.setdefault("multimediaContent", None)
    return out


@endpoint("GET")
def push_search(request: HttpRequest) -> HttpResponse:
    if not account().push_plan_active:
        raise fail("PUSH_UNAVAILABLE")
    query = request.GET
    if not any(query.get(name) for name in ("id", "transactionId", "msisdn", "fromDate", "status")):
        raise fail("NO_PARAMS")
    messages = SmsMessage.objects.order_by("pk")
    if query.get("id"):
        ids = query["id"].split(",")
        if not all(i.strip().isdigit() for i in ids):
            raise fail("BAD_ID")
        messages = messages.filter(pk__in=[int(i) for i in ids])
    if query.get("transactionId"):
        messages = messages.filter(transaction_id=query["transactionId"])
    if query.get("msisdn"):
        if not query["msisdn"].isdigit():
            raise fail("BAD_MSISDN")
        messages = messages.filter(to=query["msisdn"])
    for name, lookup in (("fromDate", "insert_date__gte"), ("toDate", "insert_date__lte")):
        if query.get(name):
            try:
                when = datetime.strptime(query[name], DATE_FORMAT)  # noqa: DTZ007 (%z)
            except ValueError:
                raise fail("BAD_DATE") from None
            messages = messages.filter(**{lookup: when})
    status = query.get("status", "")
    if status and status not in STATUSES:
        raise fail("BAD_STATUS")
    try:
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
    except ValueError:
        raise fail("BAD_ID") from None
    now = timezone.now()
    if status:  # the status moves with time, so it is filtered after computing it
        matching = [m for m in messages if status_of(m, now)[0] == status]
        count, page = len(matching), matching[offset : offset + limit]
    else:
        count, page = messages.count(), list(messages[offset : offset + limit])
    style = answer_style(request)
    listed = [_message_out(m, now, style) for m in page]
    if style == "variant":  # no metadata: the client reads on to an empty page
        return JsonResponse({"smsList": listed})
    return JsonResponse(
        {"metadata": {"count": count, "offset": offset, "limit": limit}, "smsList": listed}
    )


@endpoint("GET")
def push_multimedia(request: HttpRequest, media_id: str) -> HttpResponse:
    if not media_id:
        raise fail("NO_PARAMS")
    image = SmsMultimedia.objects.filter(key=media_id).first()
    if image is None:
        if answer_style(request) == "variant":  # a code the client does not know, in words
            raise SandboxError(
                400,
                {
                    "errorCode": 400,
                    "errorMsg": "RESOURCE_ERROR",
                    "errorDescription": "Immagine non trovata",
                },
            )
        raise fail("BAD_ID")
    return HttpResponse(bytes(image.content), content_type=image.content_type)


@endpoint("POST")
def push_invitation(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not account().push_plan_active:
        raise fail("PUSH_UNAVAILABLE")
    to = form.get("to", "")
    if not to:
        raise fail("NO_PARAMS")
    if not MSISDN.fullmatch(to):
        raise fail("BAD_TO")
    return JsonResponse({"to": to, "url": f"cqui.it/{secrets.token_urlsafe(4)}"})
