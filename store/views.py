"""The counter forms: a store manager's whole job on a phone, for their own shops only."""

from __future__ import annotations

from contextlib import suppress
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loyalty.consent import CONSENT_FIELD
from loyalty.models import ConsentSource, Customer, FidelityCard, FidelityProgram
from loyalty.services import (
    card_enrol,
    customer_save,
    movement_add,
    movement_reset,
    movement_reward,
    msisdn_normalise,
)
from store.access import store_cards, store_flyer_requests, store_shops
from store.forms import (
    EnrolForm,
    FlyerRequestForm,
    LoadPointsForm,
    LookupForm,
    ResetForm,
    RewardForm,
)
from store.services import flyer_request_create


class StoreLoginView(auth_views.LoginView):
    template_name = "store/login.html"
    # Without ?next= the counter's home, not Django's /accounts/profile/ (which does not exist).
    next_page = "store:home"
    redirect_authenticated_user = True


def store_manager_required(view):
    """Logged in, and a store manager of at least one active shop; else to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{_login_url()}?next={request.path}")
        if not store_shops(request.user).exists():
            return render(request, "store/not_allowed.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _login_url() -> str:
    from django.urls import reverse

    return reverse("store:login")


def _current_shop(request: HttpRequest):
    shops = store_shops(request.user)
    chosen = request.session.get("store_shop")
    return shops.filter(pk=chosen).first() or shops.first()


@store_manager_required
def home(request: HttpRequest) -> HttpResponse:
    shops = store_shops(request.user)
    if request.method == "POST" and "shop" in request.POST:
        shop = shops.filter(pk=request.POST.get("shop")).first()
        if shop is not None:
            request.session["store_shop"] = shop.pk
        return redirect("store:home")
    form = LookupForm(request.GET or None)
    results = None
    if form.is_valid():
        results = _lookup(request, form.cleaned_data["q"])
        if len(results) == 1:
            return redirect("store:card", card_id=results[0].pk)
    context = {"shops": shops, "shop": _current_shop(request), "form": form, "results": results}
    return render(request, "store/home.html", context)


def _lookup(request: HttpRequest, query: str) -> list:
    cards = store_cards(request.user)
    condition = Q(code__iexact=query.strip())
    with suppress(ValidationError):  # not a phone number: look by code only
        condition |= Q(customer__msisdn=msisdn_normalise(query))
    return list(cards.filter(condition).order_by("-id")[:20])


@store_manager_required
def enrol(request: HttpRequest) -> HttpResponse:
    shop = _current_shop(request)
    form = EnrolForm(request.POST or None, initial={"program": FidelityProgram.objects.first()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer, card = _enrol(request, shop, data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Card enrolled for %(customer)s.") % {"customer": customer})
            return redirect("store:card", card_id=card.pk)
    return render(request, "store/enrol.html", {"form": form, "shop": shop})


@transaction.atomic  # a card refused leaves no customer nor consent made for it behind
def _enrol(request: HttpRequest, shop, data: dict) -> tuple[Customer, FidelityCard]:
    customer = customer_save(
        msisdn=data["msisdn"],
        name=data["name"],
        surname=data["surname"],
        email=data["email"],
        # A ticked box gives consent; an unticked one changes nothing.
        consents={channel: True for channel, name in CONSENT_FIELD.items() if data[name]},
        source=ConsentSource.STORE,
        user=request.user,
    )
    card = card_enrol(
        program=data["program"],
        customer=customer,
        shop=shop,
        code=data["code"],
        starting_amount=data["starting_amount"],
        send_sms=data["send_sms"],
        user=request.user,
    )
    return customer, card


@store_manager_required
def card_detail(request: HttpRequest, card_id: int) -> HttpResponse:
    card = get_object_or_404(store_cards(request.user), pk=card_id)
    context = {
        "card": card,
        "shop": _current_shop(request),
        "movements": card.movements.select_related("shop").order_by("-date", "-id")[:10],
        "load_form": LoadPointsForm(),
        "reward_form": RewardForm(program=card.program),
        "reset_form": ResetForm(),
    }
    return render(request, "store/card.html", context)


@require_POST
@store_manager_required
def card_action(request: HttpRequest, card_id: int, action: str) -> HttpResponse:
    card = get_object_or_404(store_cards(request.user), pk=card_id)
    shop = _current_shop(request)
    forms = {"load": LoadPointsForm, "reward": RewardForm, "reset": ResetForm}
    if action not in forms:
        return redirect("store:card", card_id=card.pk)
    form = (
        RewardForm(request.POST, program=card.program)
        if action == "reward"
        else forms[action](request.POST)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "load":
                movement = movement_add(
                    card=card,
                    amount=data["amount"],
                    note=data["note"],
                    shop=shop,
                    user=request.user,
                )
                done = _("%(points)d points loaded.") % {"points": movement.points}
            elif action == "reward":
                movement_reward(
                    card=card,
                    reward_id=data["reward"].remote_id,
                    note=data["note"],
                    shop=shop,
                    user=request.user,
                )
                done = _("Reward given; AMM is deducting its points.")
            else:
                movement_reset(card=card, note=data["note"], shop=shop, user=request.user)
                done = _("The card's points were reset to zero.")
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("store:card", card_id=card.pk)
    context = {
        "card": card,
        "shop": shop,
        "movements": card.movements.select_related("shop").order_by("-date", "-id")[:10],
        "load_form": form if action == "load" else LoadPointsForm(),
        "reward_form": form if action == "reward" else RewardForm(program=card.program),
        "reset_form": form if action == "reset" else ResetForm(),
    }
    return render(request, "store/card.html", context, status=400)


@store_manager_required
def flyers(request: HttpRequest) -> HttpResponse:
    """The current shop's flyer requests and a form for a new one."""
    shop = _current_shop(request)
    form = FlyerRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            flyer_request_create(user=request.user, shop=shop, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("Request sent: the marketing team will approve it or tell you why not.")
            )
            return redirect("store:flyers")
    context = {
        "shop": shop,
        "form": form,
        "requests": store_flyer_requests(request.user).filter(shop=shop)[:20],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "store/flyers.html", context, status=status)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
