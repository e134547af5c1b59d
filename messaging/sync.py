"""Outbox handler for push batches: one push/send per batch, exactly once.

The batch's transaction id is the idempotency key: when an earlier attempt may have reached
SMSHosting (timeout, lost answer, killed worker), `find_existing` searches push/search by that
transaction id first and only sends if nothing is there."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from core.sync import RemoteState, SyncHandler, sync_handler_register
from messaging.aisac import OrderLine, aisac_client, request_status
from messaging.care import care_request_lookup, care_request_send
from messaging.models import CareRequest, Order, PushBatch
from messaging.services import (
    PreparedMessages,
    push_batch_prepare,
    push_batch_record,
    push_batch_request,
    push_send_settle,
)
from messaging.smshosting import SendResult, smshosting_client

# The message rows of the batch just sent, prepared by create()/update() for after_success():
# built after the call, not inside the transaction that records the success and holds the
# database's write lock. One delivery runs in one thread, call to outcome, so a context
# variable carries them; after_success checks the batch and builds them itself otherwise.
_prepared: ContextVar[PreparedMessages | None] = ContextVar("push_batch_prepared", default=None)


@sync_handler_register
class PushBatchSync(SyncHandler):
    provider = "smshosting"
    model = PushBatch
    remote_delete = False  # a push that went out cannot be called back

    def create(self, obj: PushBatch) -> RemoteState:
        result = smshosting_client().send(push_batch_request(obj))
        _prepared.set(push_batch_prepare(batch=obj, answer=result.message_answers))
        return RemoteState(obj.transaction_id, result.raw)

    def update(self, obj: PushBatch) -> RemoteState:
        # A send never changes: read back what SMSHosting holds for the transaction.
        result = smshosting_client().find_sent(obj.transaction_id)
        _prepared.set(push_batch_prepare(batch=obj, answer=result.message_answers))
        return RemoteState(obj.transaction_id, result.raw)

    def find_existing(self, obj: PushBatch) -> RemoteState | None:
        return (
            RemoteState(obj.transaction_id)
            if smshosting_client().was_sent(obj.transaction_id)
            else None
        )

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        result = SendResult.from_answer(state.data, transaction_id=state.remote_id)
        return {
            "sms_inserted": result.sms_inserted,
            "sms_not_inserted": result.sms_not_inserted,
            "push_inserted": result.push_inserted,
        }

    def after_success(self, *, object_id: str, state: RemoteState) -> None:
        prepared = _prepared.get()
        _prepared.set(None)
        answer = SendResult.from_answer(state.data, transaction_id=state.remote_id)
        push_batch_record(batch_id=int(object_id), answer=answer.message_answers, prepared=prepared)

    def after_failure(self, *, object_id: str, message: str) -> None:
        _prepared.set(None)
        batch = PushBatch.objects.only("send_id").get(pk=object_id)
        push_send_settle(send_id=batch.send_id)


@sync_handler_register
class CareRequestSync(SyncHandler):
    """createRequest; a sync of an existing request reads it back (getRequest). Aisac has no
    call to change or delete a request."""

    provider = "aisac"
    model = CareRequest
    remote_delete = False

    def create(self, obj: CareRequest) -> RemoteState:
        remote = care_request_send(obj)
        return RemoteState(remote.request_id, remote.raw)

    def update(self, obj: CareRequest) -> RemoteState:
        remote = aisac_client().get_request(obj.remote_id)
        return RemoteState(remote.request_id, remote.raw)

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""

    def record_fields(self, state: RemoteState) -> dict[str, Any]:
        return {"status": request_status(state.data)[:32]}

    def find_existing(self, obj: CareRequest) -> RemoteState | None:
        # Adopted only on an exact match, by our reference (or, when Aisac gives references
        # back on none, by user key + subject + creation time), never the first one listed;
        # several candidates are a NeedsDecision (messaging.care.care_request_lookup).
        found = care_request_lookup(obj)
        return RemoteState(found.request_id, found.raw) if found else None

    def adopt(self, obj: CareRequest, found: RemoteState) -> RemoteState:
        # The listing that found it holds the whole request: no second call to read it back.
        return found


@sync_handler_register
class OrderSync(SyncHandler):
    """createOrder, idempotent by our order number (Aisac refuses a duplicate)."""

    provider = "aisac"
    model = Order
    remote_delete = False

    def create(self, obj: Order) -> RemoteState:
        order = aisac_client().place_order(
            order_id=obj.number,
            user_key=obj.customer.amm_msisdn,
            shop_code=obj.shop.code,
            total=obj.total,
            lines=[
                OrderLine(sku=line.sku, name=line.name, quantity=line.quantity, price=line.price)
                for line in obj.lines.all()
            ],
        )
        return RemoteState(order.order_id, order.raw)

    def update(self, obj: Order) -> RemoteState:
        # Aisac has no call to read or change an order: what we sent stands.
        return RemoteState(obj.remote_id, obj.remote_data or {})

    def delete(self, *, remote_id: str, payload: dict[str, Any]) -> None:
        """Never called: `remote_delete` is False."""
