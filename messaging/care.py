"""WhatsApp customer care with Aisac: requests, orders, and what Aisac knows of a customer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Shop
from core.errors import ContractDrift, NeedsDecision, ProviderError
from core.models import Operation, SyncStatus
from core.outbox import outbox_enqueue
from core.pull import DriftLine, DriftReport, pull_register
from loyalty.models import Customer
from messaging.aisac import RemoteRequest, aisac_client
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


# How far a remote request's creation time may lie outside the span from our record's creation
# to now and still be what a lost createRequest made: clocks differ, and Aisac's times (Italian
# local time, the document's "CEST") are given to the second, ours to the microsecond.
LOOKUP_CLOCK_SKEW = timedelta(minutes=2)
# A lookup reads at most this many requests (Aisac may not honour the filters we send, which
# are our design): past it a person decides, rather than a request being opened twice.
LOOKUP_MAX_REQUESTS = 1000


def care_request_send(request: CareRequest) -> RemoteRequest:
    """createRequest with our reference. A success answer Vetrina cannot find the request's id
    in (the document prints no answer) is resolved by looking the request up at once, as after
    a lost answer; it stays a ContractDrift only if that finds nothing."""
    try:
        return aisac_client().create_request(
            user_key=request.customer.amm_msisdn,
            type=request.type,
            subject=request.subject,
            message=request.message,
            reference=str(request.reference),
        )
    except ContractDrift as drift:
        if "request_id" not in drift.fields:
            raise
        try:
            found = care_request_lookup(request)
        except ProviderError as exc:
            exc.outcome_unknown = True  # the create may have been applied: look it up next time
            raise
        if found is None:
            raise
        return found


def care_request_lookup(request: CareRequest) -> RemoteRequest | None:
    """After a lost createRequest answer: the one request at Aisac that is this one, or None.

    getRequests is asked with our filters (`user_key`, `reference`, `from_date`), but what it
    answers is matched here, whatever Aisac did with them (the document names none):

    - a listed request that carries a `reference` (even blank) is ours only if it is exactly our
      reference: Aisac keeps references, so our lost request would carry ours;
    - a listed request with no `reference` at all is ours only if its user key and subject are
      exactly ours and it was made between our record's creation and now (± LOOKUP_CLOCK_SKEW);
      this fallback is off as soon as any listed request carries a reference;
    - a request another of our records already holds is never a candidate.

    None when nothing matches (the create is sent again, as before). Several candidates are a
    NeedsDecision: none is adopted, none is opened again."""
    ours = str(request.reference)
    user_key = request.customer.amm_msisdn
    since = request.created_at - LOOKUP_CLOCK_SKEW
    until = timezone.now() + LOOKUP_CLOCK_SKEW
    by_reference: list[RemoteRequest] = []
    by_details: list[RemoteRequest] = []
    keeps_references = False
    listed = aisac_client().iter_requests(user_key=user_key, reference=ours, from_date=since)
    for seen, item in enumerate(listed, 1):
        if seen > LOOKUP_MAX_REQUESTS:
            raise NeedsDecision(
                _(
                    "Looking this request up at Aisac would mean reading more than %(count)d "
                    "requests, so Vetrina does not open it again: check in Aisac whether it "
                    "arrived (the next import from Aisac brings in the requests it holds)."
                )
                % {"count": LOOKUP_MAX_REQUESTS},
                provider="aisac",
                code="LOOKUP_TOO_LONG",
            )
        if item.reference is not None:
            keeps_references = keeps_references or bool(item.reference.strip())
            if item.reference == ours:
                by_reference.append(item)
        elif (
            item.user_key == user_key
            and item.subject == request.subject
            and item.created_at is not None
            and since <= item.created_at <= until
        ):
            by_details.append(item)
    candidates = by_reference or ([] if keeps_references else by_details)
    taken = set(
        CareRequest.objects.filter(remote_id__in=[c.request_id for c in candidates])
        .exclude(pk=request.pk)
        .values_list("remote_id", flat=True)
    )
    candidates = [c for c in candidates if c.request_id not in taken]
    if len(candidates) > 1:
        raise NeedsDecision(
            _(
                "Aisac holds %(count)d requests that could be this one (same customer and "
                "subject, opened since it was made here): Vetrina neither picks one nor opens it "
                "again. Check them in Aisac; the next import from Aisac brings them in."
            )
            % {"count": len(candidates)},
            provider="aisac",
            code="SEVERAL_CANDIDATES",
        )
    return candidates[0] if candidates else None


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
