"""Schemathesis against the OpenAPI schema: every operation, a bounded number of generated
requests each (positive and negative: wrong types, nulls, missing required fields, values past
their limits), as a superuser script would send them. No answer may be a 5xx, and every answer
the schema documents must match it (body, content type, headers).

Statuses are not checked against each operation's list: DRF's error statuses (400, 403, 404,
409, 429…) share one error body and are not repeated per operation.

The schema is read in-process from the WSGI application when the module is collected (no
database: pytest-django would refuse it there). Each operation is one test, in its own
transaction, with a few seeded records; half of the generated path ids, and half of the
generated bodies' references (shop, customer…), are the seeded ones, so that detail views,
actions, nested lists and services are exercised and not only their 404 or "no such record".
For the writes, schemathesis' coverage phase also runs: every field of the body missing, null,
of each other type and at its limits.

Then the contract case by case, for every operation with a body: from a valid body, each field
omitted (optional fields may be), null, and of each wrong JSON type, one at a time. The answer
is never a 5xx; an invalid value is a 400 that names its field."""

from __future__ import annotations

import json
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
        # The coverage phase sends every boundary case the schema defines: each body field
        # missing, null, of each wrong type, at and past its limits… For the writes (POST, PUT,
        # PATCH) it always runs (about 40 s here); for every operation, query parameters
        # included (about 7,500 requests, 5 minutes), on demand: FUZZ_COVERAGE=1 pytest -m fuzz.
        "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"}},
        "operations": [
            {"include-method": ["POST", "PUT", "PATCH"], "phases": {"coverage": {"enabled": True}}}
        ],
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


# Body fields that refer to a record, and the seeded record (resource) each refers to.
_REFERENCES = {
    "shop": "shops",
    "customer": "customers",
    "program": "fidelity-programs",
    "media": "media",
    "audience_shops": "shops",
    "audience_programs": "fidelity-programs",
    "audience": "audiences",
}


@schema.hook
def flatmap_body(context, body):
    """Half the bodies refer to the seeded records, so that a generated body (positive or
    negative in its other fields) gets past the lookups into the view and its service."""
    return st.sampled_from([body, _seeded_references(body)])


def _seeded_references(body):
    if not isinstance(body, dict):
        return body
    seeded = {}
    for name, value in body.items():
        resource = _REFERENCES.get(name)
        if resource is None or resource not in _seeded:
            seeded[name] = value
        else:
            seeded[name] = [_seeded[resource]] if isinstance(value, list) else _seeded[resource]
    return seeded


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
    from tests.tokens import token_for

    user = get_user_model().objects.create_superuser("fuzzer", "f@example.com", "pw-123456!")
    return token_for(user)


@pytest.fixture
def seeded(db):
    """One record of each kind the detail endpoints serve."""
    from callcenter.models import CallCampaign
    from loyalty.audiences import audience_save
    from loyalty.services import movement_add
    from messaging.care import care_request_create
    from messaging.services import push_send_create, push_send_estimate
    from store.services import flyer_request_create

    shop = make_shop()
    card = make_card(shop=shop)
    movement = movement_add(card=card, points=10, amount=None, note="", shop=shop, user=None)
    push = push_send_create(name="Offerta", text="Offerta!", recipients=["3480000002"], groups=[1])
    push_send_estimate(send=push)  # so that `send` (with a body: the window override) can go
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
            "audiences": audience_save(name="Milano", rules={"shops": [shop.pk]}).pk,
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


# --- every field omitted, null and of a wrong type, for every operation with a body -----------
# Schemathesis' negative cases rarely get past a reference that does not exist, so a missing
# optional field is seldom seen by the view itself. These cases start from a valid body (the
# seeded records as references) and change one field at a time: omitted (when optional), null,
# and values of other JSON types. A 400 must name the field it was about.
_REF = "#/components/schemas/"
_WRONG = {
    "string": (True, {"not": "a string"}, [1]),
    "integer": ("not-a-number", True, {"not": "an integer"}, [1]),
    "number": ("not-a-number", True, {"not": "a number"}, [1]),
    "boolean": ("maybe", 2, {"not": "a boolean"}, [True]),
    "array": ("not-a-list", 7, {"not": "a list"}, [{"not": "an item"}], [None]),
    "object": ("not-an-object", 7, [{"not": "an object"}]),
}
_NOT_AN_OBJECT = ([], "text", 1, None)


def _write_operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in schema.raw_schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch") and "requestBody" in operation
    ]


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = schema.raw_schema["components"]["schemas"][node["$ref"].removeprefix(_REF)]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(node["allOf"][0])
    return node


def _body_schema(method: str, path: str) -> tuple[str, dict]:
    content = schema.raw_schema["paths"][path][method.lower()]["requestBody"]["content"]
    media_type = "application/json" if "application/json" in content else next(iter(content))
    body = _resolve(content[media_type]["schema"])
    if "oneOf" in body:  # one record or a list of them: the record
        body = next(_resolve(s) for s in body["oneOf"] if _resolve(s).get("type") != "array")
    return media_type, body


def _writable(body: dict) -> dict[str, dict]:
    return {
        name: _resolve(field)
        for name, field in body.get("properties", {}).items()
        if not field.get("readOnly")
    }


def _json_type(field: dict) -> str:
    if "oneOf" in field:
        return _json_type(_resolve(field["oneOf"][0]))
    if "enum" in field:
        return "string"
    return field.get("type", "string")


def _valid_bodies() -> dict[tuple[str, str], dict]:
    """A body each write operation accepts, with the seeded records as references."""
    from loyalty.services import customer_get_or_create

    later = (timezone.now() + timedelta(days=9)).replace(microsecond=0).isoformat()
    holder = customer_get_or_create(msisdn="+39 347 555 0101", name="Anna", surname="Neri")
    shop = {
        "code": "PV-CONTRACT",
        "address": "Via Dante 3",
        "postal_code": "20121",
        "city": "Milano",
        "province": "MI",
        "latitude": "45.464211",
        "longitude": "9.191383",
        "email": "pv@example.com",
        "url": "https://example.com/negozi",
        "description": "Punto vendita",
        "active": True,
    }
    campaign = {
        "kind": "template",
        "shop": _seeded["shops"],
        "media": _seeded["media"],
        "image": "",
        "link": "https://example.com/promo",
        "flyer_link": "",
        "date_send": later,
        "template_name": "promo_settimanale",
        "promo_name": "Sottocosto",
    }
    customer = {
        "msisdn": "+39 347 555 0102",
        "name": "Bruno",
        "surname": "Verdi",
        "email": "bruno@example.com",
        "consent_push_sms": True,
        "consent_whatsapp": False,
        "consent_calls": None,
    }
    push = {
        "name": "Offerta",
        "recipients": ["3480000002"],
        "groups": [1],
        "audience_shops": [_seeded["shops"]],
        "audience_programs": [_seeded["fidelity-programs"]],
        "text": "Offerta!",
        "image": None,  # an upload: multipart only
        "only_push": False,
        "sms_text": "Offerta in negozio",
        "sms_from": "Vetrina",
        "sms_encoding": "AUTO",
        "send_at": later,
        "sandbox": True,
    }
    call_campaign = {"remote_campaign_id": "77", "name": "Richiamo", "status": "start"}
    audience = {
        "name": "Milano con punti",
        "rules": {"shops": [_seeded["shops"]], "points_min": 5, "card_active": True},
    }
    flyer_decision = {"note": "Va bene"}
    return {
        ("POST", "/api/v1/shops/"): shop,
        ("PUT", "/api/v1/shops/{id}/"): shop,
        ("PATCH", "/api/v1/shops/{id}/"): shop,
        ("POST", "/api/v1/campaigns/"): campaign,
        ("PUT", "/api/v1/campaigns/{id}/"): campaign,
        ("PATCH", "/api/v1/campaigns/{id}/"): campaign,
        ("POST", "/api/v1/customers/"): customer,
        ("PUT", "/api/v1/customers/{id}/"): customer,
        ("PATCH", "/api/v1/customers/{id}/"): customer,
        ("POST", "/api/v1/fidelity-cards/"): {
            "program": _seeded["fidelity-programs"],
            "code": "CONTRACT01",
            "customer": holder.pk,
            "msisdn": str(holder.msisdn),
            "shop": _seeded["shops"],
            "starting_points": 5,
            "starting_amount": None,
            "send_sms": False,
        },
        ("POST", "/api/v1/fidelity-cards/{card_pk}/movements/"): {
            "action": "ADD",
            "points": 5,
            "amount": None,
            "reward_id": None,
            "note": "Scontrino",
            "send_sms": False,
            "shop": _seeded["shops"],
        },
        ("POST", "/api/v1/push-sends/"): push,
        ("PUT", "/api/v1/push-sends/{id}/"): push,
        ("PATCH", "/api/v1/push-sends/{id}/"): push,
        ("POST", "/api/v1/push-sends/{id}/send/"): {
            "window_override": False,
            "window_override_reason": "",
        },
        ("POST", "/api/v1/call-campaigns/{id}/audience-leads/"): {
            "audience": _seeded["audiences"],
            "dry_run": False,
        },
        ("POST", "/api/v1/call-campaigns/{id}/upload/"): {
            "recall_date": None,
            "window_override": False,
            "window_override_reason": "",
        },
        ("POST", "/api/v1/flyer-requests/{id}/approve/"): flyer_decision,
        ("POST", "/api/v1/flyer-requests/{id}/reject/"): flyer_decision,
        ("POST", "/api/v1/care-requests/"): {
            "customer": holder.pk,
            "msisdn": str(holder.msisdn),
            "type": "complaint",
            "subject": "Scontrino",
            "message": "Mancano i punti",
        },
        ("POST", "/api/v1/orders/"): {
            "number": "ORD-CONTRACT",
            "customer": holder.pk,
            "shop": _seeded["shops"],
            "lines": [{"sku": "A1", "name": "Pasta", "quantity": 2, "price": "1.50"}],
        },
        ("POST", "/api/v1/audiences/"): audience,
        ("PUT", "/api/v1/audiences/{id}/"): audience,
        ("PATCH", "/api/v1/audiences/{id}/"): audience,
        ("POST", "/api/v1/audiences/preview/"): {"rules": audience["rules"]},
        ("POST", "/api/v1/call-campaigns/"): call_campaign,
        ("PUT", "/api/v1/call-campaigns/{id}/"): call_campaign,
        ("PATCH", "/api/v1/call-campaigns/{id}/"): call_campaign,
        ("POST", "/api/v1/call-campaigns/{campaign_pk}/records/"): {
            "tel1": "3480000003",
            "customer_name": "Carla",
            "customer_last_name": "Rossi",
            "email": "carla@example.com",
            "recall_date": later,
            "opt1": "riattivazione",
        },
    }


def _url(path: str) -> str:
    """The path with the seeded records' ids."""
    resource = path.split("/")[3]  # /api/v1/<resource>/…
    return path.format(id=_seeded.get(resource), **_seeded)


def _contract_cases(method: str, path: str, valid: dict) -> list[tuple[str, str | None, object]]:
    """(what, field, body): the valid body, the required fields only, then each field
    omitted, null and of each wrong type; a PATCH changes that field alone."""
    _media_type, body = _body_schema(method, path)
    fields = _writable(body)
    required = set(body.get("required", ())) & set(fields)
    assert set(valid) <= set(fields), f"{method} {path}: the valid body has unknown fields"

    def changed(name, value):
        return {name: value} if method == "PATCH" else {**valid, name: value}

    cases = [
        ("valid", None, valid),
        ("required only", None, {k: v for k, v in valid.items() if k in required}),
        *[(f"{value!r} instead of a body", None, value) for value in _NOT_AN_OBJECT],
    ]
    for name, field in fields.items():
        if name in valid and name not in required and method != "PATCH":
            cases.append(("omitted", name, {k: v for k, v in valid.items() if k != name}))
        cases.append(("null", name, changed(name, None)))
        kind = _json_type(field)
        cases += [(f"{kind} as {value!r}", name, changed(name, value)) for value in _WRONG[kind]]
        if kind == "array" and "$ref" in body["properties"][name].get("items", {}):
            item = _resolve(body["properties"][name]["items"])
            for item_name, item_field in _writable(item).items():
                good = valid[name][0]
                for value in (None, *_WRONG[_json_type(item_field)]):
                    cases.append(
                        (
                            f"{name}[0].{item_name} as {value!r}",
                            name,
                            changed(name, [{**good, item_name: value}]),
                        )
                    )
    return cases


_IMAGE = object()  # a real image file, made afresh for each request


def _multipart_cases(method: str, path: str, valid: dict) -> list[tuple[str, str | None, object]]:
    """A form has no types and no null: each field omitted (when optional), and text where a
    file is expected."""
    _media_type, body = _body_schema(method, path)
    fields = _writable(body)
    required = set(body.get("required", ())) & set(fields)
    cases = [("valid", None, valid), ("nothing", None, {})]
    for name, field in fields.items():
        if name in valid and name not in required:
            cases.append(("omitted", name, {k: v for k, v in valid.items() if k != name}))
        if field.get("format") in ("uri", "binary"):
            cases.append(("text as a file", name, {**valid, name: "not-a-file"}))
    return cases


@pytest.fixture
def valid_bodies(seeded):
    return {**_valid_bodies(), ("POST", "/api/v1/media/"): {"file": _IMAGE, "name": "Volantino"}}


@pytest.mark.parametrize(
    ("method", "path"), _write_operations(), ids=[" ".join(op) for op in _write_operations()]
)
def test_given_each_field_omitted_null_or_of_a_wrong_type_when_writing_then_never_a_5xx(
    method, path, api, seeded, valid_bodies
):
    from django.db import transaction
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    assert (method, path) in valid_bodies, f"add a valid body for {method} {path}"
    media_type, body_schema = _body_schema(method, path)
    valid, url = valid_bodies[(method, path)], _url(path)
    if media_type == "application/json":
        cases = _contract_cases(method, path, valid)

        def send(body):
            return api.generic(method, url, json.dumps(body), content_type="application/json")
    else:
        cases = _multipart_cases(method, path, valid)

        def send(body):
            files = {k: image_upload() if v is _IMAGE else v for k, v in body.items()}
            payload = encode_multipart(BOUNDARY, files)
            return api.generic(method, url, payload, content_type=MULTIPART_CONTENT)

    nullable = {name for name, field in _writable(body_schema).items() if field.get("nullable")}
    problems = []
    for what, field, body in cases:
        with transaction.atomic():  # each case from the same records
            response = send(body)
            transaction.set_rollback(True)
        status = response.status_code
        error = response.json().get("error", {}) if status >= 400 else {}
        named = set(error.get("fields") or {}) | {
            f"row:{row['reason']}" for row in error.get("rows") or []
        }
        if status >= 500:
            problems.append(f"{what} {field or ''}: {status}")
        elif what == "valid" and status >= 300:
            problems.append(f"valid body refused: {status} {error}")
        elif status == 400 and not named:
            problems.append(f"{what} {field or ''}: 400 without fields: {error}")
        elif status == 400 and field and what != "omitted" and not _names(named, field):
            problems.append(f"{what} {field}: 400 naming {sorted(named)}, not {field}")
        elif status >= 300 and status != 400:
            problems.append(f"{what} {field or ''}: {status} {error}")
        elif (
            status < 300
            and field
            and what != "omitted"
            and not (what == "null" and field in nullable)
        ):
            problems.append(f"{what} {field}: accepted ({status})")
    assert not problems, f"{method} {path}:\n" + "\n".join(problems)


def _names(named: set[str], field: str) -> bool:
    """The error names the field: in `fields`, or in a lead's reason ("tel1: …")."""
    return (
        field in named
        or any(name.startswith(f"row:{field}: ") for name in named)
        or any(f"; {field}: " in name for name in named if name.startswith("row:"))
    )
