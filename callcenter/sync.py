"""Outbox handler for upload chunks: one add_record call each, within Wolkvox's limits.

Two calls at a time per token hold across every worker (PROVIDER_CONCURRENCY["wolkvox"] = 2,
a shared slot table). The daily budget (licences × 1,000 calls) is counted in the database;
when it is spent, chunks wait for tomorrow. Wolkvox cannot be asked what it received, so a
chunk whose answer was lost is not sent again blindly: it stops for a person's decision."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.models import CallUploadChunk, WolkvoxDailyUsage
from callcenter.services import (
    call_upload_record_chunk,
    call_upload_settle,
    call_upload_window_wait,
    chunk_body,
)
from callcenter.wolkvox import WOLKVOX_TZ, wolkvox_client
from core.errors import NeedsDecision
from core.provider_settings import provider_setting
from core.sync import Deferred, RemoteState, SyncHandler, sync_handler_register


def wolkvox_budget_take() -> date:
    """Count one call against today's budget and return the day, or raise Deferred until
    tomorrow."""
    today = timezone.localtime(timezone.now(), WOLKVOX_TZ).date()
    budget = provider_setting("wolkvox", "LICENCES") * 1000
    today_with_room = WolkvoxDailyUsage.objects.filter(day=today, calls__lt=budget)
    # One write once today's row exists: it is taken while a Wolkvox slot is held.
    taken = today_with_room.update(calls=F("calls") + 1)
    if not taken:  # no row for today yet (or the budget is spent): make it, try again
        WolkvoxDailyUsage.objects.get_or_create(day=today)
        taken = today_with_room.update(calls=F("calls") + 1)
    if not taken:
        tomorrow = datetime.combine(today + timedelta(days=1), time(0, 5), tzinfo=WOLKVOX_TZ)
        raise Deferred(
            tomorrow,
            _("Today's Wolkvox budget (%(n)d calls) is spent: the chunk goes out tomorrow.")
            % {"n": budget},
        )
    return today


def wolkvox_budget_give_back(day: date) -> None:
    """Return a call counted but never made (see UploadChunkSync.unprepare)."""
    WolkvoxDailyUsage.objects.filter(day=day, calls__gt=0).update(calls=F("calls") - 1)


@sync_handler_register
class UploadChunkSync(SyncHandler):
    provider = "wolkvox"
    model = CallUploadChunk
    remote_delete = False

    prepares = True  # 10,000 leads are read and encoded before one of the two slots is taken

    def prepare(self, obj: CallUploadChunk) -> None:
        """Encode the leads and count the call against today's budget, before a slot is
        taken: a write made while the slot is held waits for the other workers' writes on
        SQLite, and each wait adds to every call's turn (a spent budget defers the chunk
        without taking a slot either). Outside the send window the chunk waits, first of all,
        for its next opening (the outbox's next_attempt_at; the attempt does not count)."""
        wait = call_upload_window_wait(obj.upload)
        if wait is not None:
            raise Deferred(*wait, code="SEND_WINDOW")
        obj.encoded_records = chunk_body(obj)
        obj.upload.campaign  # noqa: B018 (loaded now, not while the slot is held)
        obj.budget_day = wolkvox_budget_take()

    def unprepare(self, obj: CallUploadChunk) -> None:
        wolkvox_budget_give_back(obj.budget_day)

    def create(self, obj: CallUploadChunk) -> RemoteState:
        if not hasattr(obj, "encoded_records"):
            self.prepare(obj)
        campaign = obj.upload.campaign
        total = wolkvox_client().add_records(
            campaign_id=campaign.remote_campaign_id,
            campaign_status=campaign.status,
            records=obj.encoded_records,
        )
        # None: Wolkvox accepted the chunk without saying how many it added (the document's own
        # example answer, `"total_registers": " "`): done, its count "not reported".
        return RemoteState(f"{obj.upload_id}-{obj.index}", {"total_registers": total})

    def update(self, obj: CallUploadChunk) -> RemoteState:
        # A chunk is sent once; there is nothing to read back from Wolkvox.
        return RemoteState(obj.remote_id, obj.remote_data or {})

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""

    def on_unknown_outcome(self, obj: CallUploadChunk) -> None:
        raise NeedsDecision(
            _(
                "Wolkvox's answer for these %(n)d leads was lost and it cannot be asked whether "
                "they arrived: check the campaign in Wolkvox, then resend the chunk or mark it "
                "as delivered."
            )
            % {"n": obj.records_count},
            provider=self.provider,
            code="OUTCOME_UNKNOWN",
        )

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        return {"total_registers": state.data.get("total_registers")}

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        total = state.data.get("total_registers")
        call_upload_record_chunk(
            chunk_id=int(object_id), total_registers=None if total is None else int(total)
        )

    def after_failure(self, *, object_id: str, message: str) -> None:
        chunk = CallUploadChunk.objects.only("upload_id").get(pk=object_id)
        call_upload_settle(upload_id=chunk.upload_id)
