"""Outbox handler for push batches: one push/send per batch, exactly once.

The batch's transaction id is the idempotency key: when an earlier attempt may have reached
SMSHosting (timeout, lost answer, killed worker), `find_existing` searches push/search by that
transaction id first and only sends if nothing is there."""

from __future__ import annotations

from typing import Any

from core.sync import RemoteState, SyncHandler, sync_handler_register
from messaging.models import PushBatch
from messaging.smshosting import SentMessage, smshosting_client


@sync_handler_register
class PushBatchSync(SyncHandler):
    provider = "smshosting"
    model = PushBatch
    remote_delete = False  # a push that went out cannot be called back

    def create(self, obj: PushBatch) -> RemoteState:
        from messaging.services import push_batch_request

        result = smshosting_client().send(push_batch_request(obj))
        return RemoteState(obj.transaction_id, result.raw)

    def update(self, obj: PushBatch) -> RemoteState:
        # A send never changes: read back what SMSHosting holds for the transaction.
        messages = list(smshosting_client().search_all(transaction_id=obj.transaction_id))
        pushes = sum(1 for m in messages if m.type == "PUSH")
        return RemoteState(
            obj.transaction_id,
            {
                "transactionId": obj.transaction_id,
                "smsInserted": len(messages) - pushes,
                "smsNotInserted": 0,
                "pushInserted": pushes,
                "sms": [m.raw for m in messages],
            },
        )

    def find_existing(self, obj: PushBatch) -> RemoteState | None:
        count, _page = smshosting_client().search(transaction_id=obj.transaction_id, limit=1)
        return RemoteState(obj.transaction_id) if count else None

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        return {
            "sms_inserted": state.data.get("smsInserted"),
            "sms_not_inserted": state.data.get("smsNotInserted"),
            "push_inserted": state.data.get("pushInserted"),
        }

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        from messaging.services import push_batch_record

        messages = [SentMessage.from_wire(raw) for raw in state.data.get("sms", [])]
        push_batch_record(batch_id=int(object_id), messages=messages)

    def after_failure(self, *, object_id: str, message: str) -> None:
        from messaging.services import push_send_settle

        batch = PushBatch.objects.only("send_id").get(pk=object_id)
        push_send_settle(send_id=batch.send_id)
