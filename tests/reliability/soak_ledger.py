"""The soak's final comparison: what every provider (sandbox) holds against what Vetrina holds,
accounting for the cancels that won (tests/reliability/test_soak.py).

A cancel that won means: from that moment nothing of the entry reaches the provider. So when it
wins, the provider's footprint of the record is noted (`footprint`): usually nothing for a
create, the remote record for a delete, the remote data for an update. At the end:
- a record whose last entry was cancelled is expected at the provider exactly as its footprint
  was then: a create cancelled is not there (and the record shows failed here, checked when the
  cancel won), an update cancelled leaves the previous data, a delete cancelled leaves the
  remote record — an *orphan* nothing here points to any more; a create whose earlier attempt
  had already reached the provider (a lost answer) leaves that record as an orphan too;
- every other record is expected exactly as Vetrina holds it, once.
Anything at the provider beyond that is "extra" (twice is "duplicated"); anything missing is
"lost". Per kind, what "the record at the provider" is:
- VolantinoPiù shops by code (unique), with their remote id and description; campaigns and
  images by remote id (a campaign's footprint: the listed campaigns with its promo name and
  shop);
- AMM records by id (a movement's footprint: the records carrying its own note, which the soak
  makes unique), cards by code and balance — the balance expected at AMM is ours, less the
  movements whose create was cancelled before reaching AMM, plus the orphan records;
- SMSHosting messages by (transaction id, number);
- Aisac requests by our reference, orders by number;
- Wolkvox leads by (campaign, number)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max

from callcenter.models import CallRecord, CallUploadChunk
from campaigns.models import Campaign, Media, Shop
from core.models import Operation, OutboxEntry, SyncStatus
from loyalty.models import FidelityCard, PointMovement
from messaging.models import CareRequest, Order, PushBatch, PushMessage, PushSend, SendStatus
from sandbox.models import AmmCard, AmmRecord, SandboxObject, SmsMessage, WolkvoxRecord


def _shop_rows(objects) -> dict[Any, Any]:
    return {
        o.data["codice"]: (str(o.pk), o.data["codice"], o.data.get("descrizione", ""))
        for o in objects
    }


def footprint(entry: OutboxEntry, notes: dict[int, str]) -> dict[Any, Any]:
    """What the provider holds, right now, of the record of `entry`: {key: row}."""
    label, pk = entry.model_label, entry.object_id
    volantinopiu = SandboxObject.objects.filter(provider="volantinopiu")
    if label == "campaigns.shop":
        if entry.operation == Operation.DELETE:
            code = entry.payload.get("code", "")
        else:
            code = Shop.objects.get(pk=pk).code
        return _shop_rows(volantinopiu.filter(kind="shop", data__codice=code))
    if label == "campaigns.campaign":
        if entry.operation == Operation.DELETE:
            remote_id = entry.payload.get("remote_id") or ""
            promo, pv_id = entry.payload.get("promo_name"), entry.payload.get("pv_id")
        else:
            campaign = Campaign.objects.select_related("shop").get(pk=pk)
            remote_id, promo, pv_id = (
                campaign.remote_id or "",
                campaign.promo_name,
                campaign.shop.remote_id,
            )
        found = volantinopiu.filter(kind="campaign")
        matching = (
            found.filter(data__promo_name=promo, data__pv_id=int(pv_id)) if pv_id else found.none()
        )
        ids = {str(o.pk) for o in matching}
        if remote_id and found.filter(pk=remote_id).exists():
            ids.add(str(remote_id))
        return {i: i for i in ids}
    if label == "loyalty.pointmovement":
        records = AmmRecord.objects.filter(note__contains=notes[int(pk)]).select_related("card")
        return {str(r.pk): (r.card.code, r.points) for r in records}
    if label == "messaging.pushbatch":
        batch = PushBatch.objects.get(pk=pk)
        messages = SmsMessage.objects.filter(transaction_id=batch.transaction_id)
        return {(m.transaction_id, m.to): str(m.pk) for m in messages}
    if label == "messaging.carerequest":
        reference = str(CareRequest.objects.get(pk=pk).reference)
        found = SandboxObject.objects.filter(
            provider="aisac", kind="care_request", data__reference=reference
        )
        return {(reference, f"REQ-{o.pk}"): o.pk for o in found}
    if label == "messaging.order":
        number = Order.objects.get(pk=pk).number
        found = SandboxObject.objects.filter(provider="aisac", kind="order", data__order_id=number)
        return {number: number} if found.exists() else {}
    if label == "callcenter.calluploadchunk":
        chunk = CallUploadChunk.objects.select_related("upload__campaign").get(pk=pk)
        campaign_id = chunk.upload.campaign.remote_campaign_id
        phones = CallRecord.objects.filter(id__in=chunk.record_ids).values_list("tel1", flat=True)
        found = WolkvoxRecord.objects.filter(campaign_id=campaign_id, tel1__in=list(phones))
        return {(r.campaign_id, r.tel1): r.pk for r in found}
    raise AssertionError(f"no footprint for {label}: it is not in CANCELLABLE")


@dataclass
class Accounting:
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    drift: int = 0
    stale_after_cancel: list[str] = field(default_factory=list)  # see the cards' comparison
    # Left at a provider by a won cancel: by a cancelled delete (the record stays there, as the
    # person decided), or by a create cancelled after an attempt had reached the provider
    # although its answer was lost (the record here says "not sent").
    kept_by_cancelled_delete: Counter = field(default_factory=Counter)
    reached_before_cancel: Counter = field(default_factory=Counter)
    cancelled_records: Counter = field(default_factory=Counter)  # expected absent remotely
    sizes: dict[str, int] = field(default_factory=dict)  # what each comparison expected

    def count_orphans(self, name: str, label: str, keys, origin: dict) -> None:
        for key in keys:
            if origin.get((label, key)) == Operation.DELETE:
                self.kept_by_cancelled_delete[name] += 1
            else:
                self.reached_before_cancel[name] += 1

    def compare(self, label: str, local: list, remote: list) -> None:
        self.sizes[label] = len(local)
        local_c, remote_c = Counter(local), Counter(remote)
        missing = local_c - remote_c
        extra = remote_c - local_c
        twice = sum(n - 1 for n in remote_c.values() if n > 1)
        self.lost += sum(missing.values())
        self.duplicated += twice
        if missing or extra:
            self.problems.append(
                f"{label}: {sum(missing.values())} missing remotely {list(missing)[:5]}, "
                f"{sum(extra.values())} extra remotely {list(extra)[:5]}"
            )


def account(won_cancels: list) -> Accounting:
    """Compare every provider with Vetrina (see the module's docstring)."""
    result = Accounting()
    last_entry = dict(
        OutboxEntry.objects.values("object_key")
        .annotate(last=Max("id"))
        .values_list("object_key", "last")
    )
    won_last: dict[str, Any] = {}  # object_key → the won cancel that is its record's last word
    orphans: dict[str, dict] = defaultdict(dict)  # model label → {key: row}
    origin: dict[tuple[str, Any], str] = {}  # (model label, key) → the operation cancelled
    for cancel in won_cancels:
        if last_entry.get(cancel.object_key) == cancel.entry_id:
            won_last[cancel.object_key] = cancel
        if cancel.operation != Operation.UPDATE:
            orphans[cancel.model_label].update(cancel.footprint)
            for key in cancel.footprint:
                origin[cancel.model_label, key] = cancel.operation

    def cancelled_last(obj) -> Any:
        return won_last.get(obj.outbox_key)

    # --- VolantinoPiù shops: by code, each with its remote id and description ----------------
    remote_shops = SandboxObject.objects.filter(provider="volantinopiu", kind="shop")
    local_codes = set(Shop.objects.values_list("code", flat=True))
    shop_orphans = {
        code: row for code, row in orphans["campaigns.shop"].items() if code not in local_codes
    }
    result.count_orphans("volantinopiu shops", "campaigns.shop", shop_orphans, origin)
    result.compare(
        "volantinopiu shops",
        [*local_codes, *shop_orphans],
        [o.data["codice"] for o in remote_shops],
    )
    expected_shops = []
    for shop in Shop.objects.all():
        cancel = cancelled_last(shop)
        if cancel is not None and cancel.operation == Operation.UPDATE:
            # The edit was cancelled: the provider keeps what it had then.
            result.cancelled_records["shop edits"] += 1
            row = cancel.footprint.get(shop.code)
            expected_shops.append(row)
            if shop.sync_status != SyncStatus.FAILED and row and row[2] != shop.description:
                result.problems.append(
                    f"shop {shop.code}: its edit was cancelled (entry {cancel.entry_id}) yet it "
                    f"shows {shop.sync_status} here with the cancelled description"
                )
        else:
            expected_shops.append((shop.remote_id, shop.code, shop.description))
    result.compare(
        "volantinopiu shop ids",
        expected_shops + list(shop_orphans.values()),
        list(_shop_rows(remote_shops).values()),
    )

    # --- Media: never deleted remotely (no call exists), so every image ever made, once ------
    result.compare(
        "volantinopiu media",
        [str(pk) for pk in Media.objects.values_list("remote_id", flat=True)],
        [
            str(pk)
            for pk in SandboxObject.objects.filter(
                provider="volantinopiu", kind="media"
            ).values_list("pk", flat=True)
        ],
    )

    # --- Campaigns: by remote id --------------------------------------------------------------
    expected = []
    for campaign in Campaign.objects.all():
        if campaign.remote_id:
            expected.append(campaign.remote_id)
        elif cancelled_last(campaign):
            result.cancelled_records["campaigns"] += 1
        else:
            expected.append(f"campaign {campaign.pk} (never sent)")
    held = set(expected)
    campaign_orphans = [key for key in orphans["campaigns.campaign"] if key not in held]
    result.count_orphans("volantinopiu campaigns", "campaigns.campaign", campaign_orphans, origin)
    result.compare(
        "volantinopiu campaigns",
        expected + campaign_orphans,
        [
            str(pk)
            for pk in SandboxObject.objects.filter(
                provider="volantinopiu", kind="campaign"
            ).values_list("pk", flat=True)
        ],
    )

    # --- AMM records by id; cards by code and balance ----------------------------------------
    expected = []
    missing_points: Counter = Counter()  # per card: movements here that never reached AMM
    for movement in PointMovement.objects.select_related("card"):
        if movement.remote_id:
            expected.append(movement.remote_id)
        elif cancelled_last(movement):
            result.cancelled_records["movements"] += 1
            missing_points[movement.card.code] += movement.points
        else:
            expected.append(f"movement {movement.pk} (never sent)")
    held = set(expected)
    record_orphans = {
        key: row for key, row in orphans["loyalty.pointmovement"].items() if key not in held
    }
    result.count_orphans("amm records", "loyalty.pointmovement", record_orphans, origin)
    result.compare(
        "amm records",
        expected + list(record_orphans),
        [str(pk) for pk in AmmRecord.objects.values_list("pk", flat=True)],
    )
    orphan_points: Counter = Counter()
    for code, points in record_orphans.values():
        orphan_points[code] += points
    expected_balance = {
        card.code: card.points - missing_points[card.code] + orphan_points[card.code]
        for card in FidelityCard.objects.all()
    }
    result.compare(
        "amm cards",
        list(expected_balance.items()),
        [(c.code, c.points) for c in AmmCard.objects.all()],
    )
    # The balance kept beside ours (AMM's, read after each movement) is AMM's expected one.
    # Except on a card of a movement entry cancelled after an attempt (whose answer was lost):
    # that attempt may have changed AMM's balance, and no balance was read after it.
    read_before_cancel = set()
    for cancel in won_cancels:
        if cancel.model_label == "loyalty.pointmovement" and cancel.attempts:
            read_before_cancel.update(code for code, _points in cancel.footprint.values())
            entry = OutboxEntry.objects.get(pk=cancel.entry_id)
            read_before_cancel.add(entry.payload.get("code"))
    for code, remote_points, points in FidelityCard.objects.exclude(remote_points=None).values_list(
        "code", "remote_points", "points"
    ):
        if remote_points == expected_balance[code]:
            continue
        if code in read_before_cancel:
            result.stale_after_cancel.append(f"card {code}: {card_story(code)}")
            continue
        result.drift += 1
        result.problems.append(
            f"card {code}: AMM's balance kept here {remote_points}, expected "
            f"{expected_balance[code]} (ours {points}); {card_story(code)}"
        )

    # --- SMSHosting: one message per (transaction id, number) Vetrina counts as inserted -----
    cancelled_batches = {
        batch.pk for batch in PushBatch.objects.all() if cancelled_last(batch) is not None
    }
    result.cancelled_records["push batches"] = len(cancelled_batches)
    message_orphans = orphans["messaging.pushbatch"]
    result.count_orphans("smshosting messages", "messaging.pushbatch", message_orphans, origin)
    inserted = PushMessage.objects.exclude(remote_id="")
    result.compare(
        "smshosting messages",
        [*inserted.values_list("batch__transaction_id", "msisdn"), *message_orphans],
        list(SmsMessage.objects.values_list("transaction_id", "to")),
    )
    result.compare(
        "smshosting message ids",
        [*inserted.values_list("remote_id", flat=True), *message_orphans.values()],
        [str(pk) for pk in SmsMessage.objects.values_list("pk", flat=True)],
    )
    accounted = PushMessage.objects.exclude(batch_id__in=cancelled_batches).count()
    recipients = sum(len(b.recipients) for b in PushBatch.objects.exclude(pk__in=cancelled_batches))
    if accounted != recipients:
        result.problems.append(f"push: {recipients} recipients, {accounted} messages accounted for")
    for send in PushSend.objects.filter(status=SendStatus.FAILED):
        if set(send.batches.values_list("pk", flat=True)) - cancelled_batches:
            result.problems.append(f"push send {send.pk} failed, and not because it was cancelled")

    # --- Wolkvox: every chunk's leads once, per campaign ------------------------------------
    expected = []
    for chunk in CallUploadChunk.objects.select_related("upload__campaign"):
        if cancelled_last(chunk):
            result.cancelled_records["lead chunks"] += 1
            continue
        phones = CallRecord.objects.filter(id__in=chunk.record_ids).values_list("tel1", flat=True)
        expected += [(chunk.upload.campaign.remote_campaign_id, tel) for tel in phones]
    lead_orphans = orphans["callcenter.calluploadchunk"]
    result.count_orphans("wolkvox leads", "callcenter.calluploadchunk", lead_orphans, origin)
    result.compare(
        "wolkvox leads",
        expected + list(lead_orphans),
        list(WolkvoxRecord.objects.values_list("campaign_id", "tel1")),
    )

    # --- Aisac: requests by our reference, orders by number ----------------------------------
    expected = []
    for request in CareRequest.objects.all():
        if request.remote_id:
            expected.append((str(request.reference), request.remote_id))
        elif cancelled_last(request):
            result.cancelled_records["care requests"] += 1
        else:
            expected.append((str(request.reference), "(never sent)"))
    request_orphans = [key for key in orphans["messaging.carerequest"] if key not in set(expected)]
    result.count_orphans("aisac requests", "messaging.carerequest", request_orphans, origin)
    result.compare(
        "aisac requests",
        expected + request_orphans,
        [
            (o.data["reference"], f"REQ-{o.pk}")
            for o in SandboxObject.objects.filter(provider="aisac", kind="care_request")
        ],
    )
    expected = []
    for order in Order.objects.all():
        if cancelled_last(order) and not order.remote_id:
            result.cancelled_records["orders"] += 1
        else:
            expected.append(order.number)
    order_orphans = [key for key in orphans["messaging.order"] if key not in set(expected)]
    result.count_orphans("aisac orders", "messaging.order", order_orphans, origin)
    result.compare(
        "aisac orders",
        expected + order_orphans,
        [o.data["order_id"] for o in SandboxObject.objects.filter(provider="aisac", kind="order")],
    )
    return result


def card_story(code: str) -> str:
    """What happened to a card, for a drift's report: its movements here, its records at AMM,
    and the outbox entries of both."""
    card = FidelityCard.objects.get(code=code)
    movements = list(
        PointMovement.objects.filter(card=card).values_list(
            "pk", "action", "points", "remote_id", "sync_status", "note"
        )
    )
    keys = [card.outbox_key] + [f"loyalty.pointmovement:{m[0]}" for m in movements]
    entries = list(
        OutboxEntry.objects.filter(object_key__in=keys)
        .order_by("id")
        .values_list("id", "object_key", "operation", "state", "attempts", "outcome_unknown")
    )
    deleted = list(
        OutboxEntry.objects.filter(
            model_label="loyalty.pointmovement", operation=Operation.DELETE, payload__card=card.pk
        ).values_list("id", "object_key", "state", "attempts", "payload__remote_id")
    )
    records = list(
        AmmRecord.objects.filter(card__code=code).values_list("pk", "action", "points", "note")
    )
    return (
        f"card {card.pk} {card.sync_status}; movements {movements}; AMM records {records}; "
        f"entries {entries}; deletes {deleted}"
    )
