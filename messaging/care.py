"""WhatsApp customer care with Aisac: requests, orders, and what Aisac knows of a customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Shop
from core.errors import ProviderError
from core.models import Operation, SyncStatus
from core.outbox import outbox_enqueue
from core.pull import DriftLine, DriftReport, pull_register
from loyalty.models import Customer
from messaging.aisac import aisac_client
from messaging.models import CareRequest, Order, OrderLine


def care_request_create(
    *, customer: Customer, type: str, subject: str, message: str = ""
) -> CareRequest:
    """Open a care request for a customer; it reaches Aisac (createRequest) through the outbox."""
    if customer.erased_at:
        raise ValidationError(_("This customer was erased."))
    request = CareRequest(customer=customer, type=type, subject=subject, message=message)
    request.full_clean()
    with transaction.atomic():
        request.save()
        outbox_enqueue(obj=request, operation=Operation.CREATE)
    return request


def order_create(
    *, number: str, customer: Customer, shop: Shop, lines: list[dict[str, Any]]
) -> Order:
    """An order for Aisac (createOrder); the total is the sum of the lines."""
    if not lines:
        raise ValidationError(_("An order needs at least one line."))
    built = []
    for line in lines:
        item = OrderLine(
            sku=line.get("sku", ""),
            name=line.get("name", ""),
            quantity=line.get("quantity"),
            price=line.get("price"),
        )
        item.full_clean(exclude=["order"])
        if item.quantity < 1:
            raise ValidationError({"quantity": _("A line needs a quantity of at least 1.")})
        built.append(item)
    total = sum((Decimal(item.price) * item.quantity for item in built), Decimal("0"))
    order = Order(number=number, customer=customer, shop=shop, total=total)
    order.full_clean()
    with transaction.atomic():
        order.save()
        for item in built:
            item.order = order
        OrderLine.objects.bulk_create(built)
        outbox_enqueue(obj=order, operation=Operation.CREATE)
    return order


def customer_aisac_activity(*, customer: Customer) -> dict[str, Any]:
    """The customer's WhatsApp flows and charges at Aisac, read live; an error says so."""
    if customer.erased_at:
        return {"flows": [], "charges": [], "error": ""}
    client = aisac_client()
    try:
        return {
            "flows": client.flows_by_user_key(customer.amm_msisdn),
            "charges": client.charges_by_user_key(customer.amm_msisdn),
            "error": "",
        }
    except ProviderError as exc:
        return {"flows": [], "charges": [], "error": str(exc)}


def aisac_pull(*, dry_run: bool, progress=None, **options) -> DriftReport:
    """getRequests: refresh the status of our requests, import those opened elsewhere (for a
    customer we know), report what Aisac has no trace of."""
    report = DriftReport(provider="Aisac", dry_run=dry_run)
    remote = list(aisac_client().iter_requests())
    local = {r.remote_id: r for r in CareRequest.objects.exclude(remote_id=None)}
    customers = {c.amm_msisdn: c for c in Customer.objects.filter(erased_at=None)}
    now = timezone.now()
    with transaction.atomic():
        for item in remote:
            request = local.pop(item.request_id, None)
            if request is not None:
                if request.status != item.status:
                    report.add(
                        "different",
                        DriftLine(
                            "request",
                            request.subject,
                            request.pk,
                            item.request_id,
                            {"status": (request.status, item.status)},
                        ),
                    )
                    if not dry_run:
                        CareRequest.objects.filter(pk=request.pk).update(
                            status=item.status[:32], remote_data=item.raw
                        )
                else:
                    report.count_in_step("request")
                continue
            customer = customers.get(item.user_key)
            line = DriftLine("request", item.subject, remote_id=item.request_id)
            report.add("only_remote", line)
            if customer is None:
                line.note = _("not imported: no customer here with this phone")
                continue
            if not dry_run:
                CareRequest.objects.create(
                    customer=customer,
                    type=item.type
                    if item.type in dict(CareRequest._meta.get_field("type").choices)
                    else "other",
                    subject=item.subject[:200] or "—",
                    status=item.status[:32],
                    remote_id=item.request_id,
                    remote_data=item.raw,
                    sync_status=SyncStatus.SYNCED,
                    synced_at=now,
                    last_sync_attempt_at=now,
                )
            report.count_imported("request")
        for request in local.values():
            report.add(
                "only_local", DriftLine("request", request.subject, request.pk, request.remote_id)
            )
    return report


pull_register("aisac", aisac_pull)
