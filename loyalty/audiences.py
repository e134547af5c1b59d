"""Audiences: a saved, named rule set over customers, counted and previewed live.

Every rule is optional and they all hold together (AND). `rules` is plain JSON:

    {"shops": [1, 2], "program": 1, "points_min": 200, "points_max": 1000,
     "last_movement_after": "2025-01-01", "last_movement_before": "2025-03-31",
     "card_active": true, "created_since": "2024-06-01", "tag": 3}

- The card rules (shops, program, points, last movement, card active) hold for one and the same
  card of the customer: "a card of Milano with at least 200 points".
- Dates are days in the chain's time zone, both ends included. A card with no movement at all
  has had none since any day: it is in "last movement on or before", never in "… on or after".
- Erased customers are never in an audience; consent is the sending channel's gate, not a rule.

The count reads indexes only: the cards through their own columns, the last movement as an
EXISTS on the movements' (card, date) index — a look-up per candidate card, not a read of a
million movements (measured: docs/benchmarks.md, `audience_count_ms`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Shop
from loyalty.models import (
    Audience,
    Customer,
    CustomerTag,
    FidelityCard,
    FidelityProgram,
    PointMovement,
)

PREVIEW_ROWS = 20

# The JSON type of each rule: what the API and a stored audience may hold.
IDS, ID, INT, DATE, BOOL = "ids", "id", "int", "date", "bool"
RULE_KINDS = {
    "shops": IDS,
    "program": ID,
    "points_min": INT,
    "points_max": INT,
    "last_movement_after": DATE,
    "last_movement_before": DATE,
    "card_active": BOOL,
    "created_since": DATE,
    "tag": ID,
}
CARD_RULES = (
    "shops",
    "program",
    "points_min",
    "points_max",
    "last_movement_after",
    "last_movement_before",
    "card_active",
)
_KIND_SCHEMA = {
    IDS: {"type": "array", "items": {"type": "integer"}},
    ID: {"type": "integer"},
    INT: {"type": "integer"},
    DATE: {"type": "string", "format": "date"},
    BOOL: {"type": "boolean"},
}
_KIND_EXPECTED = {
    IDS: gettext_lazy("Give a list of ids."),
    ID: gettext_lazy("Give an id (a whole number)."),
    INT: gettext_lazy("Give a whole number."),
    DATE: gettext_lazy("Give a date as YYYY-MM-DD."),
    BOOL: gettext_lazy("Give true or false."),
}


# Bounds that keep every value a database and the time zone arithmetic can take.
POINTS_LIMIT = 1_000_000_000
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
LARGEST_ID = 2**63 - 1


def _date_field(label, help_text) -> forms.DateField:
    """A day, as ISO in JSON and in the browser's own date picker (which posts ISO too)."""
    return forms.DateField(
        label=label,
        help_text=help_text,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
    )


def _points_field(label, help_text) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        required=False,
        min_value=-POINTS_LIMIT,
        max_value=POINTS_LIMIT,
    )


class _ShopsField(forms.ModelMultipleChoiceField):
    """Ids a database can hold, checked before any query (a larger one is an unknown id)."""

    def _check_values(self, value):
        for pk in value if isinstance(value, (list, tuple)) else ():
            if not str(pk).isdigit() or int(pk) > LARGEST_ID:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class AudienceRulesForm(forms.Form):
    """The rules, each field named as its JSON key: the admin shows these, and the API's JSON is
    checked through them (audience_rules_clean)."""

    shops = _ShopsField(
        label=capfirst(gettext_lazy("shops")),
        queryset=Shop.objects.order_by("code"),
        required=False,
        help_text=gettext_lazy("Customers with a card enrolled in one of these shops."),
    )
    program = forms.ModelChoiceField(
        label=capfirst(gettext_lazy("program")),
        queryset=FidelityProgram.objects.all(),
        required=False,
        help_text=gettext_lazy("Customers with a card of this program."),
    )
    points_min = _points_field(
        capfirst(gettext_lazy("points at least")),
        gettext_lazy("The card's balance, this many points or more."),
    )
    points_max = _points_field(
        capfirst(gettext_lazy("points at most")),
        gettext_lazy("The card's balance, this many points or fewer."),
    )
    last_movement_after = _date_field(
        capfirst(gettext_lazy("last movement on or after")),
        gettext_lazy("The card had a movement on this day or later."),
    )
    last_movement_before = _date_field(
        capfirst(gettext_lazy("last movement on or before")),
        gettext_lazy(
            "The card had no movement after this day (a card with no movement at all too): "
            "customers who stopped buying."
        ),
    )
    card_active = forms.TypedChoiceField(
        label=capfirst(gettext_lazy("card active")),
        choices=[
            ("", gettext_lazy("any card")),
            ("true", gettext_lazy("active cards only")),
            ("false", gettext_lazy("inactive cards only")),
        ],
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
    )
    created_since = _date_field(
        capfirst(gettext_lazy("customer since")),
        gettext_lazy("Customers created on this day or later."),
    )
    tag = forms.ModelChoiceField(
        label=capfirst(gettext_lazy("tag")),
        queryset=CustomerTag.objects.all(),
        required=False,
        help_text=gettext_lazy("Customers with this tag."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("points_min"), data.get("points_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "points_max",
                _("The maximum (%(max)d) is below the minimum (%(min)d): nobody can match.")
                % {"max": high, "min": low},
            )
        after, before = data.get("last_movement_after"), data.get("last_movement_before")
        if after and before and after > before:
            self.add_error(
                "last_movement_before",
                _("This day comes before the “on or after” day: nobody can match."),
            )
        return data


def audience_rules_from_form(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """A rules form's cleaned data as the JSON an audience keeps: only the rules given."""
    rules: dict[str, Any] = {}
    for key, kind in RULE_KINDS.items():
        value = cleaned.get(key)
        if value is None or value == "" or (kind == IDS and not value):
            continue
        if kind == IDS:
            value = sorted(obj.pk for obj in value)
        elif kind == ID:
            value = value.pk
        elif kind == DATE:
            value = value.isoformat()
        rules[key] = value
    return rules


def audience_rules_initial(rules: Mapping[str, Any]) -> dict[str, Any]:
    """A stored audience's rules as the form's initial values."""
    initial = {key: value for key, value in rules.items() if key in RULE_KINDS}
    if "card_active" in initial:
        initial["card_active"] = "true" if initial["card_active"] else "false"
    return initial


def audience_rules_clean(rules: Any) -> dict[str, Any]:
    """Check rules given as JSON (the API, a script) and return them as an audience keeps them.
    Raises ValidationError naming each wrong rule: an unknown one, a wrong type, an unknown
    shop/program/tag, an impossible range. Null or an empty list means "no such rule"."""
    if not isinstance(rules, Mapping):
        raise ValidationError(_("The rules are a JSON object: rule name → value."))
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    for key, value in rules.items():
        kind = RULE_KINDS.get(key)
        if kind is None:
            errors[key] = [
                _("Unknown rule. The rules are: %(rules)s.") % {"rules": ", ".join(RULE_KINDS)}
            ]
        elif value is None:
            continue
        elif not _is_kind(value, kind):
            errors[key] = [str(_KIND_EXPECTED[kind])]
        else:
            data[key] = ("true" if value else "false") if kind == BOOL else value
    form = AudienceRulesForm(data)
    if not form.is_valid():
        errors.update({key: list(messages) for key, messages in form.errors.items()})
    if errors:
        raise ValidationError(errors)
    return audience_rules_from_form(form.cleaned_data)


def _is_kind(value: Any, kind: str) -> bool:
    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if kind == IDS:
        return isinstance(value, list) and all(whole(v) for v in value)
    if kind in (ID, INT):
        return whole(value)
    if kind == DATE:
        return isinstance(value, str)
    return isinstance(value, bool)


def audience_rules_schema() -> dict[str, Any]:
    """The OpenAPI schema of `rules`, from the form's labels and help texts."""
    fields = AudienceRulesForm.base_fields
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            key: {
                **_KIND_SCHEMA[kind],
                "nullable": True,
                "description": fields[key].help_text or fields[key].label,
            }
            for key, kind in RULE_KINDS.items()
        },
    }


# --- who is in it ----------------------------------------------------------------------------
def _day_start(day: str) -> datetime:
    return datetime.combine(
        date.fromisoformat(day), time.min, tzinfo=timezone.get_default_timezone()
    )


def _card_condition(rules: Mapping[str, Any]) -> Q:
    """The card rules as one condition on a card."""
    condition = Q(customer__isnull=False)
    if rules.get("shops"):
        condition &= Q(shop_id__in=rules["shops"])
    if rules.get("program") is not None:
        condition &= Q(program_id=rules["program"])
    if rules.get("points_min") is not None:
        condition &= Q(points__gte=rules["points_min"])
    if rules.get("points_max") is not None:
        condition &= Q(points__lte=rules["points_max"])
    if rules.get("card_active") is not None:
        condition &= Q(active=rules["card_active"])
    movements = PointMovement.objects.filter(card_id=OuterRef("pk"))
    if rules.get("last_movement_after"):
        since = _day_start(rules["last_movement_after"])
        condition &= Exists(movements.filter(date__gte=since))
    if rules.get("last_movement_before"):
        after = _day_start(rules["last_movement_before"]) + timedelta(days=1)
        condition &= ~Exists(movements.filter(date__gte=after))
    return condition


def audience_rules_customers(rules: Mapping[str, Any]) -> QuerySet[Customer]:
    """The customers these (already checked) rules pick now, each once, erased ones never.
    A rule this module does not know is refused, never ignored: ignoring it would widen."""
    unknown = set(rules) - set(RULE_KINDS)
    if unknown:
        message = _("Unknown rule. The rules are: %(rules)s.") % {"rules": ", ".join(RULE_KINDS)}
        raise ValidationError({key: [message] for key in sorted(unknown)})
    customers = Customer.objects.filter(erased_at=None)
    if rules.get("created_since"):
        customers = customers.filter(created_at__gte=_day_start(rules["created_since"]))
    if rules.get("tag") is not None:
        tagged = Customer.tags.through.objects.filter(customertag_id=rules["tag"])
        customers = customers.filter(pk__in=tagged.values("customer_id"))
    if any(rules.get(key) not in (None, []) for key in CARD_RULES):
        cards = FidelityCard.objects.filter(_card_condition(rules))
        customers = customers.filter(pk__in=cards.values("customer_id"))
    return customers


def audience_count(audience: Audience) -> int:
    return audience_rules_customers(audience.rules).count()


@dataclass(frozen=True)
class AudienceRow:
    """One customer of a preview: the number masked, the shop and points of the card that put
    them in the audience (any card of theirs without card rules; the one with the most points
    when several qualify)."""

    id: int
    name: str
    msisdn: str
    shop: str
    points: int | None


@dataclass(frozen=True)
class AudiencePreview:
    count: int
    rows: list[AudienceRow]


def msisdn_masked(number: Any) -> str:
    """Only the last three digits, as the logs of inbound calls keep a phone."""
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    return f"…{digits[-3:]}" if digits else ""


def audience_rules_preview(
    rules: Mapping[str, Any], *, rows: int = PREVIEW_ROWS
) -> AudiencePreview:
    """How many customers the rules pick, and the first `rows` of them (oldest customers first:
    the primary key's order, which needs no sort)."""
    customers = audience_rules_customers(rules)
    first = list(customers.order_by("pk")[:rows])
    cards = FidelityCard.objects.filter(customer__in=first).select_related("shop")
    if any(rules.get(key) not in (None, []) for key in CARD_RULES):
        cards = cards.filter(_card_condition(rules))
    card_of: dict[int, FidelityCard] = {}
    for card in cards.order_by("-points", "pk"):
        card_of.setdefault(card.customer_id, card)
    return AudiencePreview(
        count=customers.count(),
        rows=[
            AudienceRow(
                id=customer.pk,
                name=f"{customer.name} {customer.surname}".strip(),
                msisdn=msisdn_masked(customer.msisdn),
                shop=card.shop.code if (card := card_of.get(customer.pk)) and card.shop_id else "",
                points=card.points if card else None,
            )
            for customer in first
        ],
    )


def audience_preview(audience: Audience, *, rows: int = PREVIEW_ROWS) -> AudiencePreview:
    return audience_rules_preview(audience.rules, rows=rows)


def audience_describe(rules: Mapping[str, Any]) -> str:
    """The rules in words, for lists ("Shops: PV-MI-01 · Points at least: 200"); a shop,
    program or tag deleted since shows as its id."""
    fields = AudienceRulesForm.base_fields

    def ids(key: str) -> list[int]:  # none: no query at all
        value = rules.get(key)
        return value if isinstance(value, list) else [value] if value else []

    names = {
        "shops": dict(Shop.objects.filter(pk__in=ids("shops")).values_list("pk", "code")),
        "program": dict(
            FidelityProgram.objects.filter(pk__in=ids("program")).values_list("pk", "name")
        ),
        "tag": dict(CustomerTag.objects.filter(pk__in=ids("tag")).values_list("pk", "name")),
    }
    parts = []
    for key, kind in RULE_KINDS.items():
        if rules.get(key) in (None, []):
            continue
        value = rules[key]
        if kind == IDS:
            shown = ", ".join(names[key].get(pk, f"#{pk}") for pk in value)
        elif kind == ID:
            shown = names[key].get(value, f"#{value}")
        elif kind == DATE:
            shown = date.fromisoformat(value).strftime("%d/%m/%Y")
        elif kind == BOOL:
            shown = _("yes") if value else _("no")
        else:
            shown = str(value)
        parts.append(f"{fields[key].label}: {shown}")
    return " · ".join(parts) or _("every customer")


# --- writes ----------------------------------------------------------------------------------
def audience_save(
    *, audience: Audience | None = None, name: str, rules: Mapping[str, Any], user=None
) -> Audience:
    """Create an audience (without `audience`, or with one not saved yet) or change it. The
    rules are checked first (audience_rules_clean): a wrong one raises ValidationError naming
    it, and nothing is saved."""
    clean = audience_rules_clean(rules)
    audience = audience if audience is not None else Audience()
    if audience._state.adding and user is not None and user.is_authenticated:
        audience.created_by = user
    audience.name = name.strip()
    audience.rules = clean
    audience.full_clean()
    audience.save()
    return audience


GONE_MESSAGE = gettext_lazy(
    "Something this rule chose was deleted after the audience was saved: choose again "
    "(saving it as shown would widen the audience)."
)
_REFERENCES = {"shops": Shop, "program": FidelityProgram, "tag": CustomerTag}


def _as_ids(value: Any) -> set[int]:
    """Ids of a rule's value: a stored id or list of ids, or the form's chosen objects."""
    values = value if isinstance(value, (list, tuple, QuerySet)) else [value]
    return {getattr(item, "pk", item) for item in values if item not in (None, "")}


def audience_rules_gone(rules: Mapping[str, Any]) -> list[str]:
    """The rules naming a shop, program or tag that no longer exists."""
    gone = []
    for key, model in _REFERENCES.items():
        ids = _as_ids(rules.get(key))
        if ids and model.objects.filter(pk__in=ids).count() < len(ids):
            gone.append(key)
    return gone


class AudienceForm(AudienceRulesForm, forms.ModelForm):
    """The admin's form: the name and every rule as its own field."""

    class Meta:
        model = Audience
        fields = ("name",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.update(audience_rules_initial(self.instance.rules))

    def clean(self):
        """A shop, program or tag deleted since the audience was saved matches nobody; the
        form cannot show it, and saving what it shows would drop it and widen the audience.
        Refused until that rule is chosen again."""
        cleaned = super().clean()
        if self.instance.pk:
            for key in audience_rules_gone(self.instance.rules):
                if key in cleaned and not self.errors.get(key):
                    kept = _as_ids(cleaned.get(key))
                    if kept <= set(_as_ids(self.instance.rules.get(key))):
                        self.add_error(key, GONE_MESSAGE)
        return cleaned

    @property
    def rules(self) -> dict[str, Any]:
        return audience_rules_from_form(self.cleaned_data)
