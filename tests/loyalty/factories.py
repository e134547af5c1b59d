import itertools

from core.pull import pull_run
from loyalty.models import FidelityProgram
from loyalty.services import card_enrol, customer_get_or_create

_numbers = itertools.count(1000)


def pulled_program(name: str = "Carta Vetrina") -> FidelityProgram:
    """The sandbox seeds AMM's programs; a pull brings them here, as in real life."""
    if not FidelityProgram.objects.filter(name=name).exists():
        pull_run(provider="amm", dry_run=False)
    return FidelityProgram.objects.get(name=name)


def mobile() -> str:
    return f"+39 347 000 {next(_numbers):04d}"


def make_card(shop=None, **overrides):
    program = overrides.pop("program", None) or pulled_program()
    customer = overrides.pop("customer", None) or customer_get_or_create(
        msisdn=overrides.pop("msisdn", None) or mobile(), name="Maria", surname="Bianchi"
    )
    return card_enrol(program=program, customer=customer, shop=shop, **overrides)


def consenting(*numbers: str, channel: str = "push_sms") -> None:
    """Customers for these numbers (international digits, e.g. 393480000002) who gave consent on
    the channel — made in bulk, as an import would."""
    from loyalty.models import ConsentState, Customer

    field = {
        "push_sms": "consent_push_sms",
        "whatsapp": "consent_whatsapp",
        "calls": "consent_calls",
    }[channel]
    existing = set(
        str(m)
        for m in Customer.objects.filter(msisdn__in=["+" + n for n in numbers]).values_list(
            "msisdn", flat=True
        )
    )
    Customer.objects.bulk_create(
        [
            Customer(msisdn="+" + n, **{field: ConsentState.GIVEN})
            for n in numbers
            if "+" + n not in existing
        ],
        batch_size=1000,
    )
    Customer.objects.filter(msisdn__in=["+" + n for n in numbers]).update(
        **{field: ConsentState.GIVEN}
    )
