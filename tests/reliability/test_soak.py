"""Soak: 5,000 mixed operations across the five providers with 10 % of calls answered 500 (and a
few lost answers), through the real services; the outbox is then drained, and what every
provider holds must equal what Vetrina holds — nothing lost, nothing twice."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from callcenter.models import CallCampaign, CallRecord, CallUploadChunk
from callcenter.services import call_records_save, call_upload_create
from campaigns.models import Campaign, Media, Shop
from campaigns.services import (
    campaign_create,
    campaign_is_registered,
    campaign_replace,
    campaign_update,
    campaign_withdraw,
    media_create,
    shop_create,
    shop_delete,
    shop_update,
)
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_sweep
from loyalty.models import ConsentState, Customer, FidelityCard, PointMovement
from loyalty.services import (
    card_enrol,
    movement_add,
    movement_delete,
    movement_reset,
    movement_reward,
)
from messaging.care import care_request_create, order_create
from messaging.models import CareRequest, Order, PushBatch, PushMessage, PushSend, SendStatus
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from sandbox.knobs import PROVIDERS, knob_set
from sandbox.models import (
    AmmCard,
    AmmRecord,
    AmmReward,
    SandboxObject,
    SmsAccount,
    SmsMessage,
    WolkvoxRecord,
)
from tests.campaigns.factories import shop_fields
from tests.campaigns.images import image_upload
from tests.loyalty.factories import pulled_program

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

# 5,000 operations (the soak) take about 3 minutes on SQLite here: ~40 ms of CPU each
# (the in-process sandbox through the full middleware stack, ~50 queries). SOAK_OPERATIONS
# sets another count, e.g. 500 for a quick look.
OPERATIONS = int(os.environ.get("SOAK_OPERATIONS", "5000"))
ERROR_RATE = 0.1
SEED = 2026
LOST_ANSWER_EVERY = 97  # every so often one operation's provider acts, then garbles its answer
SWEEP_EVERY = 50  # beat's sweeper, every SWEEP_EVERY operations, 20 s later
MAX_DRAIN_ROUNDS = 60
OPEN = (OutboxState.PENDING, OutboxState.IN_FLIGHT)

# Shops, cards and movements dominate; sends and uploads are fewer but present.
MIX = {
    "shop_create": 9,
    "shop_update": 8,
    "shop_delete": 2,
    "media_create": 1,
    "campaign_create": 5,
    "campaign_update": 1,
    "campaign_withdraw": 2,
    "campaign_replace": 1,
    "card_enrol": 18,
    "movement_add": 28,
    "movement_reward": 3,
    "movement_reset": 1,
    "movement_delete": 7,
    "push_send": 2,
    "care_request": 5,
    "order": 4,
    "lead_upload": 3,
}
PROVIDER_OF = {
    "shop_create": "volantinopiu",
    "shop_update": "volantinopiu",
    "shop_delete": "volantinopiu",
    "media_create": "volantinopiu",
    "campaign_create": "volantinopiu",
    "campaign_update": "volantinopiu",
    "campaign_withdraw": "volantinopiu",
    "campaign_replace": "volantinopiu",
    "card_enrol": "amm",
    "movement_add": "amm",
    "movement_reward": "amm",
    "movement_reset": "amm",
    "movement_delete": "amm",
    "push_send": "smshosting",
    "care_request": "aisac",
    "order": "aisac",
    "lead_upload": "wolkvox",
}


class Soak:
    """The operations, as people at the counter and in the back office make them."""

    def __init__(self, rng: random.Random, deliver) -> None:
        self.rng = rng
        self.deliver = deliver
        self.program = pulled_program()
        self.rewards = list(
            AmmReward.objects.filter(program__pk=self.program.remote_id).values_list("pk", "points")
        )
        self.customers = list(Customer.objects.order_by("pk"))
        self.call_campaigns = [
            CallCampaign.objects.create(remote_campaign_id=str(700 + n), name=f"Lista {n}")
            for n in range(3)
        ]
        self.medias: list[int] = []
        self.counter = Counter()
        self.done = Counter()
        self.skipped = Counter()
        self.sync_retries = 0  # a person trying a synchronous call again (the estimate)
        self.lead_phone = 0
        self.shop_number = 0

    # --- helpers -------------------------------------------------------------------------
    def _next(self, name: str) -> int:
        self.counter[name] += 1
        return self.counter[name]

    def _pick(self, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:400])
        if not ids:
            return None
        return queryset.model.objects.get(pk=self.rng.choice(ids))

    def _active_shops(self):
        return Shop.objects.filter(active=True)

    def _date_send(self):
        # Far enough ahead that the drain's jumps in time never make it past.
        return (timezone.now() + timedelta(days=120 + self.rng.randint(0, 60))).replace(
            second=0, microsecond=0
        )

    # --- operations ----------------------------------------------------------------------
    def shop_create(self) -> bool:
        n = self._next("shop")
        shop_create(**shop_fields(code=f"SOAK{n:05d}", city=self.rng.choice(["Milano", "Roma"])))
        return True

    def shop_update(self) -> bool:
        shop = self._pick(Shop.objects.all())
        if shop is None:
            return False
        shop_update(
            shop=shop,
            data={"description": f"Aggiornato {self._next('shop_edit')}"},
        )
        return True

    def shop_delete(self) -> bool:
        shop = self._pick(
            Shop.objects.filter(campaigns=None, cards=None, orders=None, movements=None)
        )
        if shop is None:
            return False
        shop_delete(shop=shop)
        return True

    def media_create(self) -> bool:
        n = self._next("media")
        media = media_create(
            file=image_upload(name=f"soak-{n}.png", size=(16 + n % 50, 16)), name=f"soak {n}"
        )
        self.medias.append(media.pk)
        return True

    def _campaign_fields(self) -> dict | None:
        shop = self._pick(self._active_shops())
        if shop is None:
            return None
        n = self._next("campaign")
        kind = self.rng.choice(["template", "flyer"])
        fields = {
            "kind": kind,
            "shop": shop,
            "date_send": self._date_send(),
            "promo_name": f"Promo {n}",
        }
        if self.medias and self.rng.random() < 0.5:
            fields["media"] = Media.objects.get(pk=self.rng.choice(self.medias))
        else:
            fields["image_url"] = "https://cdn.example.com/volantino.jpg"
        if kind == "flyer":
            fields["flyer_link"] = "https://example.com/volantino.pdf"
        else:
            fields["link"] = "https://example.com/promo"
            fields["template_name"] = "promo_settimanale"
        return fields

    def campaign_create(self) -> bool:
        fields = self._campaign_fields()
        if fields is None:
            return False
        campaign_create(**fields)
        return True

    def campaign_update(self) -> bool:
        for campaign in Campaign.objects.filter(remote_id=None).order_by("-pk")[:20]:
            if not campaign_is_registered(campaign):
                campaign_update(
                    campaign=campaign, data={"promo_name": f"Promo {self._next('campaign')}"}
                )
                return True
        return False

    def campaign_withdraw(self) -> bool:
        campaign = self._pick(Campaign.objects.all())
        if campaign is None:
            return False
        campaign_withdraw(campaign=campaign)
        return True

    def campaign_replace(self) -> bool:
        campaign = self._pick(Campaign.objects.exclude(remote_id=None))
        if campaign is None:
            return False
        campaign_replace(
            campaign=campaign,
            data={"promo_name": f"Promo {self._next('campaign')}", "date_send": self._date_send()},
        )
        return True

    def card_enrol(self) -> bool:
        customer = self.rng.choice(self.customers)
        shop = self._pick(self._active_shops())
        n = self._next("card")
        generated = self.rng.random() < 0.1  # AMM makes the code up
        kwargs = {}
        if self.rng.random() < 0.3:
            kwargs["starting_amount"] = Decimal(self.rng.randint(5, 200))
        elif self.rng.random() < 0.5:
            kwargs["starting_points"] = self.rng.randint(0, 50)
        card_enrol(
            program=self.program,
            customer=customer,
            shop=shop,
            code="" if generated else f"SOAK{n:08d}",
            **kwargs,
        )
        return True

    def _card(self):
        return self._pick(FidelityCard.objects.filter(active=True))

    def movement_add(self) -> bool:
        card = self._card()
        if card is None:
            return False
        if self.rng.random() < 0.5:
            movement_add(card=card, points=self.rng.randint(1, 30), note="soak")
        else:
            amount = Decimal(self.rng.randint(100, 20000)) / 100
            movement_add(card=card, amount=amount, note="soak")
        return True

    def movement_reward(self) -> bool:
        reward_id, points = self.rng.choice(self.rewards)
        # Only a card whose balance, here and at AMM, already covers the reward (as the
        # counter shows it): nothing of that card is still on its way.
        card = self._pick(
            FidelityCard.objects.filter(active=True, points__gte=points + 40).exclude(
                Q(sync_status=SyncStatus.PENDING) | Q(movements__sync_status=SyncStatus.PENDING)
            )
        )
        if card is None:
            return False
        movement_reward(card=card, reward_id=reward_id, note="premio")
        return True

    def movement_reset(self) -> bool:
        card = self._pick(
            FidelityCard.objects.filter(active=True, points__gt=0).exclude(
                Q(sync_status=SyncStatus.PENDING) | Q(movements__sync_status=SyncStatus.PENDING)
            )
        )
        if card is None:
            return False
        movement_reset(card=card, note="azzera")
        return True

    def movement_delete(self) -> bool:
        # Deleting an ADD never leaves a balance below zero; a reward or reset stays.
        movement = self._pick(PointMovement.objects.filter(action="ADD"))
        if movement is None:
            return False
        card = movement.card
        if card.points - movement.points < 0:
            return False
        movement_delete(movement=movement)
        return True

    def push_send(self) -> bool:
        n = self._next("push")
        only_push = self.rng.random() < 0.7
        recipients = [str(c.msisdn) for c in self.rng.sample(self.customers, 12)]
        fields = {
            "name": f"Invio {n}",
            "text": f"Offerta {n}: sottocosto sabato!",
            "recipients": recipients,
            "only_push": only_push,
        }
        if not only_push:
            fields.update(sms_text=f"Offerta {n} in negozio", sms_from="Vetrina")
        shops = []
        if self.rng.random() < 0.3:
            shop = self._pick(self._active_shops())
            shops = [shop] if shop else []
        send = push_send_create(shops=shops, **fields)
        for _attempt in range(6):  # synchronous: the person asks again when it fails
            try:
                push_send_estimate(send=send)
                break
            except ValidationError:
                self.sync_retries += 1
                send.refresh_from_db()
        else:
            return False
        push_send_confirm(send=send)
        return True

    def care_request(self) -> bool:
        customer = self.rng.choice(self.customers)
        care_request_create(
            customer=customer,
            type=self.rng.choice(["complaint", "information"]),
            subject=f"Richiesta {self._next('care')}",
        )
        return True

    def order(self) -> bool:
        shop = self._pick(self._active_shops())
        if shop is None:
            return False
        lines = [
            {
                "sku": f"SKU{self.rng.randint(1, 999):03d}",
                "name": "Prodotto",
                "quantity": self.rng.randint(1, 4),
                "price": Decimal(self.rng.randint(50, 5000)) / 100,
            }
            for _ in range(self.rng.randint(1, 3))
        ]
        order_create(
            number=f"ORD-SOAK-{self._next('order'):05d}",
            customer=self.rng.choice(self.customers),
            shop=shop,
            lines=lines,
        )
        return True

    def lead_upload(self) -> bool:
        campaign = self.rng.choice(self.call_campaigns)
        rows = []
        for line in range(self.rng.randint(5, 40)):
            self.lead_phone += 1
            rows.append(
                (
                    line + 2,
                    {
                        "customer_name": f"Lead {self.lead_phone}",
                        "tel1": f"3471{self.lead_phone:06d}",
                    },
                )
            )
        report = call_records_save(campaign=campaign, rows=rows, source="import")
        assert not report.errors, report.errors
        records = CallRecord.objects.filter(
            campaign=campaign, tel1__in=[row["tel1"] for _line, row in rows]
        )
        call_upload_create(campaign=campaign, records=records)
        return True

    def run(self, name: str) -> None:
        with self.deliver():
            made = getattr(self, name)()
        (self.done if made else self.skipped)[name] += 1


def _customers(count: int) -> None:
    Customer.objects.bulk_create(
        [
            Customer(
                msisdn=f"+39348{n:07d}",
                name=f"Cliente {n}",
                consent_push_sms=ConsentState.GIVEN,
            )
            for n in range(count)
        ]
    )


def _open_entries() -> int:
    return OutboxEntry.objects.filter(state__in=OPEN).count()


@pytest.mark.timeout(1500)
def test_soak_every_provider_ends_equal_to_vetrina(deliver, django_capture_on_commit_callbacks):
    started = time.monotonic()
    random.seed(SEED)  # the sandbox's fault dice and the outbox's jitter, too
    rng = random.Random(SEED)
    start = timezone.now()
    _customers(300)
    SmsAccount.objects.get_or_create()
    SmsAccount.objects.update(credit=Decimal("100000"), push_available=10_000_000)

    with time_machine.travel(start, tick=True) as clock:
        soak = Soak(rng, deliver)  # pulls AMM's programs before the faults start
        for provider in PROVIDERS:
            knob_set(provider=provider, error_rate=ERROR_RATE)

        names, weights = zip(*MIX.items(), strict=True)
        lost_answers = Counter()
        for number in range(1, OPERATIONS + 1):
            name = rng.choices(names, weights)[0]
            provider = PROVIDER_OF[name]
            lost = number % LOST_ANSWER_EVERY == 0 and provider != "wolkvox"
            if lost:  # Wolkvox cannot be asked what it got: a lost answer needs a person there
                knob_set(provider=provider, malformed_json=True)
            soak.run(name)
            if lost:
                knob_set(provider=provider, malformed_json=False)
                lost_answers[provider] += 1
            if number % SWEEP_EVERY == 0:
                clock.shift(timedelta(seconds=20))
                with django_capture_on_commit_callbacks(execute=True):
                    outbox_sweep(limit=10_000)
        operations_seconds = time.monotonic() - started

        # --- drain: beat keeps sweeping while time passes, until nothing is on its way ----
        rounds = 0
        while _open_entries() and rounds < MAX_DRAIN_ROUNDS:
            rounds += 1
            clock.shift(timedelta(seconds=120))
            with django_capture_on_commit_callbacks(execute=True):
                outbox_sweep(limit=10_000)
        stuck = list(
            OutboxEntry.objects.filter(state__in=OPEN).values_list(
                "id", "model_label", "operation", "state", "attempts", "waiting_for", "last_error"
            )[:20]
        )
        assert not stuck, f"still open after {rounds} drain rounds: {stuck}"

    for provider in PROVIDERS:
        knob_set(provider=provider, error_rate=0.0)

    # --- what ended failed, and why ------------------------------------------------------
    failed = list(
        OutboxEntry.objects.filter(state=OutboxState.FAILED).values_list(
            "id", "model_label", "operation", "error_code", "last_error"
        )
    )
    retries = sum(max(a - 1, 0) for a in OutboxEntry.objects.values_list("attempts", flat=True))
    errors_seen = RemoteCall.objects.filter(status_code__gte=500).count()

    # --- remote state equals local state, per provider and kind --------------------------
    problems: list[str] = []
    lost_count = duplicated = 0

    def compare(label: str, local: list, remote: list) -> None:
        nonlocal lost_count, duplicated
        local_c, remote_c = Counter(local), Counter(remote)
        missing = local_c - remote_c
        extra = remote_c - local_c
        twice = sum(n - 1 for n in remote_c.values() if n > 1)
        lost_count += sum(missing.values())
        duplicated += twice
        if missing or extra:
            problems.append(
                f"{label}: {sum(missing.values())} missing remotely {list(missing)[:5]}, "
                f"{sum(extra.values())} extra remotely {list(extra)[:5]}"
            )

    # VolantinoPiù shops: by code, and each shop's remote id is the one holding its code.
    remote_shops = SandboxObject.objects.filter(provider="volantinopiu", kind="shop")
    compare(
        "volantinopiu shops",
        list(Shop.objects.values_list("code", flat=True)),
        [o.data["codice"] for o in remote_shops],
    )
    compare(
        "volantinopiu shop ids",
        [(s.remote_id, s.code, s.description) for s in Shop.objects.all()],
        [(str(o.pk), o.data["codice"], o.data.get("descrizione", "")) for o in remote_shops],
    )
    # Media: never deleted remotely (no call exists), so every image ever made, once.
    compare(
        "volantinopiu media",
        [str(pk) for pk in Media.objects.values_list("remote_id", flat=True)],
        [
            str(pk)
            for pk in SandboxObject.objects.filter(
                provider="volantinopiu", kind="media"
            ).values_list("pk", flat=True)
        ],
    )
    compare(
        "volantinopiu campaigns",
        list(Campaign.objects.values_list("remote_id", flat=True)),
        [
            str(pk)
            for pk in SandboxObject.objects.filter(
                provider="volantinopiu", kind="campaign"
            ).values_list("pk", flat=True)
        ],
    )
    # AMM: cards by code with their balances, records by id.
    compare(
        "amm cards",
        [(c.code, c.points) for c in FidelityCard.objects.all()],
        [(c.code, c.points) for c in AmmCard.objects.all()],
    )
    compare(
        "amm records",
        list(PointMovement.objects.values_list("remote_id", flat=True)),
        [str(pk) for pk in AmmRecord.objects.values_list("pk", flat=True)],
    )
    drift = (
        FidelityCard.objects.exclude(remote_points=None)
        .exclude(remote_points=models_f("points"))
        .count()
    )
    # SMSHosting: one message per (transaction id, number) that Vetrina counts as inserted.
    compare(
        "smshosting messages",
        list(
            PushMessage.objects.exclude(remote_id="").values_list("batch__transaction_id", "msisdn")
        ),
        list(SmsMessage.objects.values_list("transaction_id", "to")),
    )
    compare(
        "smshosting message ids",
        list(PushMessage.objects.exclude(remote_id="").values_list("remote_id", flat=True)),
        [str(pk) for pk in SmsMessage.objects.values_list("pk", flat=True)],
    )
    accounted = PushMessage.objects.count()
    recipients = sum(len(b.recipients) for b in PushBatch.objects.all())
    if accounted != recipients:
        problems.append(f"push: {recipients} recipients, {accounted} messages accounted for")
    unsent = (
        PushSend.objects.exclude(status=SendStatus.SENT)
        .filter(status__in=(SendStatus.SENDING, SendStatus.FAILED))
        .count()
    )
    # Wolkvox: every chunk's leads once, per campaign.
    expected_leads = []
    for chunk in CallUploadChunk.objects.select_related("upload__campaign"):
        phones = CallRecord.objects.filter(id__in=chunk.record_ids).values_list("tel1", flat=True)
        expected_leads += [(chunk.upload.campaign.remote_campaign_id, tel) for tel in phones]
    compare(
        "wolkvox leads",
        expected_leads,
        list(WolkvoxRecord.objects.values_list("campaign_id", "tel1")),
    )
    # Aisac: requests by our reference, orders by number.
    compare(
        "aisac requests",
        [(str(r.reference), r.remote_id) for r in CareRequest.objects.all()],
        [
            (o.data["reference"], f"REQ-{o.pk}")
            for o in SandboxObject.objects.filter(provider="aisac", kind="care_request")
        ],
    )
    compare(
        "aisac orders",
        list(Order.objects.values_list("number", flat=True)),
        [o.data["order_id"] for o in SandboxObject.objects.filter(provider="aisac", kind="order")],
    )

    elapsed = time.monotonic() - started
    print()
    print(
        f"soak: {OPERATIONS} operations in {elapsed:.1f} s "
        f"({operations_seconds:.1f} s operations, {rounds} drain rounds)"
    )
    print(f"  mix done: {dict(soak.done)}")
    print(f"  skipped (nothing to act on): {dict(soak.skipped)}")
    print(f"  lost answers injected: {dict(lost_answers)}; 5xx answers seen: {errors_seen}")
    print(
        f"  outbox entries: {OutboxEntry.objects.count()}, remote calls: "
        f"{RemoteCall.objects.count()}"
    )
    print(
        f"  retries (attempts beyond the first): {retries}; estimate asked again: "
        f"{soak.sync_retries}"
    )
    print(f"  failures surfaced: {len(failed)} {failed[:10]}")
    print(
        f"  lost: {lost_count}, duplicated: {duplicated}, balance drift: {drift}, "
        f"sends not sent: {unsent}"
    )
    for problem in problems:
        print(f"  PROBLEM {problem}")

    assert not problems, problems
    assert failed == []
    assert lost_count == 0 and duplicated == 0
    assert drift == 0
    assert unsent == 0


def models_f(name: str):
    from django.db.models import F

    return F(name)
