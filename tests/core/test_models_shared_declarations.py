"""What the models declare once and share: the link to the user who did something
(core.models.by_user_field), a customer's consent fields, and the customer's number as our
copies of pushes and leads hold it."""

import pytest
from django.contrib.auth import get_user_model

from core.models import Job, ProviderCheck
from loyalty.models import ConsentEvent, ConsentSource, ConsentState, Customer

pytestmark = pytest.mark.django_db


def test_a_record_keeps_what_was_done_after_its_user_is_deleted():
    user = get_user_model().objects.create_user("gone", password="x")
    job = Job.objects.create(kind="pull", label="pull", created_by=user)
    check = ProviderCheck.objects.create(provider="amm", passed=True, checked_by=user)
    user.delete()
    job.refresh_from_db()
    check.refresh_from_db()
    assert job.created_by is None
    assert check.checked_by is None


def test_a_users_links_add_no_reverse_accessor_to_the_user():
    names = {f.name for f in get_user_model()._meta.get_fields()}
    assert not {"job", "job_set", "providercheck", "consentevent"} & names


def test_the_consent_fields_of_every_channel_start_unknown_and_are_indexed():
    customer = Customer.objects.create(msisdn="+393401234567")
    for name in ("consent_push_sms", "consent_whatsapp", "consent_calls"):
        field = Customer._meta.get_field(name)
        assert getattr(customer, name) == ConsentState.UNKNOWN
        assert field.db_index and list(field.choices) == list(ConsentState.choices)
    event = ConsentEvent.objects.create(
        customer=customer,
        channel="calls",
        state=ConsentState.GIVEN,
        source=ConsentSource.ADMIN,
        at=customer.created_at,
    )
    assert event.by is None


@pytest.mark.parametrize("typed", ["+39 340 123 4567", "3401234567"])
def test_a_customers_number_as_pushes_and_leads_hold_it(typed):
    customer = Customer.objects.create(msisdn=typed)
    customer.refresh_from_db()
    assert customer.msisdn_digits == "393401234567"
