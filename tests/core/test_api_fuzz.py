"""Schemathesis against the OpenAPI schema: every operation, a bounded number of generated
requests each (positive and negative), as a superuser script would send them. No answer may be a
5xx, and every answer the schema documents must match it (body, content type, headers).

Statuses are not checked against each operation's list: DRF's error statuses (400, 403, 404,
409, 429…) share one error body and are not repeated per operation.

The schema is read in-process from the WSGI application when the module is collected (no
database: pytest-django would refuse it there). Each operation is one test, in its own
transaction, with a few seeded records; half of the generated path ids are the seeded ones, so
that detail views, actions and nested lists are exercised and not only their 404."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tests.campaigns.factories import make_campaign, make_media, make_shop
from tests.campaigns.images import image_upload
from tests.loyalty.factories import make_card

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
)
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260101,
        "generation": {"mode": "all", "database": "none", "deterministic": True},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        # The coverage phase sends every boundary case the schema defines (about 7,500 requests,
        # 5 minutes here): a deeper run on demand, FUZZ_COVERAGE=1 pytest -m fuzz.
        "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"}},
    }
)
# Loaded at import, not with schemathesis.pytest.from_fixture: its lazy loader sets
# `node._nodeid`, which pytest 9 no longer has.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=CONFIG
)
_seeded: dict[str, int] = {}  # this test's records, by path parameter or resource (URL segment)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return st.sampled_from([path_parameters, _seeded_ids(context, path_parameters)])


def _seeded_ids(context, params: dict | None) -> dict | None:
    if not params:
        return params
    segments = context.operation.path.strip("/").split("/")  # api, v1, <resource>, …
    resource = "movements" if "movements" in segments else segments[2]
    return {
        name: _seeded[name] if name in _seeded else _seeded.get(resource, value)
        for name, value in params.items()
    }


@pytest.fixture
def superuser_token(db) -> str:
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_superuser("fuzzer", "f@example.com", "pw-123456!")
    return Token.objects.create(user=user).key


@pytest.fixture
def seeded(db):
    """One record of each kind the detail endpoints serve."""
    from callcenter.models import CallCampaign
    from loyalty.services import movement_add
    from messaging.care import care_request_create
    from messaging.services import push_send_create
    from store.services import flyer_request_create

    shop = make_shop()
    card = make_card(shop=shop)
    movement = movement_add(card=card, points=10, amount=None, note="", shop=shop, user=None)
    push = push_send_create(name="Offerta", text="Offerta!", recipients=["3480000002"])
    call_campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
    care = care_request_create(
        customer=card.customer, type="information", subject="Orari", message="Quando aprite?"
    )
    call_command("createstoremanager", "mario", "--shop", shop.code, stdout=StringIO())
    flyer = flyer_request_create(
        user=get_user_model().objects.get(username="mario"),
        shop=shop,
        promo_name="Sottocosto",
        date_send=timezone.now() + timedelta(days=5),
        image=image_upload(),
        flyer_link="https://example.com/volantino.pdf",
    )
    _seeded.update(
        {
            "shops": shop.pk,
            "media": make_media(name="Volantino").pk,
            "campaigns": make_campaign(shop).pk,
            "customers": card.customer_id,
            "fidelity-programs": card.program_id,
            "fidelity-cards": card.pk,
            "card_pk": card.pk,
            "movements": movement.pk,
            "push-sends": push.pk,
            "care-requests": care.pk,
            "call-campaigns": call_campaign.pk,
            "campaign_pk": call_campaign.pk,
            "flyer-requests": flyer.pk,
        }
    )
    yield
    _seeded.clear()


@pytest.fixture
def in_test_transaction(monkeypatch):
    """Requests run as under Django's test client: they must not close the connection holding
    the test's transaction (Django closes "old" connections when a request starts and ends)."""
    for connection in connections.all():
        monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)


@schema.parametrize()
@hypothesis.settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_no_operation_answers_5xx_or_outside_its_schema(
    case, superuser_token, seeded, in_test_transaction
):
    case.call_and_validate(headers={"Authorization": f"Token {superuser_token}"})
