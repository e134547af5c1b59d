"""audience_count_ms: counting an audience (loyalty.selectors.audience_customers(…).count(), as
the admin's page and the API's `count` do) over the large scene — every imported card, the push
audience's card holders, a million movements over a year — with the cards spread over 10 shops
and one customer in 7 tagged. Each rule set is counted once to warm up, then `repeats` times;
the figure is the worst p95 over the rule sets: every rule at once, the issue's example
("Milano shops, at least 200 points, no purchase in 60 days"), and the rules that select least
(each reads every card or every customer)."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection
from django.db.models import F
from django.db.models.functions import Mod
from django.utils import timezone

from bench.measure import percentile
from campaigns.models import Shop
from loyalty.audiences import audience_rules_clean
from loyalty.models import Audience, Customer, CustomerTag, FidelityCard
from loyalty.selectors import audience_customers

SHOPS = 10


def seed() -> dict[str, dict]:
    """Holders, shops for the cards, a tag for some customers; the rule sets to count."""
    _hold_cards()
    shops = [
        Shop.objects.create(
            code=f"AUD-{n:02d}",
            address="Via Roma 1",
            city="Milano",
            postal_code="20121",
            province="MI",
        )
        for n in range(SHOPS)
    ]
    by_shop = FidelityCard.objects.annotate(slot=Mod("id", SHOPS))
    for n, shop in enumerate(shops):
        by_shop.filter(slot=n).update(shop=shop)
    vip = CustomerTag.objects.create(name="VIP")
    through = Customer.tags.through
    ids = Customer.objects.order_by("id").values_list("id", flat=True)
    through.objects.bulk_create(
        [through(customer_id=pk, customertag_id=vip.pk) for pk in list(ids)[::7]],
        batch_size=20_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    today = timezone.localdate()
    program = FidelityCard.objects.values_list("program_id", flat=True).first()
    return {
        "every_rule": {
            "shops": [shop.pk for shop in shops[:3]],
            "program": program,
            "points_min": 200,
            "points_max": 450,
            "last_movement_after": (today - timedelta(days=300)).isoformat(),
            "last_movement_before": (today - timedelta(days=10)).isoformat(),
            "card_active": True,
            "created_since": (today - timedelta(days=600)).isoformat(),
            "tag": vip.pk,
        },
        "issue_example": {
            "shops": [shop.pk for shop in shops[:4]],
            "points_min": 200,
            "last_movement_before": (today - timedelta(days=60)).isoformat(),
        },
        # The scene's cards buy every 36 days, the card holders' most recently: 10 days finds
        # some who stopped (60 days, in the example, finds nobody in this scene).
        "stopped_buying": {"last_movement_before": (today - timedelta(days=10)).isoformat()},
        "bought_recently": {"last_movement_after": (today - timedelta(days=30)).isoformat()},
        "everybody": {},
    }


def _hold_cards() -> None:
    """The imported cards have no holder: the scene's customers without a card get one each
    (both made by bulk inserts, so their ids follow each other: one UPDATE)."""
    lone = Customer.objects.filter(cards=None).order_by("id").values_list("id", flat=True)
    free = FidelityCard.objects.filter(customer=None).order_by("id").values_list("id", flat=True)
    first_customer, first_card = lone.first(), free.first()
    if first_customer is None or first_card is None:
        return
    count = min(lone.count(), free.count())
    FidelityCard.objects.filter(customer=None, id__lt=first_card + count).update(
        customer_id=F("id") - first_card + first_customer
    )


def run(*, rule_sets: dict[str, dict], repeats: int) -> dict[str, float]:
    results: dict[str, float] = {}
    for name, rules in rule_sets.items():
        audience = Audience(name=name, rules=audience_rules_clean(rules))
        found = audience_customers(audience).count()  # warm-up
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            audience_customers(audience).count()
            timings.append((time.perf_counter() - started) * 1000)
        results[f"_audience_{name}_p95_ms"] = percentile(timings, 0.95)
        results[f"_audience_{name}_customers"] = float(found)
    results["audience_count_ms"] = max(
        value for key, value in results.items() if key.endswith("_p95_ms")
    )
    return results
