"""Sixty days of history for the demo, so the admin home's charts tell a story on first start:
card holders of every demo shop collecting and redeeming points (more on weekends, a flyer
weekend three weeks ago, a chain that grows), a push every few days with its deliveries (to
the card holders too, so a send's results page has its shops), a weekly call-center upload in
chunks, and the chain-wide flyer of that weekend (its results page compares the points redeemed
with the four weeks before).

Written in bulk, as records already in step with the simulated providers (the sandbox AMM holds
the same cards and records): nothing is queued, and it takes well under a second."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from callcenter.models import CallCampaign, CallUpload, CallUploadChunk, UploadStatus
from campaigns.models import Campaign, CampaignBatch, CampaignKind, Shop
from core.models import SyncStatus
from loyalty.models import Customer, FidelityCard, FidelityProgram, MovementAction, PointMovement
from messaging.models import PushBatch, PushMessage, PushSend, SendStatus
from messaging.smshosting import DELIVERED, NOT_INSERTED, NOTDELIVERED
from sandbox.models import AmmCard, AmmRecord

DAYS = 60
CARD_PREFIX = "STORIA"
CARDS_PER_SHOP = {"PV-MI-01": 14, "PV-RM-01": 11, "PV-TO-01": 8, "PV-BO-01": 6, "PV-NA-01": 5}
PUSHES = (
    "Sottocosto del weekend",
    "Punti doppi sui freschi",
    "Il nuovo volantino è online",
    "Raccolta punti: premi in scadenza",
)


def _at(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@transaction.atomic
def demo_history_seed(*, seed: int = 24) -> int:
    """Seed the history once (its cards' codes start with CARD_PREFIX); returns the number of
    point movements written (0 when it is there already)."""
    program = FidelityProgram.objects.order_by("id").first()
    if program is None or FidelityCard.objects.filter(code__startswith=CARD_PREFIX).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311  (demo figures, not secrets)
    today = timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    cards = _cards(program, first, rng)
    moved = _movements(cards, first, today, rng)
    _pushes(first, today, rng, holders=[card.customer.msisdn_digits for card in cards])
    _uploads(first, today, rng)
    _flyer(today)
    return moved


def _cards(program, first, rng) -> dict[FidelityCard, AmmCard]:
    shops = {shop.code: shop for shop in Shop.objects.filter(code__in=CARDS_PER_SHOP)}
    made = {}
    n = 0
    for code, count in CARDS_PER_SHOP.items():
        shop = shops.get(code)
        if shop is None:
            continue
        for _ in range(count):
            n += 1
            msisdn = f"+39320555{n:04d}"
            enrolled = _at(first + timedelta(days=rng.randrange(0, DAYS - 7)), 10)
            customer = Customer.objects.create(msisdn=msisdn, name="Cliente", surname=f"Demo {n}")
            amm = AmmCard.objects.create(
                program_id=int(program.remote_id),
                code=f"{CARD_PREFIX}{n:04d}",
                msisdn=msisdn.lstrip("+"),
                activation_date=enrolled,
            )
            card = FidelityCard.objects.create(
                program=program,
                customer=customer,
                shop=shop,
                code=amm.code,
                activation_date=enrolled,
                remote_id=f"demo-card-{amm.pk}",
                sync_status=SyncStatus.SYNCED,
                synced_at=enrolled,
            )
            card.enrolled = enrolled
            made[card] = amm
    for card in made:
        card.created_at = card.enrolled
    FidelityCard.objects.bulk_update(list(made), ["created_at"])
    Customer.objects.filter(cards__in=list(made)).update(created_at=_at(first, 9))
    return made


def _movements(cards: dict[FidelityCard, AmmCard], first, today, rng) -> int:
    movements = []
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        weekend = 1.6 if day.weekday() >= 5 else 1.0
        flyer = 2.2 if 19 <= (today - day).days <= 21 else 1.0  # a flyer weekend, 3 weeks ago
        growth = 0.7 + 0.6 * offset / (today - first).days
        for card, amm in cards.items():
            if card.enrolled.date() > day or rng.random() > 0.22 * weekend * flyer * growth:
                continue
            points = rng.randrange(4, 40)
            when = _at(day, rng.randrange(9, 20), rng.randrange(60))
            movements.append((card, amm, MovementAction.ADD, points, when, "scontrino"))
            if rng.random() < 0.07:
                movements.append(
                    (card, amm, MovementAction.REWARD, -rng.choice((50, 100)), when, "premio")
                )
    records = [
        AmmRecord(card=amm, action=action, points=points, note=note, date=when)
        for _card, amm, action, points, when, note in movements
    ]
    records = AmmRecord.objects.bulk_create(records)
    PointMovement.objects.bulk_create(
        PointMovement(
            card=card,
            action=action,
            points=points,
            note=note,
            date=when,
            shop=card.shop,
            remote_id=f"demo-record-{record.pk}",
            sync_status=SyncStatus.SYNCED,
            synced_at=when,
        )
        for (card, _amm, action, points, when, note), record in zip(movements, records, strict=True)
    )
    for card, amm in cards.items():
        balance = card.movements.aggregate(total=Sum("points", default=0))["total"]
        FidelityCard.objects.filter(pk=card.pk).update(points=balance, remote_points=balance)
        AmmCard.objects.filter(pk=amm.pk).update(points=balance)
    return len(movements)


def _pushes(first, today, rng, holders: list[str]) -> None:
    day, n = first + timedelta(days=2), 0
    while day <= today - timedelta(days=1):
        confirmed = _at(day, 10, 30)
        send = PushSend.objects.create(
            name=f"{PUSHES[n % len(PUSHES)]} ({day:%d/%m})",
            text=PUSHES[n % len(PUSHES)],
            status=SendStatus.SENT,
            confirmed_at=confirmed,
            estimated_at=confirmed,
        )
        recipients = rng.randrange(180, 420) + 6 * n
        batch = PushBatch.objects.create(
            send=send,
            index=0,
            transaction_id=f"{send.transaction_id}-0",
            sync_status=SyncStatus.SYNCED,
            synced_at=confirmed,
            push_inserted=recipients,
        )
        rate = rng.uniform(0.84, 0.96)
        statuses = [
            NOT_INSERTED
            if rng.random() < 0.02
            else (DELIVERED if rng.random() < rate else NOTDELIVERED)
            for _ in range(recipients)
        ]
        PushMessage.objects.bulk_create(
            PushMessage(
                send=send,
                batch=batch,
                msisdn=holders[i] if i < len(holders) else f"39321{n:02d}{i:05d}",
                status=status,
                type="PUSH",
                sent_date=confirmed,
                # Most arrive at once; a phone switched off gets its push the next day.
                delivery_date=confirmed + (timedelta(minutes=2) if i % 6 else timedelta(hours=21))
                if status == DELIVERED
                else None,
            )
            for i, status in enumerate(statuses)
        )
        PushSend.objects.filter(pk=send.pk).update(
            created_at=confirmed - timedelta(hours=1), resolved_count=recipients
        )
        day += timedelta(days=rng.choice((3, 4, 5)))
        n += 1


def _uploads(first, today, rng) -> None:
    campaign = CallCampaign.objects.order_by("id").first()
    if campaign is None:
        return
    day = first + timedelta(days=4)
    while day < today:
        total = rng.randrange(60, 220)
        upload = CallUpload.objects.create(
            campaign=campaign,
            status=UploadStatus.DONE,
            records_total=total,
            records_sent=total,
            records_confirmed=total - rng.randrange(0, 6),
        )
        CallUpload.objects.filter(pk=upload.pk).update(created_at=_at(day, 15))
        # Two chunks, the second answered the next day; Wolkvox refused a few leads of the first.
        second = total // 3
        for index, count, added, at in (
            (0, total - second, upload.records_confirmed - second, _at(day, 15, 5)),
            (1, second, second, _at(day + timedelta(days=1), 9, 30)),
        ):
            CallUploadChunk.objects.create(
                upload=upload,
                index=index,
                records_count=count,
                total_registers=added,
                sync_status=SyncStatus.SYNCED,
                synced_at=at,
                last_sync_attempt_at=at,
            )
        CallUpload.objects.filter(pk=upload.pk).update(chunks_total=2, chunks_done=2)
        day += timedelta(days=7)


def _flyer(today) -> None:
    """The chain-wide flyer of the weekend three weeks ago (the points it brought are in
    _movements), sent to every history shop."""
    shops = Shop.objects.filter(code__in=CARDS_PER_SHOP).order_by("code")
    sent = _at(today - timedelta(days=21), 9)
    batch = CampaignBatch.objects.create(
        kind=CampaignKind.FLYER, promo_name="Volantino del weekend", date_send=sent
    )
    Campaign.objects.bulk_create(
        Campaign(
            kind=CampaignKind.FLYER,
            shop=shop,
            batch=batch,
            date_send=sent,
            promo_name="Volantino del weekend",
            image_url="https://example.com/volantini/weekend.jpg",
            flyer_link="https://example.com/volantini/weekend.pdf",
            sync_status=SyncStatus.SYNCED,
            synced_at=sent - timedelta(days=2),
        )
        for shop in shops
    )
