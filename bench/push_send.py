"""push_send_recipients_per_s: a send to the card holders of a program (every one with push
consent), from push_send_confirm to every batch of 1,000 accepted by the SMSHosting sandbox
(latency 0), delivered by the worker through the outbox."""

from __future__ import annotations

import time
from decimal import Decimal

from django.db.models import F

from bench import data
from bench.measure import wait_for_deliveries
from loyalty.models import Customer, FidelityCard, FidelityProgram
from messaging.models import PushBatch, PushSend, SendStatus
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from sandbox.knobs import knob_reset
from sandbox.models import SmsAccount


def seed(*, program: FidelityProgram, audience: int) -> None:
    """`audience` customers with consent, each holding one of the program's cards (the cards
    without a holder first, then new ones)."""
    data.customers(count=audience, first=5_000_000)  # numbers apart from the other scenes
    first_customer = Customer.objects.order_by("-id").values_list("id", flat=True)[audience - 1]
    free = FidelityCard.objects.filter(program=program, customer=None).order_by("id")
    first_card = free.values_list("id", flat=True).first() or 0
    # Imported cards have consecutive ids: one UPDATE gives each its customer.
    holders = free.filter(id__lt=first_card + audience)
    taken = holders.update(customer_id=F("id") - first_card + first_customer, active=True)
    if taken < audience:
        data.cards(
            program_id=program.pk,
            count=audience - taken,
            customer_ids=range(first_customer + taken, first_customer + audience),
        )
        FidelityCard.objects.filter(customer_id__gte=first_customer).update(active=True)
    # Enough credit and pushes for any audience (the sandbox's default plan has 25,000).
    SmsAccount.objects.update_or_create(
        pk=SmsAccount.objects.values_list("pk", flat=True).first(),
        defaults={"credit": Decimal(1_000_000), "push_available": 10_000_000},
    )


def run(*, program: FidelityProgram, audience: int) -> dict[str, float]:
    knob_reset(provider="smshosting")
    send = push_send_create(name="Benchmark", text="Offerte della settimana", programs=[program])
    send = push_send_estimate(send=send)
    started = time.monotonic()
    push_send_confirm(send=send)
    done = PushSend.objects.filter(pk=send.pk, status__in=(SendStatus.SENT, SendStatus.FAILED))
    wait_for_deliveries(done.exists, timeout=600, interval=0.05)
    elapsed = time.monotonic() - started
    send.refresh_from_db()
    if send.status != SendStatus.SENT or send.resolved_count != audience:
        raise RuntimeError(f"push send ended {send.status} with {send.resolved_count} recipients")
    return {
        "push_send_recipients_per_s": audience / elapsed,
        "_push_send_s": elapsed,
        "_push_batches": PushBatch.objects.filter(send=send).count(),
    }
