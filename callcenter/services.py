"""Leads and their uploads to Wolkvox: the admin, the API and the imports call these."""

from __future__ import annotations

import logging
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache, partial
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import CharField, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from callcenter.forms import CallRecordForm
from callcenter.models import (
    RECORD_PHONE_FIELDS,
    CallCampaign,
    CallRecord,
    CallUpload,
    CallUploadChunk,
    LeadSource,
    UploadStatus,
)
from callcenter.tasks import call_upload_resume_task
from callcenter.wolkvox import (
    MAX_RECORDS_PER_CALL,
    EncodedRecords,
    encode_records,
    encode_stored_leads,
    lead_records,
)
from core.models import Operation, SyncStatus
from core.outbox import outbox_enqueue, outbox_mark_delivered, outbox_resend
from core.provider_settings import provider_setting
from core.selectors import outbox_failed_entries, outbox_has_unknown_outcome
from core.send_window import send_window_check
from loyalty.consent import consent_field, consent_gate
from loyalty.models import Audience, Channel, ConsentState, FidelityCard, MovementAction
from loyalty.selectors import audience_customers

logger = logging.getLogger("vetrina.callcenter")
FIELD_NAMES = CallRecordForm.Meta.fields
MARK_UPLOADED_BATCH = 1_000
SECONDARY_PHONE_FIELDS = tuple(name for name in RECORD_PHONE_FIELDS if name != "tel1")


@dataclass
class LeadReport:
    created: int = 0
    merged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def valid(self) -> int:
        return self.created + self.merged


def _form_errors(form: CallRecordForm) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())


@lru_cache(maxsize=64)
def _lead_form(columns: tuple[str, ...]) -> type[CallRecordForm]:
    """The lead form with only a file's columns (tel1 always): a form copies each of its
    fields when it is made, and a file has a few of the 37, so one form per row costs a third
    of the full one's time. Columns left out are blank, as in the full form."""
    return forms.modelform_factory(CallRecord, form=CallRecordForm, fields=columns)


def lead_row_clean(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """One row of a lead file checked: (its lead's fields, "") or (None, the reason)."""
    unknown = sorted(set(row) - set(FIELD_NAMES))
    if unknown:
        return None, _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}
    form = _lead_form(tuple(n for n in FIELD_NAMES if n in row or n == "tel1"))(
        data={k: ("" if v is None else str(v).strip()) for k, v in row.items()}
    )
    if not form.is_valid():
        return None, _form_errors(form)
    data = {name: form.cleaned_data.get(name) for name in FIELD_NAMES}
    return {k: ("" if v is None and k != "recall_date" else v) for k, v in data.items()}, ""


def call_records_save(
    *,
    campaign: CallCampaign,
    rows: Iterable[tuple[int, dict[str, Any]]],
    source: str,
    dry_run: bool = False,
    on_saved: Callable[[LeadReport], None] | None = None,
) -> LeadReport:
    """Validate every row; save the valid ones (a lead with a phone already in the campaign is
    merged into it); report each invalid row with its line and reason. A bad row is never
    partly saved. With dry_run, nothing is saved. `on_saved(report)` runs in the transaction
    that saves the leads (an import job records its report with them)."""
    report = LeadReport()
    cleaned: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        data, error = lead_row_clean(row)
        if data is None:
            report.errors.append((line, error))
            continue
        cleaned[data["tel1"]] = data  # the same phone twice in a file: the last row wins
    existing = {
        r.tel1: r for r in CallRecord.objects.filter(campaign=campaign, tel1__in=list(cleaned))
    }
    report.merged = len(existing)
    report.created = len(cleaned) - len(existing)
    if dry_run:
        return report
    with transaction.atomic():
        CallRecord.objects.bulk_create(
            [
                CallRecord(campaign=campaign, source=source, **data)
                for tel, data in cleaned.items()
                if tel not in existing
            ],
            batch_size=2000,
        )
        for tel, record in existing.items():
            for name, value in cleaned[tel].items():
                if value not in ("", None):  # merging fills in, never blanks a known field
                    setattr(record, name, value)
        CallRecord.objects.bulk_update(list(existing.values()), list(FIELD_NAMES), batch_size=1000)
        if on_saved is not None:
            on_saved(report)
    return report


def call_records_from_inactive_cards(*, campaign: CallCampaign, shop, days: int) -> LeadReport:
    """Leads of the card holders of a shop who have not earned points for `days` days."""
    since = timezone.now() - timedelta(days=days)
    cards = (
        FidelityCard.objects.filter(
            shop=shop, active=True, customer__isnull=False, customer__erased_at=None
        )
        .annotate(last_add=Max("movements__date", filter=Q(movements__action=MovementAction.ADD)))
        .filter(Q(last_add__lt=since) | Q(last_add__isnull=True))
        .select_related("customer")
    )
    rows = [
        (
            index,
            {
                "customer_name": card.customer.name,
                "customer_last_name": card.customer.surname,
                "tel1": str(card.customer.msisdn),
                "email": card.customer.email,
                "opt1": card.code,
                "opt2": str(card.points),
            },
        )
        for index, card in enumerate(cards, start=1)
    ]
    return call_records_save(campaign=campaign, rows=rows, source=LeadSource.VETRINA)


@dataclass(frozen=True)
class AudienceCallReach:
    """Who of an audience a call list may reach, now: N in the audience, M whose call consent
    allows a call, K of those on the do-not-call list. `allowed`: the numbers that pass the
    calls gate (international digits); `excluded`: reason → how many, as an upload reports."""

    audience: str
    in_audience: int
    with_consent: int
    do_not_call: int
    allowed: list[str]
    excluded: dict[str, int]
    contacts: dict[str, tuple[str, str, str]]  # number → (name, surname, email)


def call_audience_reach(*, audience: Audience) -> AudienceCallReach:
    """An audience's customers through the calls consent gate. A call is allowed unless the
    customer withdrew call consent (loyalty.consent); of those, the gate leaves out who is on
    the do-not-call list (and an invalid or repeated number)."""
    rows = list(
        audience_customers(audience)
        .order_by()
        .values_list(
            Cast("msisdn", output_field=CharField()),
            consent_field(Channel.CALLS),
            "name",
            "surname",
            "email",
        )
    )
    consenting = [
        (number, state) for number, state, *_rest in rows if state != ConsentState.WITHDRAWN
    ]
    gate = consent_gate(channel=Channel.CALLS, numbers=(), stored=consenting)
    excluded = Counter(gate.excluded)
    if len(rows) > len(consenting):
        excluded["withdrawn"] += len(rows) - len(consenting)
    return AudienceCallReach(
        audience=audience.name,
        in_audience=len(rows),
        with_consent=len(consenting),
        do_not_call=gate.excluded.get("do_not_call", 0),
        allowed=gate.allowed,
        excluded=dict(excluded),
        contacts={number.lstrip("+"): tuple(rest) for number, _state, *rest in rows if number},
    )


@dataclass(frozen=True)
class AudienceLeadReport:
    reach: AudienceCallReach
    leads: LeadReport


def call_records_from_audience(
    *, campaign: CallCampaign, audience: Audience, dry_run: bool = False
) -> AudienceLeadReport:
    """Leads of an audience's customers whom the calls gate allows (call consent not withdrawn,
    not on the do-not-call list): N in the audience, M with consent, K on the do-not-call list,
    and the leads added or merged (a phone already in the campaign is merged, filling in what
    it lacks, never blanking it). The upload passes its leads through the gate again, so
    consent withdrawn meanwhile still counts. With dry_run, nothing is saved: the report says
    what adding them would do.

    The customers' data was validated when saved (numbers in E.164), so the leads are built
    from it directly, not through the lead form a file's rows need: 100,000 customers through
    the form took a minute."""
    reach = call_audience_reach(audience=audience)
    leads: dict[str, dict[str, str]] = {}
    for number in reach.allowed:
        name, surname, email = reach.contacts.get(number, ("", "", ""))
        leads[number] = {
            "customer_name": name or "",
            "customer_last_name": surname or "",
            "email": email or "",
            "opt1": audience.name,
        }
    existing: dict[str, CallRecord] = {}
    numbers = list(leads)
    for start in range(0, len(numbers), _LOOKUP_CHUNK):
        chunk = numbers[start : start + _LOOKUP_CHUNK]
        for record in CallRecord.objects.filter(campaign=campaign, tel1__in=chunk):
            existing[record.tel1] = record
    report = LeadReport(created=len(leads) - len(existing), merged=len(existing))
    if dry_run:
        return AudienceLeadReport(reach=reach, leads=report)
    fields = list(next(iter(leads.values()), {}))
    with transaction.atomic():
        CallRecord.objects.bulk_create(
            [
                CallRecord(campaign=campaign, source=LeadSource.VETRINA, tel1=number, **data)
                for number, data in leads.items()
                if number not in existing
            ],
            batch_size=2000,
        )
        changed = []
        for number, record in existing.items():
            # Merging fills in, never blanks a known field; a lead already up to date (the
            # same audience added again) is not written again.
            news = {name: value for name, value in leads[number].items() if value}
            if any(getattr(record, name) != value for name, value in news.items()):
                for name, value in news.items():
                    setattr(record, name, value)
                changed.append(record)
        if changed:
            CallRecord.objects.bulk_update(changed, fields, batch_size=1000)
    return AudienceLeadReport(reach=reach, leads=report)


_LOOKUP_CHUNK = 900  # SQLite allows 999 parameters a query


# A preparation interrupted this many times (its process died, or it failed) is given up.
UPLOAD_PREPARE_MAX_ATTEMPTS = 5


class _PreparationTaken(Exception):
    """The preparation is no longer this process's: its lease ran out and another took over."""


def _prepare_lease_seconds() -> float:
    """How long a preparer may go without a sign of life before it counts as dead:
    CALL_UPLOAD_LEASE_SECONDS, else the outbox's lease up to two minutes. The lease is renewed
    with every chunk and every third of it, so it need only outlast one page of leads."""
    configured = settings.CALL_UPLOAD_LEASE_SECONDS
    return float(configured or min(120, settings.OUTBOX["LEASE_SECONDS"]))


def call_upload_create(
    *,
    campaign: CallCampaign,
    records=None,
    user=None,
    recall_date=None,
    window_override: bool = False,
    window_override_reason: str = "",
) -> CallUpload:
    """Send leads to Wolkvox through the consent gate (withdrawn call consent, do-not-call
    list), in chunks of at most WOLKVOX_CHUNK_SIZE, each its own outbox entry.

    `recall_date`: Wolkvox's recall date for every lead of the upload (in the future, within
    the send window). Outside the send window (core.send_window) the chunks are made now and
    wait in the outbox until the next opening (`send_after`, the reason on the upload);
    `window_override` (the permission callcenter.override_send_window, and a reason) sends
    them at once.

    The leads are read and checked a chunk's worth at a time, and each chunk is committed —
    and so goes out — as soon as it is full: the first call to Wolkvox starts while the rest
    of a 250,000-lead upload is still being read and checked. Until the last chunk is made the
    upload is `preparing`, and does not count as sent whatever its chunks say.

    The preparation holds a lease, renewed as it goes, and each chunk commits how far it got:
    if this process dies (or the preparation fails), the sweeper has it resumed after the last
    committed chunk (`call_uploads_sweep`), and no lead is placed twice."""
    window = _upload_window(
        user=user,
        recall_date=recall_date,
        override=window_override,
        reason=window_override_reason,
    )
    selection = None if records is None else sorted(set(records.values_list("id", flat=True)))
    token = uuid.uuid4().hex
    upload = CallUpload.objects.create(
        campaign=campaign,
        recall_date=recall_date,
        **window,
        created_by=user if user is not None and user.is_authenticated else None,
        status=UploadStatus.SENDING,
        preparing=True,
        selection=selection,
        preparer=token,
        prepare_lease_until=timezone.now() + timedelta(seconds=_prepare_lease_seconds()),
        prepare_attempts=1,
    )
    _upload_prepare(upload.pk, token)
    upload.refresh_from_db()
    return upload


def _upload_window(*, user, recall_date, override: bool, reason: str) -> dict[str, Any]:
    """The send window's decision for a new upload (its fields), or the reason it cannot
    start: a recall date in the past or outside the window, an override without a reason or
    by someone other than marketing."""
    reason = (reason or "").strip()
    if override and not reason:
        raise ValidationError(
            {"window_override_reason": _("Say why the leads must go outside the send window.")}
        )
    if override and not (user is not None and user.has_perm("callcenter.override_send_window")):
        raise PermissionDenied(_("Only marketing may send outside the send window."))
    if recall_date is not None:
        if recall_date <= timezone.now():
            raise ValidationError({"recall_date": _("The recall date must be in the future.")})
        recall = send_window_check(recall_date)
        if not recall.allowed and not override:
            raise ValidationError(
                {
                    "recall_date": _("The recall date is outside the send window: %(reason)s")
                    % {"reason": recall.reason}
                }
            )
    check = send_window_check(timezone.now())
    if check.allowed:
        return {}
    if override:
        return {
            "window_override_reason": reason,
            "window_override_by": user,
            "window_reason": _("Sent outside the send window by %(user)s: %(reason)s")
            % {"user": user.get_username(), "reason": reason},
        }
    return {"send_after": check.next_opening, "window_reason": check.reason}


def call_upload_window_wait(upload: CallUpload) -> tuple[Any, str] | None:
    """Whether the upload's chunks must wait before going out, and until when and why: until
    `send_after`, or — the window having closed since (a retry at night) — its next opening.
    None: they may go now."""
    now = timezone.now()
    if upload.send_after and upload.send_after > now:
        return upload.send_after, upload.window_reason
    if upload.window_override_reason:
        return None
    check = send_window_check(now)
    return None if check.allowed else (check.next_opening, check.reason)


def _upload_prepare(upload_id: int, token: str) -> None:
    """Prepare the upload while the claim `token` is ours. A failure is logged and leaves the
    upload to the sweeper at once (the user is not shown an error for what will be resumed)."""
    try:
        _upload_prepare_run(upload_id, token)
    except _PreparationTaken:
        logger.warning("Lead upload %s: another process took its preparation over", upload_id)
    except Exception:
        logger.exception("Lead upload %s: preparation failed; the sweeper resumes it", upload_id)
        with suppress(DatabaseError):  # the database itself failed: the lease runs out instead
            CallUpload.objects.filter(pk=upload_id, preparer=token, preparing=True).update(
                prepare_lease_until=timezone.now()
            )


def _upload_prepare_run(upload_id: int, token: str) -> None:
    """Check and chunk the upload's leads from where its last committed chunk left them.

    A page never holds more leads than the chunk being filled has room for, so a chunk is
    always completed at the end of a page: committed with it, every lead up to the page's last
    is placed (in a chunk, or counted in `excluded`). Leads checked after the last chunk are
    simply checked again by a resumed preparation."""
    upload = CallUpload.objects.get(pk=upload_id)
    size = min(provider_setting("wolkvox", "CHUNK_SIZE"), MAX_RECORDS_PER_CALL)
    lease = _prepare_lease_seconds()
    through = upload.prepared_through
    excluded: Counter = Counter(upload.excluded or {})
    index = upload.chunks_total
    seen = _numbers_examined(upload, through)  # a number twice goes once, with its first lead
    kept: list[int] = []
    renewed = time.monotonic()
    while True:
        reached, page = _lead_page(upload, after=through, limit=size - len(kept))
        if not reached:
            break
        ids, numbers = [], []
        for lead_id, number in page:
            if number in seen:
                excluded["duplicate"] += 1
                continue
            seen.add(number)
            ids.append(lead_id)
            numbers.append(number)
        if numbers:
            gate = consent_gate(channel=Channel.CALLS, numbers=numbers, normalised=True)
            excluded.update(gate.excluded)
            allowed = set(gate.allowed)
            kept.extend(i for i, number in zip(ids, numbers, strict=True) if number in allowed)
        through = reached
        if len(kept) >= size:
            _upload_chunk_add(
                upload, token, index=index, record_ids=kept, through=through, excluded=excluded
            )
            kept, index, renewed = [], index + 1, time.monotonic()
        elif time.monotonic() - renewed > lease / 3:
            _prepare_renew(upload.pk, token)
            renewed = time.monotonic()
    if kept:
        _upload_chunk_add(
            upload, token, index=index, record_ids=kept, through=through, excluded=excluded
        )
    with transaction.atomic():
        finished = CallUpload.objects.filter(pk=upload.pk, preparer=token, preparing=True).update(
            preparing=False,
            excluded=dict(excluded),
            prepared_through=through,
            preparer="",
            prepare_lease_until=None,
        )
        if not finished:
            raise _PreparationTaken(upload.pk)
        call_upload_settle(upload_id=upload.pk)


def _lead_page(upload: CallUpload, *, after: int, limit: int) -> tuple[int, list[tuple[int, str]]]:
    """The upload's next `limit` leads after lead `after`, in id order, as (id, tel1), and the
    lead id the page reaches (0: there are no more). Keyset: no cursor stays open while the
    chunks before are committed."""
    if upload.selection is None:
        rows = list(
            CallRecord.objects.filter(campaign_id=upload.campaign_id, id__gt=after)
            .order_by("id")
            .values_list("id", "tel1")[:limit]
        )
        return (rows[-1][0] if rows else 0), rows
    start = bisect_right(upload.selection, after)
    ids = upload.selection[start : start + limit]
    if not ids:
        return 0, []
    rows = list(CallRecord.objects.filter(records_of(ids)).order_by("id").values_list("id", "tel1"))
    return ids[-1], rows  # a lead deleted since is simply not there


def _numbers_examined(upload: CallUpload, through: int) -> set[str]:
    """The numbers of the leads a resumed preparation already went past. A campaign holds each
    number once, so only a chosen list of leads can repeat one."""
    if upload.selection is None or not through:
        return set()
    ids = upload.selection[: bisect_right(upload.selection, through)]
    numbers: set[str] = set()
    for start in range(0, len(ids), MAX_RECORDS_PER_CALL):
        batch = ids[start : start + MAX_RECORDS_PER_CALL]
        numbers.update(CallRecord.objects.filter(records_of(batch)).values_list("tel1", flat=True))
    return numbers


def records_of(record_ids: list[int]) -> Q:
    """The leads with these ids (ascending). A chunk's leads are usually one run of ids — a
    campaign's leads are imported together — and then they are looked up as a range, not as
    10,000 parameters."""
    if record_ids and record_ids[-1] - record_ids[0] + 1 == len(record_ids):
        return Q(id__gte=record_ids[0], id__lte=record_ids[-1])
    return Q(id__in=record_ids)


def _prepare_renew(upload_id: int, token: str) -> None:
    """A sign of life: the preparation's lease, renewed while it is still ours."""
    lease_until = timezone.now() + timedelta(seconds=_prepare_lease_seconds())
    if not CallUpload.objects.filter(pk=upload_id, preparer=token, preparing=True).update(
        prepare_lease_until=lease_until
    ):
        raise _PreparationTaken(upload_id)


def _upload_chunk_add(
    upload: CallUpload,
    token: str,
    *,
    index: int,
    record_ids: list[int],
    through: int,
    excluded: Counter,
) -> None:
    """One chunk and its outbox entry, in a transaction of their own with how far the
    preparation got and a renewed lease: on commit it goes out. Only while the preparation is
    still ours: a preparer whose lease ran out and was taken over adds nothing."""
    lease_until = timezone.now() + timedelta(seconds=_prepare_lease_seconds())
    with transaction.atomic():
        ours = CallUpload.objects.filter(pk=upload.pk, preparer=token, preparing=True).update(
            chunks_total=F("chunks_total") + 1,
            records_total=F("records_total") + len(record_ids),
            prepared_through=through,
            excluded=dict(excluded),
            prepare_lease_until=lease_until,
        )
        if not ours:
            raise _PreparationTaken(upload.pk)
        chunk = CallUploadChunk.objects.create(
            upload=upload, index=index, record_ids=record_ids, records_count=len(record_ids)
        )
        outbox_enqueue(obj=chunk, operation=Operation.CREATE)


# --- nothing stays stuck -------------------------------------------------------------------------
def call_uploads_sweep(*, now=None) -> dict[str, int]:
    """Beat: pick up what a dead process left behind.

    An upload still preparing whose lease ran out (its preparer died, or failed) is resumed by
    a worker after its last committed chunk (`call_upload_resume_task`); one interrupted
    UPLOAD_PREPARE_MAX_ATTEMPTS times is given up, failed with the reason. An upload still
    *sending* with no chunk left to deliver (its process died before its status was written)
    gets its final status. The chunks themselves are outbox entries: the outbox's sweeper
    takes care of them, and a confirmed chunk is never sent again."""
    now = now or timezone.now()
    expired = CallUpload.objects.filter(_lease_ran_out(now), preparing=True)
    counts = {"resumed": 0, "given_up": 0, "settled": 0}
    for upload_id, attempts in expired.values_list("id", "prepare_attempts"):
        if attempts >= UPLOAD_PREPARE_MAX_ATTEMPTS:
            counts["given_up"] += _upload_prepare_give_up(upload_id, now=now)
            continue
        try:
            call_upload_resume_task.delay(upload_id)
        except (KombuOperationalError, OSError) as exc:
            logger.warning("Broker unavailable (%s); lead upload %s waits", exc, upload_id)
            continue
        counts["resumed"] += 1
    pending = CallUploadChunk.objects.filter(upload=OuterRef("pk"), sync_status=SyncStatus.PENDING)
    unsettled = CallUpload.objects.filter(status=UploadStatus.SENDING, preparing=False).exclude(
        Exists(pending)
    )
    for upload_id in unsettled.values_list("id", flat=True):
        call_upload_settle(upload_id=upload_id)
        counts["settled"] += 1
    return counts


def _lease_ran_out(now) -> Q:
    """A preparation nobody holds: its lease ran out (or it never had one)."""
    return Q(prepare_lease_until__lt=now) | Q(prepare_lease_until__isnull=True)


def call_upload_resume(*, upload_id: int) -> bool:
    """Take over an upload whose preparer died (its lease ran out) and finish preparing it.
    Safe to run twice, or at once in two workers: one claims it, the other does nothing."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = CallUpload.objects.filter(
        _lease_ran_out(now),
        pk=upload_id,
        preparing=True,
        prepare_attempts__lt=UPLOAD_PREPARE_MAX_ATTEMPTS,
    ).update(
        preparer=token,
        prepare_lease_until=now + timedelta(seconds=_prepare_lease_seconds()),
        prepare_attempts=F("prepare_attempts") + 1,
    )
    if not claimed:
        return False
    logger.info("Lead upload %s: resuming its preparation", upload_id)
    _upload_prepare(upload_id, token)
    return True


def _upload_prepare_give_up(upload_id: int, *, now) -> int:
    """Stop preparing an upload interrupted too often: what was chunked goes on, the rest is
    not sent, and the upload ends failed with the reason (`call_upload_prepare_retry`)."""
    with transaction.atomic():
        upload = CallUpload.objects.filter(pk=upload_id).first()
        if upload is None:
            return 0
        message = _(
            "Preparing the upload was interrupted %(n)d times (see the workers' log): "
            "%(queued)d leads were queued, the rest were not sent."
        ) % {"n": upload.prepare_attempts, "queued": upload.records_total}
        stopped = CallUpload.objects.filter(
            _lease_ran_out(now),
            pk=upload_id,
            preparing=True,
            prepare_attempts__gte=UPLOAD_PREPARE_MAX_ATTEMPTS,
        ).update(preparing=False, preparer="", prepare_lease_until=None, prepare_error=message)
        if stopped:
            logger.error("Lead upload %s: preparation given up", upload_id)
            call_upload_settle(upload_id=upload_id)
    return stopped


def call_upload_prepare_retry(*, upload: CallUpload) -> bool:
    """A person's decision, once the cause is fixed: prepare the rest of an upload that was
    given up, after its last committed chunk (the sweeper's next round resumes it)."""
    with transaction.atomic():
        revived = (
            CallUpload.objects.filter(pk=upload.pk, preparing=False)
            .exclude(prepare_error="")
            .update(
                preparing=True,
                prepare_error="",
                prepare_attempts=0,
                prepare_lease_until=timezone.now(),
                status=UploadStatus.SENDING,
            )
        )
    return bool(revived)


def chunk_body(chunk: CallUploadChunk) -> EncodedRecords:
    """The chunk's leads encoded as add_record's JSON array, without the numbers the gate would
    not allow. Built before a Wolkvox slot is taken, while two other chunks may be in flight."""
    leads = CallRecord.objects.filter(records_of(chunk.record_ids)).order_by("id")
    blocked = _blocked(_secondary_numbers(leads))
    # The upload's recall date, for every lead (else each lead's own).
    recall = chunk.upload.recall_date if chunk.upload_id else None
    # The usual chunk: every lead goes as stored, encoded by the database.
    encoded = None if blocked else encode_stored_leads(leads, recall_date=recall)
    if encoded is None:
        encoded = encode_records(_chunk_records(leads, blocked, recall))
    return encoded


def _chunk_records(leads: QuerySet, blocked: set[str], recall=None) -> list[dict[str, Any]]:
    """The leads as records built here, a number the gate does not allow blanked: a
    do-not-call or withdrawn number never reaches Wolkvox (tel1 passed the gate when the lead
    was queued)."""
    return lead_records(
        leads, withheld=blocked, withheld_from=SECONDARY_PHONE_FIELDS, recall_date=recall
    )


def _secondary_numbers(leads: QuerySet) -> set[str]:
    """Every number of the leads but the main one (tel1 passed the gate when it was queued).
    One pass over the leads, returning only those that have one: most have none."""
    has_one = Q()
    for name in SECONDARY_PHONE_FIELDS:
        has_one |= ~Q(**{name: ""})
    rows = leads.order_by().filter(has_one).values_list(*SECONDARY_PHONE_FIELDS)
    return {number for row in rows for number in row if number}


def _blocked(numbers: set[str]) -> set[str]:
    numbers = {n for n in numbers if n}
    allowed = set(
        consent_gate(channel=Channel.CALLS, numbers=list(numbers), normalised=True).allowed
    )
    return numbers - allowed


def call_upload_record_chunk(*, chunk_id: int, total_registers: int | None) -> None:
    """A chunk was answered: count it, and check Wolkvox added what we sent. `None`: Wolkvox
    accepted it without saying how many it added (the document's example answer has a blank
    `total_registers`): its leads count as sent, none as confirmed, and the chunk says so."""
    with transaction.atomic():
        chunk = CallUploadChunk.objects.select_for_update().get(pk=chunk_id)
        transaction.on_commit(
            partial(_leads_mark_uploaded, record_ids=chunk.record_ids, at=timezone.now())
        )
        CallUpload.objects.filter(pk=chunk.upload_id).update(
            records_sent=F("records_sent") + chunk.records_count,
            records_confirmed=F("records_confirmed") + (total_registers or 0),
            chunks_done=F("chunks_done") + 1,
        )
        if total_registers is None:
            CallUploadChunk.objects.filter(pk=chunk_id).update(
                sync_error=_(
                    "Wolkvox accepted these %(sent)d leads but did not say how many it added "
                    "(count not reported)."
                )
                % {"sent": chunk.records_count}
            )
        elif total_registers != chunk.records_count:
            CallUploadChunk.objects.filter(pk=chunk_id).update(
                sync_error=_("Wolkvox added %(added)d of the %(sent)d leads sent.")
                % {"added": total_registers, "sent": chunk.records_count}
            )
    call_upload_settle(upload_id=chunk.upload_id)


def _leads_mark_uploaded(*, record_ids: list[int], at) -> None:
    """Stamp the leads' "last uploaded", after the outcome is committed, 1,000 at a time: on
    SQLite, rewriting 10,000 rows in the outcome's transaction held the write lock while the
    next chunk waited to take the Wolkvox slot just freed. A stamp lost to a crash here only
    leaves "last uploaded" behind; the upload's own counts are already recorded."""
    for start in range(0, len(record_ids), MARK_UPLOADED_BATCH):
        batch = record_ids[start : start + MARK_UPLOADED_BATCH]
        CallRecord.objects.filter(records_of(batch)).update(uploaded_at=at)


def call_upload_settle(*, upload_id: int, committed: bool = False) -> None:
    """The upload's status from its chunks'. Called in the transaction that records a chunk's
    outcome. On PostgreSQL the last two chunks may be recorded at once, each seeing the other
    still waiting: so while chunks are waiting it looks again once that transaction has
    committed (`committed`), and then only to finish the upload, never to write "sending"
    over what a later chunk's outcome decided meanwhile."""
    with transaction.atomic():  # after a commit, on SQLite: the lock first, then the reads
        status = _upload_status(upload_id)
        if committed and status == UploadStatus.SENDING:
            return
        CallUpload.objects.filter(pk=upload_id).update(status=status)
        if status == UploadStatus.SENDING and not committed:
            transaction.on_commit(partial(call_upload_settle, upload_id=upload_id, committed=True))


def _upload_status(upload_id: int) -> str:
    chunks = CallUploadChunk.objects.filter(upload_id=upload_id)
    upload = CallUpload.objects.filter(pk=upload_id).values("preparing", "prepare_error").first()
    preparing = upload is not None and upload["preparing"]
    prepare_error = upload["prepare_error"] if upload else ""
    if preparing:
        return UploadStatus.SENDING  # more chunks are coming
    if chunks.filter(sync_status=SyncStatus.PENDING).exists():
        return UploadStatus.SENDING
    # A chunk whose last answer was lost, or could not be read (the leads may be in): its
    # outbox entry failed with the outcome unknown, and a person decides.
    failed = chunks.filter(sync_status=SyncStatus.FAILED).values_list("pk", flat=True)
    if outbox_has_unknown_outcome(model=CallUploadChunk, object_ids=failed):
        return UploadStatus.ATTENTION
    if prepare_error or chunks.filter(sync_status=SyncStatus.FAILED).exists():
        return UploadStatus.FAILED  # a chunk failed, or the preparation was given up
    return UploadStatus.DONE


def _chunk_entries(chunks) -> Any:
    return outbox_failed_entries(model=CallUploadChunk, object_ids=[c.pk for c in chunks])


def call_chunks_resend(*, chunks) -> int:
    """Decision: the lost chunks did not reach Wolkvox — send them again."""
    count = outbox_resend(entries=_chunk_entries(chunks))
    for upload_id in {c.upload_id for c in chunks}:
        call_upload_settle(upload_id=upload_id)
    return count


def call_chunks_mark_delivered(*, chunks) -> int:
    """Decision: the lost chunks did reach Wolkvox (checked there) — count them as delivered."""
    count = 0
    for chunk in chunks:
        entries = _chunk_entries([chunk])
        if not entries.exists():
            continue
        with transaction.atomic():
            outbox_mark_delivered(entries=entries, message=_("Marked as delivered by hand."))
            CallUploadChunk.objects.filter(pk=chunk.pk).update(
                sync_status=SyncStatus.SYNCED,
                sync_error=_("Marked as delivered by hand."),
                total_registers=chunk.records_count,
                remote_id=f"manual-{chunk.pk}",
            )
            call_upload_record_chunk(chunk_id=chunk.pk, total_registers=chunk.records_count)
        count += 1
    return count


def call_upload_progress(*, upload: CallUpload) -> dict[str, Any]:
    upload.refresh_from_db()
    percent = round(100 * upload.chunks_done / upload.chunks_total) if upload.chunks_total else 100
    # Sent and accepted, but Wolkvox's answer did not say how many it added.
    not_reported = upload.chunks.filter(
        sync_status=SyncStatus.SYNCED, total_registers=None
    ).aggregate(n=Sum("records_count"))["n"]
    return {
        "status": upload.status,
        "status_label": upload.get_status_display(),
        "chunks_total": upload.chunks_total,
        "chunks_done": upload.chunks_done,
        "records_total": upload.records_total,
        "records_sent": upload.records_sent,
        "records_confirmed": upload.records_confirmed,
        "records_count_not_reported": not_reported or 0,
        "percent": percent,
        "finished": upload.status != UploadStatus.SENDING,
        "prepare_error": upload.prepare_error,
        "window_reason": upload.window_reason,
        "send_after": upload.send_after.isoformat() if upload.send_after else None,
    }
