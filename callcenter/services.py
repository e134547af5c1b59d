"""Leads and their uploads to Wolkvox: the admin, the API and the imports call these."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet, Sum, TextField, Value
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone
from django.utils.translation import gettext as _

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
from callcenter.wolkvox import (
    MAX_RECORDS_PER_CALL,
    EncodedRecords,
    encode_records,
    format_recall,
)
from core.models import Operation, OutboxEntry, OutboxState, SyncStatus
from core.outbox import outbox_enqueue, outbox_resend
from loyalty.consent import consent_gate
from loyalty.models import Channel, FidelityCard

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


def call_records_save(
    *,
    campaign: CallCampaign,
    rows: Iterable[tuple[int, dict[str, Any]]],
    source: str,
    dry_run: bool = False,
) -> LeadReport:
    """Validate every row; save the valid ones (a lead with a phone already in the campaign is
    merged into it); report each invalid row with its line and reason. A bad row is never
    partly saved. With dry_run, nothing is saved (the preview)."""
    report = LeadReport()
    cleaned: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        unknown = sorted(set(row) - set(FIELD_NAMES))
        if unknown:
            report.errors.append(
                (line, _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)})
            )
            continue
        form = CallRecordForm(
            data={k: ("" if v is None else str(v).strip()) for k, v in row.items()}
        )
        if not form.is_valid():
            report.errors.append((line, _form_errors(form)))
            continue
        data = {name: form.cleaned_data[name] for name in FIELD_NAMES}
        data = {k: ("" if v is None and k != "recall_date" else v) for k, v in data.items()}
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
    return report


def call_file_rows(*, file) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV or XLSX file as (line, {column: value}); the first row names the columns
    with the document's field names (customer_name, tel1, …). A file that cannot be read at
    all is a ValidationError."""
    name = (getattr(file, "name", "") or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(file, read_only=True, data_only=True).active
            lines = [
                ["" if cell is None else str(cell) for cell in row]
                for row in sheet.iter_rows(values_only=True)
            ]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ValidationError(_("The file is not a readable XLSX workbook.")) from exc
    else:
        try:
            text = file.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is not UTF-8 text (CSV).")) from exc
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        with suppress(csv.Error):  # one column, or rows too uneven to tell: commas
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        try:
            lines = list(csv.reader(io.StringIO(text), dialect))
        except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
            raise ValidationError(_("The file is not a readable CSV file.")) from exc
    if not lines:
        return []
    header = [column.strip().lower() for column in lines[0]]
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(str(c).strip() for c in cells):
            continue
        rows.append(
            (
                number,
                {header[i]: cells[i] for i in range(min(len(header), len(cells))) if header[i]},
            )
        )
    return rows


def call_records_from_inactive_cards(*, campaign: CallCampaign, shop, days: int) -> LeadReport:
    """Leads of the card holders of a shop who have not earned points for `days` days."""
    since = timezone.now() - timedelta(days=days)
    cards = (
        FidelityCard.objects.filter(
            shop=shop, active=True, customer__isnull=False, customer__erased_at=None
        )
        .annotate(last_add=Max("movements__date", filter=Q(movements__action="ADD")))
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


def call_upload_create(*, campaign: CallCampaign, records=None, user=None) -> CallUpload:
    """Send leads to Wolkvox through the consent gate (withdrawn call consent, do-not-call
    list), in chunks of at most WOLKVOX_CHUNK_SIZE, each its own outbox entry.

    The leads are read and checked a chunk's worth at a time, and each chunk is committed —
    and so goes out — as soon as it is full: the first call to Wolkvox starts while the rest
    of a 250,000-lead upload is still being read and checked. Until the last chunk is made the
    upload is `preparing`, and does not count as sent whatever its chunks say."""
    records = CallRecord.objects.filter(campaign=campaign) if records is None else records
    size = min(settings.WOLKVOX_CHUNK_SIZE, 10_000)
    upload = CallUpload.objects.create(
        campaign=campaign,
        created_by=user if user is not None and user.is_authenticated else None,
        status=UploadStatus.SENDING,
        preparing=True,
    )
    excluded: Counter = Counter()
    seen: set[str] = set()  # a number twice in the campaign goes once, with its first lead
    kept: list[int] = []
    chunks = 0
    for page in _lead_pages(records, size):
        ids, numbers = [], []
        for lead_id, number in page:
            if number in seen:
                excluded["duplicate"] += 1
                continue
            seen.add(number)
            ids.append(lead_id)
            numbers.append(number)
        gate = consent_gate(channel=Channel.CALLS, numbers=numbers, normalised=True)
        excluded.update(gate.excluded)
        allowed = set(gate.allowed)
        kept.extend(i for i, number in zip(ids, numbers, strict=True) if number in allowed)
        while len(kept) >= size:
            _upload_chunk_add(upload, index=chunks, record_ids=kept[:size])
            kept, chunks = kept[size:], chunks + 1
    if kept:
        _upload_chunk_add(upload, index=chunks, record_ids=kept)
    with transaction.atomic():
        CallUpload.objects.filter(pk=upload.pk).update(preparing=False, excluded=dict(excluded))
        call_upload_settle(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def _lead_pages(records, size: int):
    """(id, tel1) of the leads in id order, a page at a time (keyset: no cursor stays open
    while the chunks before are committed)."""
    last = 0
    while page := list(records.filter(id__gt=last).order_by("id").values_list("id", "tel1")[:size]):
        yield page
        last = page[-1][0]


def records_of(record_ids: list[int]) -> Q:
    """The leads with these ids (ascending). A chunk's leads are usually one run of ids — a
    campaign's leads are imported together — and then they are looked up as a range, not as
    10,000 parameters."""
    if record_ids and record_ids[-1] - record_ids[0] + 1 == len(record_ids):
        return Q(id__gte=record_ids[0], id__lte=record_ids[-1])
    return Q(id__in=record_ids)


def _upload_chunk_add(upload: CallUpload, *, index: int, record_ids: list[int]) -> None:
    """One chunk and its outbox entry, in a transaction of their own: on commit it goes out."""
    with transaction.atomic():
        chunk = CallUploadChunk.objects.create(
            upload=upload, index=index, record_ids=record_ids, records_count=len(record_ids)
        )
        CallUpload.objects.filter(pk=upload.pk).update(
            chunks_total=F("chunks_total") + 1, records_total=F("records_total") + len(record_ids)
        )
        outbox_enqueue(obj=chunk, operation=Operation.CREATE)


def chunk_body(chunk: CallUploadChunk) -> EncodedRecords:
    """The chunk's leads encoded as add_record's JSON array, without the numbers the gate would
    not allow. Built before a Wolkvox slot is taken, while two other chunks may be in flight."""
    leads = CallRecord.objects.filter(records_of(chunk.record_ids)).order_by("id")
    blocked = _blocked(_secondary_numbers(leads))
    if blocked or leads.filter(recall_date__isnull=False).exists():
        return encode_records(_chunk_records(leads, blocked))
    # The usual chunk: every lead goes as stored. The database writes each record's JSON (in
    # C): five times faster than fetching 370,000 values, building dicts and encoding them here.
    wire = JSONObject(
        **{name: Value("") if name == "recall_date" else F(name) for name in FIELD_NAMES}
    )
    texts = list(leads.annotate(wire=Cast(wire, TextField())).values_list("wire", flat=True))
    if len(texts) > MAX_RECORDS_PER_CALL:
        raise ValueError(f"At most {MAX_RECORDS_PER_CALL} records a call, got {len(texts)}")
    return EncodedRecords(len(texts), f"[{','.join(texts)}]".encode())


def _chunk_records(leads: QuerySet, blocked: set[str]) -> list[dict[str, Any]]:
    """The leads as records built here: a recall date (in Wolkvox's time) or a number to blank."""
    # Plain rows, not model instances: a chunk is 10,000 leads.
    rows = leads.values_list(*FIELD_NAMES)
    records = [dict(zip(FIELD_NAMES, row, strict=True)) for row in rows]  # faster than .values()
    # Each row is already the record to send (the phone fields are among FIELD_NAMES): it is
    # completed in place.
    for record in records:
        record["recall_date"] = format_recall(record["recall_date"])
        if blocked:
            for name in SECONDARY_PHONE_FIELDS:
                if record[name] in blocked:
                    record[name] = ""  # a do-not-call or withdrawn number never reaches Wolkvox
    return records


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
    if CallUpload.objects.filter(pk=upload_id, preparing=True).exists():
        return UploadStatus.SENDING  # more chunks are coming
    if chunks.filter(sync_status=SyncStatus.PENDING).exists():
        return UploadStatus.SENDING
    # A lost answer, or one Vetrina could not read (the leads may be in): a person decides.
    if chunks.filter(
        Q(sync_error__startswith="[OUTCOME_UNKNOWN]")
        | Q(sync_error__startswith="[CONTRACT_DRIFT]"),
        sync_status=SyncStatus.FAILED,
    ).exists():
        return UploadStatus.ATTENTION
    if chunks.filter(sync_status=SyncStatus.FAILED).exists():
        return UploadStatus.FAILED
    return UploadStatus.DONE


def _chunk_entries(chunks) -> Any:
    return OutboxEntry.objects.filter(
        model_label="callcenter.calluploadchunk",
        object_id__in=[str(c.pk) for c in chunks],
        state=OutboxState.FAILED,
    )


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
            entries.update(
                state=OutboxState.DONE,
                completed_at=timezone.now(),
                last_error=_("Marked as delivered by hand."),
            )
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
    }
