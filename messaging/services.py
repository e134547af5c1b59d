"""Push sends: draft → estimate → confirm → batches through the outbox → per-recipient
messages → delivery status. The admin wizard and the API call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Count, Q
from django.db.models.constants import OnConflict
from django.db.models.functions import Cast
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import AuditEvent, audit_event
from core.errors import ProviderError
from core.models import Operation, SyncStatus
from core.outbox import outbox_enqueue
from core.send_window import send_window_check
from loyalty.consent import consent_field, consent_gate
from loyalty.models import Audience, Channel, Customer
from loyalty.selectors import audience_customers
from loyalty.services import msisdn_normalise
from messaging.models import (
    PushBatch,
    PushInvitation,
    PushMessage,
    PushSend,
    SendStatus,
    SmsEncoding,
)
from messaging.smshosting import (
    DELIVERED,
    EXCLUDED,
    EXCLUDED_MESSAGE,
    FINAL_STATUSES,
    NOT_INSERTED,
    OPEN_STATUSES,
    PushRequest,
    message_values,
    smshosting_client,
)

# What a person gives for a send, in the order the form shows it: the admin's form and the API
# take these. The audiences are many-to-many, set once the send is saved (`shops`, `programs`
# below); the other fields are the ones push_send_create and push_send_update take. `audience`
# (a saved loyalty.Audience) replaces the numbers, groups, shops and programs.
SEND_INPUT_FIELDS = (
    "name",
    "audience",
    "recipients",
    "groups",
    "audience_shops",
    "audience_programs",
    "text",
    "image",
    "only_push",
    "sms_text",
    "sms_from",
    "sms_encoding",
    "send_at",
    "sandbox",
)
SEND_AUDIENCE_FIELDS = ("audience_shops", "audience_programs")
SEND_FIELDS = tuple(name for name in SEND_INPUT_FIELDS if name not in SEND_AUDIENCE_FIELDS)
GSM_SINGLE, GSM_MULTI, UCS2_SINGLE, UCS2_MULTI, MAX_PARTS = 160, 153, 70, 67, 5


# --- drafts --------------------------------------------------------------------------------
def push_send_validate(send: PushSend, *, shops=None, programs=None) -> None:
    """The document's rules, checked before SMSHosting sees anything. `shops`, `programs`: the
    card holders about to be chosen (None: those the saved send has)."""
    errors: dict[str, str] = {}
    if send.audience_id is not None and _has_other_recipients(send, shops, programs):
        errors["audience"] = _(
            "An audience replaces the numbers, the address-book groups and the card holders of "
            "shops or programs: leave those empty, or choose no audience."
        )
    if not send.text and not send.image:
        errors["text"] = _("The push needs a text or an image.")
    if not send.only_push:
        if not send.sms_text:
            errors["sms_text"] = _(
                "Without “push only”, the SMS text for who has no app is needed."
            )
        elif send.sms_encoding == SmsEncoding.GSM and not _is_gsm(send.sms_text):
            errors["sms_text"] = _(
                "The SMS text has characters that 7BIT cannot carry (e.g. emoji): remove them "
                "or choose UCS2 or AUTO."
            )
        elif _sms_parts(send.sms_text, send.sms_encoding) > MAX_PARTS:
            errors["sms_text"] = _("The SMS text is longer than 5 SMS.")
    if send.image and not send.image._committed:  # a new upload
        errors.update(_image_errors(send.image))
    if send.send_at and send.send_at <= timezone.now():
        errors["send_at"] = _("The deferred date must be in the future.")
    elif send.send_at and send.send_at > timezone.now() + timedelta(
        days=settings.PUSH_SCHEDULE_MAX_DAYS
    ):
        errors["send_at"] = _(
            "A push can be scheduled at most %(days)d days ahead: check the year."
        ) % {"days": settings.PUSH_SCHEDULE_MAX_DAYS}
    if not isinstance(send.groups, list) or not all(str(g).isdigit() for g in send.groups):
        errors["groups"] = _("Groups are address-book ids (numbers).")
    if not isinstance(send.recipients, list):
        errors["recipients"] = _("Numbers are a list.")
    if errors:
        raise ValidationError(errors)


# GSM 03.38: the basic set, and the extension characters that take two septets each.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def _is_gsm(text: str) -> bool:
    return set(text) <= GSM_BASIC | GSM_EXTENDED


def _sms_parts(text: str, encoding: str) -> int:
    """How many SMS the text takes, as the operator counts them. UCS2 counts UTF-16 units: a
    character outside the basic plane (most emoji) takes two."""
    if encoding == SmsEncoding.UCS2 or (encoding == SmsEncoding.AUTO and not _is_gsm(text)):
        length, single, multi = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_MULTI
    else:
        length = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, multi = GSM_SINGLE, GSM_MULTI
    return 1 if length <= single else -(-length // multi)


def _image_errors(image) -> dict[str, str]:
    """A push image's weight and pixels, within the limits every upload has (the format was
    checked when the file was read as an image)."""
    limit = settings.MEDIA_UPLOAD_MAX_BYTES
    if image.size > limit:
        return {
            "image": _("The image is %(size)s; the most accepted is %(limit)s.")
            % {"size": filesizeformat(image.size), "limit": filesizeformat(limit)}
        }
    if (image.width or 0) * (image.height or 0) > settings.MEDIA_IMAGE_MAX_PIXELS:
        return {
            "image": _("The image has too many pixels: the most accepted is %(limit)s million.")
            % {"limit": settings.MEDIA_IMAGE_MAX_PIXELS // 1_000_000}
        }
    return {}


def _has_other_recipients(send: PushSend, shops, programs) -> bool:
    if send.recipients or send.groups:
        return True
    if shops is None and send.pk:
        shops = send.audience_shops.exists()
    if programs is None and send.pk:
        programs = send.audience_programs.exists()
    return bool(shops) or bool(programs)


def push_send_create(*, shops=(), programs=(), user=None, **fields: Any) -> PushSend:
    unknown = set(fields) - set(SEND_FIELDS)
    if unknown:
        raise ValueError(f"Unknown fields: {', '.join(sorted(unknown))}")
    send = PushSend(**fields)
    send.full_clean()
    push_send_validate(send, shops=shops, programs=programs)
    with transaction.atomic():
        send.save()
        send.audience_shops.set(shops)
        send.audience_programs.set(programs)
    return send


def push_send_update(
    *, send: PushSend, data: dict[str, Any], shops=None, programs=None
) -> PushSend:
    """Change a send that has not gone out; any change asks for a new estimate."""
    if send.status not in (SendStatus.DRAFT, SendStatus.ESTIMATED):
        raise ValidationError(_("This send has already gone out and cannot change."))
    for name, value in data.items():
        if name not in SEND_FIELDS:
            raise ValueError(f"Not editable: {name}")
        setattr(send, name, value)
    send.full_clean()
    push_send_validate(send, shops=shops, programs=programs)
    send.status = SendStatus.DRAFT
    with transaction.atomic():
        send.save()
        if shops is not None:
            send.audience_shops.set(shops)
        if programs is not None:
            send.audience_programs.set(programs)
    return send


# --- recipients ----------------------------------------------------------------------------
def push_send_resolve(send: PushSend) -> tuple[list[str], dict[str, int]]:
    """The numbers to send to (SMSHosting's form) and how many were left out, and why.

    Explicit numbers and the card holders of the chosen shops and programs — or the customers
    of the send's audience — resolved now, all through the consent gate: only who gave push/SMS
    consent is kept."""
    numbers, excluded, _reach = _push_recipients(send)
    return numbers, excluded


def _push_recipients(send: PushSend) -> tuple[list[str], dict[str, int], dict[str, Any]]:
    """push_send_resolve's answer, and the audience's reach (empty without an audience)."""
    if send.audience_id is not None:
        return _push_audience_recipients(send.audience)
    numbers: list[str] = [str(raw) for raw in send.recipients]
    audience = Q()
    if send.pk and send.audience_shops.exists():
        audience |= Q(cards__shop__in=send.audience_shops.all())
    if send.pk and send.audience_programs.exists():
        audience |= Q(cards__program__in=send.audience_programs.all())
    holders: list[tuple[str, str]] = []
    if audience:
        # Holders of an active card of those shops or programs (one join: the active card is
        # the one there), with their consent, for the gate. The numbers as plain text (E.164,
        # validated when saved): through the phone field each one was parsed, validated and
        # formatted again, which took a 50,000-holder send most of its time. No ordering:
        # the customers' default one sorted the 50,000 rows by name for nothing.
        holders = list(
            Customer.objects.filter(audience, cards__active=True)
            .order_by()
            .values_list(Cast("msisdn", output_field=CharField()), consent_field(Channel.PUSH_SMS))
            .distinct()
        )
    gate = consent_gate(channel=Channel.PUSH_SMS, numbers=numbers, stored=holders)
    return gate.allowed, dict(gate.excluded), {}


def _push_audience_recipients(
    audience: Audience,
) -> tuple[list[str], dict[str, int], dict[str, Any]]:
    """An audience's customers through the push consent gate, and its reach: N in the
    audience, M with push/SMS consent. The do-not-call list (the opposition register) is about
    phone calls: it leaves nobody out of a push, and the reach says so (`do_not_call`: None)."""
    rows = list(
        audience_customers(audience)
        .order_by()
        .values_list(Cast("msisdn", output_field=CharField()), consent_field(Channel.PUSH_SMS))
    )
    gate = consent_gate(channel=Channel.PUSH_SMS, numbers=(), stored=rows)
    without = gate.excluded.get("no_consent", 0) + gate.excluded.get("withdrawn", 0)
    reach = {
        "audience_id": audience.pk,
        "audience": audience.name,
        "in_audience": len(rows),
        "with_consent": len(rows) - without,
        "do_not_call": None,
        "recipients": len(gate.allowed),
    }
    return gate.allowed, dict(gate.excluded), reach


def _push_request(
    send: PushSend, *, to: list[str], groups: list[int], transaction_id: str = ""
) -> PushRequest:
    image = None
    if send.image:
        with send.image.open("rb") as stored:
            image = (
                send.image.name.rsplit("/", 1)[-1],
                stored.read(),
                _image_type(send.image.name),
            )
    return PushRequest(
        to=to,
        groups=[int(g) for g in groups],
        text=send.text,
        image=image,
        only_push=send.only_push,
        sms_text=send.sms_text if not send.only_push else "",
        sms_from=send.sms_from if not send.only_push else "",
        sms_encoding=send.sms_encoding if not send.only_push else "",
        send_at=push_send_date(send),
        transaction_id=transaction_id,
        sandbox=send.sandbox,
    )


def _image_type(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "webp": "image/webp", "gif": "image/gif"}.get(suffix, "image/jpeg")


# --- estimate, confirm ---------------------------------------------------------------------
def push_send_estimate(*, send: PushSend) -> PushSend:
    """Ask SMSHosting what the send would cost (push/estimate). Nothing is sent."""
    if send.status not in (SendStatus.DRAFT, SendStatus.ESTIMATED):
        raise ValidationError(_("This send has already gone out."))
    push_send_validate(send)
    numbers, excluded, reach = _push_recipients(send)
    if not numbers and not send.groups:
        raise ValidationError(_push_no_recipient(reach))
    try:
        estimate = smshosting_client().estimate(_push_request(send, to=numbers, groups=send.groups))
    except ProviderError as exc:
        raise ValidationError(str(exc)) from exc
    send.estimate_cost = estimate.cost
    send.estimate_credit = estimate.user_credit
    send.estimate_sms = estimate.sms_count
    send.estimate_push = estimate.push_count
    send.estimate_push_available = estimate.push_available
    send.estimated_at = timezone.now()
    send.resolved_count, send.excluded, send.audience_reach = len(numbers), excluded, reach
    send.status = SendStatus.ESTIMATED
    send.error = ""
    send.save()
    return send


def push_send_confirm(
    *, send: PushSend, user=None, window_override: bool = False, window_override_reason: str = ""
) -> PushSend:
    """Send it: resolve the audience again, split it into batches, each its own push/send
    with its own transaction id, queued through the outbox in one transaction.

    Outside the send window (core.send_window) it is scheduled at the next opening
    (SMSHosting's `date`), with the reason on the send; `window_override` (the permission
    messaging.override_send_window, and a reason) sends it as asked."""
    with transaction.atomic():
        send = PushSend.objects.select_for_update().get(pk=send.pk)
        if send.status != SendStatus.ESTIMATED:
            raise ValidationError(
                _("Estimate the send first: its cost is shown before it goes out.")
            )
        _push_send_window(send, user=user, override=window_override, reason=window_override_reason)
        if send.estimate_push and send.estimate_push > (send.estimate_push_available or 0):
            raise ValidationError(_("Not enough pushes left in the SMSHosting plan for this send."))
        numbers, excluded, reach = _push_recipients(send)
        if not numbers and not send.groups:  # consent withdrawn since the estimate, say
            raise ValidationError(_push_no_recipient(reach))
        size = settings.PUSH_BATCH_SIZE
        chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)] or [[]]
        batches = [
            PushBatch(
                send=send,
                index=index,
                transaction_id=f"{send.transaction_id}-{index + 1}",
                recipients=chunk,
                groups=send.groups if index == 0 else [],
            )
            for index, chunk in enumerate(chunks)
        ]
        created = PushBatch.objects.bulk_create(batches)
        if not all(batch.pk for batch in created):  # a database that returns no ids
            created = PushBatch.objects.filter(send=send).select_related("send")
        for batch in created:
            outbox_enqueue(obj=batch, operation=Operation.CREATE)
        send.resolved_count, send.excluded, send.audience_reach = len(numbers), excluded, reach
        send.status = SendStatus.SENDING
        send.confirmed_by = user if user is not None and user.is_authenticated else None
        send.confirmed_at = timezone.now()
        send.save()
        audit_event(
            instance=send,
            event=AuditEvent.SENT,
            user=user,
            details={
                "recipients": len(numbers),
                "batches": len(batches),
                **({"outside_window": True} if send.window_override_reason else {}),
            },
        )
    return send


def _push_no_recipient(reach: dict[str, Any]) -> str:
    if reach:
        return (
            _(
                "Nobody in the audience “%(audience)s” can receive this push: %(in_audience)d in "
                "the audience, %(with_consent)d with push/SMS consent."
            )
            % reach
        )
    return _("The send has no recipient: add numbers, groups or an audience.")


def _push_send_window(send: PushSend, *, user, override: bool, reason: str) -> None:
    """The send window's decision, written on the send (saved by the caller)."""
    reason = (reason or "").strip()
    if override and not reason:
        raise ValidationError(
            {"window_override_reason": _("Say why the push must go outside the send window.")}
        )
    if override and not (user is not None and user.has_perm("messaging.override_send_window")):
        raise PermissionDenied(_("Only marketing may send outside the send window."))
    send.window_reason, send.window_override_reason, send.window_override_by = "", "", None
    check = send_window_check(send.send_at or timezone.now())
    if check.allowed:
        return
    if override:
        send.window_override_reason, send.window_override_by = reason, user
        send.window_reason = _("Sent outside the send window by %(user)s: %(reason)s") % {
            "user": user.get_username(),
            "reason": reason,
        }
        return
    send.send_at, send.window_reason = check.next_opening, check.reason


def push_send_date(send: PushSend) -> datetime | None:
    """The `date` a batch goes with, decided when it goes out: the scheduled time if still
    ahead; else now (None), unless the window has closed since (a retry at night): then the
    next opening. A send confirmed outside the window by marketing goes at once."""
    now = timezone.now()
    if send.send_at and send.send_at > now:
        return send.send_at
    if send.window_override_reason:
        return None
    check = send_window_check(now)
    return None if check.allowed else check.next_opening


# --- results -------------------------------------------------------------------------------
def push_batch_request(batch: PushBatch) -> PushRequest:
    return _push_request(
        batch.send, to=batch.recipients, groups=batch.groups, transaction_id=batch.transaction_id
    )


@dataclass(frozen=True)
class PreparedMessages:
    """A batch's message rows, ready for one INSERT (see push_batch_prepare)."""

    send_id: int
    batch_id: int
    columns: tuple[str, ...]  # PushMessage fields, in the order of each row
    rows: list[tuple]


_MESSAGE_FIELDS = ("remote_id", "msisdn", "status", "status_detail", "type")
_LATER_FIELDS = ("insert_date", "sent_date", "delivery_date", "price")  # push/search answers
_OUR_FIELDS = ("multimedia_id", "send", "batch", "updated_at")


def push_batch_prepare(*, batch: PushBatch, answer: list[dict[str, Any]]) -> PreparedMessages:
    """The message rows of a batch from what SMSHosting said of each recipient (`answer`: the
    messages of its push/send answer, or of push/search, as they came); the ones it left out of
    a push-only send (no push app) become not inserted, so every number is accounted for.

    Plain values, not 1,000 model instances (nor a SentMessage apiece): the outbox handler
    prepares them right after the call, before the transaction that records the success takes
    the database's write lock, which every other writer waits for. A push/send answer has no
    dates or prices: then those columns are left out (NULL)."""
    ops = connection.ops
    price = PushMessage._meta.get_field("price")
    messages: dict[str, tuple] = {}
    for raw in answer:
        values = message_values(raw)
        messages[values[1]] = values
    for number in batch.recipients:
        if number not in messages:
            messages[number] = EXCLUDED_MESSAGE
    later = any(m[5] or m[6] or m[7] or m[8] is not None for m in messages.values())

    def when(value: datetime | None) -> Any:
        return None if value is None else ops.adapt_datetimefield_value(value)

    now = when(timezone.now())
    rows = []
    for number, message in messages.items():
        remote_id, _to, status, detail, kind, inserted, sent, delivered, cost, media = message
        if later:
            if cost is not None:
                cost = ops.adapt_decimalfield_value(cost, price.max_digits, price.decimal_places)
            dates = (when(inserted), when(sent), when(delivered), cost)
        else:
            dates = ()
        rows.append(
            (remote_id, number, status, detail, kind, *dates, media, batch.send_id, batch.pk, now)
        )
    columns = _MESSAGE_FIELDS + (_LATER_FIELDS if later else ()) + _OUR_FIELDS
    return PreparedMessages(send_id=batch.send_id, batch_id=batch.pk, columns=columns, rows=rows)


def push_batch_record(
    *,
    batch_id: int,
    answer: list[dict[str, Any]] | None = None,
    prepared: PreparedMessages | None = None,
) -> None:
    """Store the messages of a batch (`prepared` by push_batch_prepare, or from `answer`), in
    one INSERT, then settle the send. A number this send already reached keeps its first row
    (unique per send and number), so a batch recorded twice is counted once."""
    if prepared is None or prepared.batch_id != batch_id:
        batch = PushBatch.objects.only("send_id", "recipients").get(pk=batch_id)
        prepared = push_batch_prepare(batch=batch, answer=answer or [])
    _push_messages_insert(prepared)
    push_send_settle(send_id=prepared.send_id)


def _push_messages_insert(prepared: PreparedMessages) -> None:
    """INSERT … VALUES (…), (…) … ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite): one
    statement for the batch (a multi-row VALUES binds faster than an executemany)."""
    ops = connection.ops
    meta = PushMessage._meta
    fields = [meta.get_field(name) for name in prepared.columns]
    row_marks = "({})".format(", ".join(["%s"] * len(fields)))
    per_statement = max(
        1, min(connection.features.max_query_params or 65_535, 65_535) // len(fields)
    )
    with connection.cursor() as cursor:
        for start in range(0, len(prepared.rows), per_statement):
            chunk = prepared.rows[start : start + per_statement]
            cursor.execute(
                "{} {} ({}) VALUES {} {}".format(
                    ops.insert_statement(on_conflict=OnConflict.IGNORE),
                    ops.quote_name(meta.db_table),
                    ", ".join(ops.quote_name(f.column) for f in fields),
                    ", ".join([row_marks] * len(chunk)),
                    ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None) or "",
                ),
                [value for row in chunk for value in row],
            )


def push_send_settle(*, send_id: int, committed: bool = False) -> None:
    """Once no batch is waiting, the send is sent (or failed, if every batch failed).

    Called in the transaction that records a batch's outcome. On PostgreSQL the last two
    batches may be recorded at once, each seeing the other still waiting: so while batches are
    waiting it looks again once the transaction has committed, when at least the later of the
    two sees both. It only ever writes a final status."""
    if committed:
        with transaction.atomic():  # on SQLite: the lock first, then the reads
            _push_send_settle(send_id, committed=True)
    else:
        _push_send_settle(send_id, committed=False)


def _push_send_settle(send_id: int, *, committed: bool) -> None:
    batches = PushBatch.objects.filter(send_id=send_id)
    if batches.filter(sync_status=SyncStatus.PENDING).exists():
        if not committed:
            transaction.on_commit(partial(push_send_settle, send_id=send_id, committed=True))
        return  # every batch but the last stops here, with one indexed look
    counts = batches.aggregate(
        failed=Count("id", filter=Q(sync_status=SyncStatus.FAILED)), total=Count("id")
    )
    if counts["failed"] == counts["total"]:
        error = batches.values_list("sync_error", flat=True).first()
        PushSend.objects.filter(pk=send_id).update(status=SendStatus.FAILED, error=error or "")
    else:
        # A failed send whose batch a person sent again (and which got through) is sent too.
        PushSend.objects.filter(
            pk=send_id, status__in=(SendStatus.SENDING, SendStatus.FAILED)
        ).update(status=SendStatus.SENT, error="")


def push_send_counts(send: PushSend) -> dict[str, Any]:
    return push_send_counts_many([send.pk])[send.pk]


def push_send_counts_many(send_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The counts of several sends in two queries (a list page, not two queries per send)."""
    by_send: dict[int, dict[str, int]] = {pk: {} for pk in send_ids}
    for send_id, status, n in (
        PushMessage.objects.filter(send_id__in=send_ids)
        .values_list("send_id", "status")
        .annotate(n=Count("id"))
    ):
        by_send[send_id][status] = n
    batches = {
        row["send_id"]: row
        for row in PushBatch.objects.filter(send_id__in=send_ids)
        .values("send_id")
        .annotate(total=Count("id"), done=Count("id", filter=~Q(sync_status=SyncStatus.PENDING)))
    }
    return {pk: _counts(by_status, batches.get(pk, {})) for pk, by_status in by_send.items()}


def _counts(by_status: dict[str, int], batches: dict[str, int]) -> dict[str, Any]:
    total = sum(by_status.values())
    delivered = by_status.get(DELIVERED, 0)
    final = sum(n for status, n in by_status.items() if status in FINAL_STATUSES)
    reached = total - by_status.get(NOT_INSERTED, 0)
    return {
        "total": total,
        "by_status": by_status,
        "final": final,
        "delivered": delivered,
        "delivery_rate": round(100 * delivered / reached) if reached else 0,
        "batches": batches.get("total", 0),
        "batches_done": batches.get("done", 0),
    }


# --- delivery status -----------------------------------------------------------------------
def push_status_refresh(*, sends=None, now: datetime | None = None) -> int:
    """Bring PENDING/SENT messages up to date from push/search, batch by batch, until final."""
    client = smshosting_client()
    batches = PushBatch.objects.filter(
        send__status=SendStatus.SENT, messages__status__in=OPEN_STATUSES
    ).distinct()
    if sends is not None:
        batches = batches.filter(send__in=sends)
    updated = 0
    for batch in batches.filter(send__sandbox=False):
        current = {m.id: m for m in client.search_all(transaction_id=batch.transaction_id)}
        changed = []
        for message in batch.messages.filter(status__in=OPEN_STATUSES).exclude(remote_id=""):
            remote = current.get(message.remote_id)
            if remote is None or remote.status == message.status:
                continue
            message.status = remote.status
            message.sent_date, message.delivery_date = remote.sent_date, remote.delivery_date
            message.price = remote.price if remote.price is not None else message.price
            message.multimedia_id = remote.multimedia_id or message.multimedia_id
            changed.append(message)
        PushMessage.objects.bulk_update(
            changed,
            ["status", "sent_date", "delivery_date", "price", "multimedia_id", "updated_at"],
            batch_size=1000,
        )
        updated += len(changed)
    return updated


# --- invitations ---------------------------------------------------------------------------
def push_invitation_create(*, msisdn: str) -> PushInvitation:
    number = msisdn_normalise(msisdn).as_e164.lstrip("+")
    try:
        url = smshosting_client().invitation(number)
    except ProviderError as exc:
        raise ValidationError(str(exc)) from exc
    return PushInvitation.objects.create(msisdn=number, url=url)


def push_invitations_for_unreachable(*, send: PushSend) -> int:
    """An invitation link for every recipient of a send that push could not reach."""
    numbers = send.messages.filter(status=NOT_INSERTED, status_detail=EXCLUDED).values_list(
        "msisdn", flat=True
    )
    created = 0
    for number in numbers:
        if not PushInvitation.objects.filter(msisdn=number).exists():
            push_invitation_create(msisdn="+" + number)
            created += 1
    return created
