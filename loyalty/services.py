"""The only way to change loyalty data: the admin, the store forms and the API call these."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Shop
from core.models import Operation
from core.outbox import outbox_enqueue
from loyalty.amm import points_for_amount
from loyalty.consent import CONSENT_FIELD, consent_set
from loyalty.models import (
    Customer,
    FidelityCard,
    FidelityProgram,
    MovementAction,
    PointMovement,
)
from loyalty.msisdn import msisdn_normalise

# A customer as the admin lists them and the API gives them (besides the id).
CUSTOMER_FIELDS = ("msisdn", "name", "surname", "email", *CONSENT_FIELD.values(), "created_at")
# What a person gives for a movement (the admin's form and the API): see movement_create.
MOVEMENT_FIELDS = ("action", "points", "amount", "reward_id", "note", "send_sms", "shop")


def _author(user) -> Any:
    """Who made a record: a person signed in, else nobody (a script, a sync)."""
    return user if user is not None and user.is_authenticated else None


# --- customers -----------------------------------------------------------------------------
def customer_get_or_create(
    *, msisdn: str, name: str = "", surname: str = "", email: str = ""
) -> Customer:
    """The customer with this mobile number, created if missing. Details given fill in what
    is empty; they never overwrite what the customer already has."""
    number = msisdn_normalise(msisdn)
    customer = Customer.objects.filter(msisdn=number).first()
    if customer is None:
        customer = Customer(msisdn=number, name=name, surname=surname, email=email)
        customer.full_clean()
        customer.save()
        return customer
    changed = []
    for field, value in (("name", name), ("surname", surname), ("email", email)):
        if value and not getattr(customer, field):
            setattr(customer, field, value)
            changed.append(field)
    if changed:
        customer.full_clean()
        customer.save(update_fields=changed)
    return customer


def customer_update(*, customer: Customer, name: str, surname: str, email: str) -> Customer:
    customer.name, customer.surname, customer.email = name, surname, email
    customer.full_clean()
    customer.save(update_fields=["name", "surname", "email"])
    return customer


def customer_save(
    *,
    customer: Customer | None = None,
    msisdn: str = "",
    name: str = "",
    surname: str = "",
    email: str = "",
    consents: Mapping[str, bool | None],
    source: str,
    user=None,
) -> Customer:
    """Save a customer and their consents in one transaction: the admin, the API and the
    counter call this. Without `customer`, the one with this number is found or created (what
    is given fills in what is empty); with it, its details become the ones given. `consents`
    (channel → given, withdrawn or None for unknown) names the channels that change: the others
    stay as they are, and every change lands in the history with `source`."""
    with transaction.atomic():
        if customer is None:
            customer = customer_get_or_create(
                msisdn=msisdn, name=name, surname=surname, email=email
            )
        else:
            customer = customer_update(customer=customer, name=name, surname=surname, email=email)
        for channel, given in consents.items():
            consent_set(customer=customer, channel=channel, given=given, source=source, user=user)
    return customer


# --- cards ---------------------------------------------------------------------------------
def card_enrol(
    *,
    program: FidelityProgram,
    customer: Customer,
    shop: Shop | None,
    code: str = "",
    starting_points: int | None = None,
    starting_amount: Decimal | None = None,
    send_sms: bool = False,
    user=None,
) -> FidelityCard:
    """Create a card for a customer and queue it for AMM (`POST fidelity/{program}/card`).

    A starting amount, when given, decides the starting points by AMM's rule (amount ÷ point
    value, rounded down), so the balance here is right before AMM answers; the starting points
    given count only without it."""
    if starting_amount is not None:
        starting_points = (
            points_for_amount(starting_amount, program.point_value) if starting_amount else 0
        )
    elif starting_points is None:
        starting_points = 0
    card = FidelityCard(
        program=program,
        customer=customer,
        shop=shop,
        code=code or "",
        starting_points=starting_points,
        starting_amount=starting_amount,
        send_sms=send_sms,
        points=starting_points,
        created_by=_author(user),
    )
    card.full_clean()
    if shop is not None and not shop.active:
        raise ValidationError({"shop": _("The shop %(shop)s is not active.") % {"shop": shop}})
    with transaction.atomic():
        card.save()
        outbox_enqueue(obj=card, operation=Operation.CREATE)
    return card


def card_recompute_points(*, card_id: int) -> int:
    """The local balance: starting points plus every movement (one UPDATE, no race)."""
    card = FidelityCard.objects.only("starting_points").get(pk=card_id)
    total = PointMovement.objects.filter(card_id=card_id).aggregate(s=Sum("points"))["s"] or 0
    points = card.starting_points + total
    FidelityCard.objects.filter(pk=card_id).update(points=points)
    return points


# --- movements -----------------------------------------------------------------------------
def movement_check(
    *,
    card: FidelityCard,
    action: str,
    points: int | None = None,
    amount: Decimal | None = None,
    reward_id: int | None = None,
) -> None:
    """The rules of a movement, checked before anything is saved or sent."""
    errors: dict[str, str] = {}
    if not card.active:
        errors["card"] = _("The card %(card)s is not active.") % {"card": card}
    if action == MovementAction.ADD:
        if points is None and amount is None:
            errors["points"] = _("Give the points to add or the amount spent.")
        if points is not None and points <= 0:
            errors["points"] = _("The points to add must be more than zero.")
        if amount is not None and amount <= 0:
            errors["amount"] = _("The amount spent must be more than zero.")
    elif action == MovementAction.REWARD and not reward_id:
        errors["reward_id"] = _("A reward needs the reward id.")
    if errors:
        raise ValidationError(errors)


def movement_create(
    *,
    card: FidelityCard,
    action: str,
    points: int | None = None,
    amount: Decimal | None = None,
    reward_id: int | None = None,
    note: str = "",
    send_sms: bool = False,
    shop: Shop | None = None,
    user=None,
) -> PointMovement:
    """A movement on a card, queued for AMM; the card's balance follows. What an action does
    not use is ignored:
    - ADD: by points, or by amount spent (points = amount ÷ point value, rounded down);
    - REWARD: AMM deducts the reward's points; they are known once AMM answers;
    - AZZERA (any other action): the card's balance goes to zero."""
    movement_check(card=card, action=action, points=points, amount=amount, reward_id=reward_id)
    if action == MovementAction.ADD:
        earned = (
            points if points is not None else points_for_amount(amount, card.program.point_value)
        )
        fields = {
            "points": earned,
            "points_requested": points,
            "amount": amount,
            "send_sms": send_sms,
        }
    elif action == MovementAction.REWARD:
        fields = {"points": 0, "reward_id": reward_id, "send_sms": send_sms}
    else:
        card.refresh_from_db(fields=["points"])
        action, fields = MovementAction.AZZERA, {"points": -card.points}
    movement = PointMovement(
        card=card,
        action=action,
        date=timezone.now(),
        note=note,
        shop=shop,
        created_by=_author(user),
        **fields,
    )
    movement.full_clean()
    with transaction.atomic():
        movement.save()
        card_recompute_points(card_id=card.pk)
        outbox_enqueue(obj=movement, operation=Operation.CREATE)
    card.refresh_from_db(fields=["points"])
    return movement


def movement_add(
    *, card: FidelityCard, points: int | None = None, amount: Decimal | None = None, **details
) -> PointMovement:
    """ADD (see movement_create; `details`: note, send_sms, shop, user)."""
    return movement_create(
        card=card, action=MovementAction.ADD, points=points, amount=amount, **details
    )


def movement_reward(*, card: FidelityCard, reward_id: int | None, **details) -> PointMovement:
    """REWARD (see movement_create; `details`: note, send_sms, shop, user)."""
    return movement_create(card=card, action=MovementAction.REWARD, reward_id=reward_id, **details)


def movement_reset(
    *, card: FidelityCard, note: str = "", shop: Shop | None = None, user=None
) -> PointMovement:
    """AZZERA: the card's balance goes to zero."""
    return movement_create(card=card, action=MovementAction.AZZERA, note=note, shop=shop, user=user)


def movement_delete(*, movement: PointMovement) -> None:
    """Delete a movement here and at AMM (`DELETE .../record/{id}`); the balance follows."""
    card_id = movement.card_id
    with transaction.atomic():
        outbox_enqueue(obj=movement, operation=Operation.DELETE)
        movement.delete()
        card_recompute_points(card_id=card_id)
