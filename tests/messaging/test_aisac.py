"""Aisac: outbound calls against the document (and our documented bodies), the flows through
the sandbox, and the inbound getObject/updateObject endpoints Aisac's WhatsApp flows call."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import responses
import time_machine
from django.core.management import call_command
from django.utils import timezone
from responses import matchers

from core.errors import ProviderAuthError
from core.outbox import outbox_sweep
from core.services import records_sync_now
from loyalty.consent import consent_set
from loyalty.models import ConsentEvent
from loyalty.services import customer_get_or_create
from messaging.aisac import AisacClient, OrderLine
from messaging.care import aisac_pull, care_request_create, order_create
from messaging.models import CareRequest, InboundCall
from sandbox.models import SandboxObject
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card

pytestmark = pytest.mark.django_db
BASE = "https://api.aisac.io/v1"
KEY = {"api_key": "TOKEN_KEY"}


@pytest.fixture
def aisac():
    return AisacClient(base_url=BASE, api_key="TOKEN_KEY")


@pytest.fixture
def api_mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


REQUEST = {
    "request_id": "REQ-7",
    "user_key": "393471234501",
    "type": "complaint",
    "subject": "Punti mancanti",
    "status": "open",
    "created_at": "2026-11-22 10:00:00",
    "updated_at": "2026-11-22 10:00:00",
}


# --- outbound, as the document shows them -----------------------------------------------------
def test_get_request_sends_api_key_and_request_id_in_the_query(aisac, api_mock):
    api_mock.get(
        f"{BASE}/getRequest",
        json=REQUEST,
        match=[matchers.query_param_matcher({**KEY, "request_id": "REQ-7"})],
    )
    remote = aisac.get_request("REQ-7")
    assert (remote.status, remote.created_at.utcoffset()) == ("open", timedelta(hours=1))


def test_flows_and_charges_by_user_key(aisac, api_mock):
    api_mock.get(
        f"{BASE}/getFlowByUserKey",
        json={"flows": [{"flow_id": "F1"}]},
        match=[matchers.query_param_matcher({**KEY, "user_key": "393471234501"})],
    )
    api_mock.get(
        f"{BASE}/getChargesByUserKey",
        json={"charges": [{"charge_id": "C1"}]},
        match=[matchers.query_param_matcher({**KEY, "user_key": "393471234501"})],
    )
    assert aisac.flows_by_user_key("393471234501") == [{"flow_id": "F1"}]
    assert aisac.charges_by_user_key("393471234501") == [{"charge_id": "C1"}]


def test_create_request_and_order_post_json_with_the_key_in_the_query(aisac, api_mock):
    api_mock.post(
        f"{BASE}/createRequest",
        json=REQUEST,
        match=[
            matchers.query_param_matcher(KEY),
            matchers.json_params_matcher(
                {
                    "user_key": "393471234501",
                    "type": "complaint",
                    "subject": "Punti mancanti",
                    "message": "",
                    "reference": "r1",
                }
            ),
        ],
    )
    api_mock.post(
        f"{BASE}/createOrder",
        json={"order_id": "WEB-1", "status": "created"},
        match=[
            matchers.query_param_matcher(KEY),
            matchers.json_params_matcher(
                {
                    "order_id": "WEB-1",
                    "user_key": "393471234501",
                    "shop_code": "PV-MI-01",
                    "total": "19.80",
                    "currency": "EUR",
                    "lines": [{"sku": "A1", "name": "Caffè", "quantity": 2, "price": "9.90"}],
                }
            ),
        ],
    )
    assert (
        aisac.create_request(
            user_key="393471234501", type="complaint", subject="Punti mancanti", reference="r1"
        ).request_id
        == "REQ-7"
    )
    aisac.create_order(
        order_id="WEB-1",
        user_key="393471234501",
        shop_code="PV-MI-01",
        total=Decimal("19.80"),
        lines=[OrderLine("A1", "Caffè", 2, Decimal("9.90"))],
    )


def test_get_requests_filters_and_pages(aisac, api_mock):
    api_mock.get(
        f"{BASE}/getRequests",
        json={"requests": [REQUEST], "page": 1, "total": 1},
        match=[matchers.query_param_matcher({**KEY, "status": "open", "page": "1"})],
    )
    assert [r.request_id for r in aisac.iter_requests(status="open")] == ["REQ-7"]


def test_a_wrong_key_is_an_auth_error_and_never_logged(aisac, api_mock):
    from core.models import RemoteCall

    api_mock.get(
        f"{BASE}/getRequest",
        status=401,
        json={"status": "error", "code": "INVALID_API_KEY", "message": "Invalid api_key."},
    )
    with pytest.raises(ProviderAuthError, match="AISAC_API_KEY"):
        aisac.get_request("REQ-1")
    call = RemoteCall.objects.get()
    assert call.path == "/getRequest" and "TOKEN_KEY" not in str(call.__dict__)


# --- flows through the sandbox ----------------------------------------------------------------
@pytest.fixture
def giulia():
    return customer_get_or_create(msisdn="+393471234501", name="Giulia")


def test_a_care_request_reaches_aisac_and_its_status_is_read_back(deliver, giulia):
    with deliver():
        request = care_request_create(customer=giulia, type="loyalty", subject="Punti mancanti")
    request.refresh_from_db()
    assert (request.sync_status, request.status, request.remote_id.startswith("REQ-")) == (
        "synced",
        "open",
        True,
    )

    with time_machine.travel(timezone.now() + timedelta(hours=1)), deliver():
        records_sync_now(objects=[request])
    request.refresh_from_db()
    assert request.status == "closed"


def test_a_lost_answer_is_found_by_our_reference(deliver, giulia, knobs):
    knobs("aisac", malformed_json=True)
    with deliver():
        request = care_request_create(customer=giulia, type="other", subject="Orari")
    knobs("aisac", malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    request.refresh_from_db()
    assert request.sync_status == "synced"
    assert SandboxObject.objects.filter(provider="aisac", kind="care_request").count() == 1


def test_an_order_is_created_once_even_if_sent_twice(deliver, giulia):
    shop = make_shop()
    with deliver():
        order = order_create(
            number="WEB-100",
            customer=giulia,
            shop=shop,
            lines=[{"sku": "A1", "name": "Caffè", "quantity": 2, "price": Decimal("9.90")}],
        )
    order.refresh_from_db()
    assert (order.total, order.sync_status) == (Decimal("19.80"), "synced")
    with deliver():
        records_sync_now(objects=[order])
    assert SandboxObject.objects.filter(provider="aisac", kind="order").count() == 1


def test_pull_aisac_imports_requests_opened_elsewhere(deliver, giulia):
    SandboxObject.objects.create(
        provider="aisac",
        kind="care_request",
        data={
            "user_key": "393471234501",
            "type": "complaint",
            "subject": "Dal bot",
            "message": "",
            "reference": "",
        },
    )
    report = aisac_pull(dry_run=False)
    assert report.imported == {"request": 1}
    assert CareRequest.objects.get().subject == "Dal bot"


def test_the_customer_page_shows_flows_and_charges(admin_client, deliver, giulia):
    with deliver():
        care_request_create(customer=giulia, type="loyalty", subject="Saldo punti")
    page = admin_client.get(f"/admin/loyalty/customer/{giulia.pk}/change/").content.decode()
    assert "Assistenza: Saldo punti" in page


# --- inbound ------------------------------------------------------------------------------------
@pytest.fixture
def inbound_key(settings):
    settings.AISAC_INBOUND_KEY = "inbound-secret"
    return "inbound-secret"


def test_inbound_calls_need_the_key(client, inbound_key, giulia):
    assert client.get("/integrations/aisac/getObject?user_key=393471234501").status_code == 401
    wrong = client.get("/integrations/aisac/getObject?user_key=393471234501&api_key=nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    by_header = client.get(
        "/integrations/aisac/getObject?user_key=393471234501", HTTP_X_API_KEY=inbound_key
    )
    assert by_header.status_code == 200


def test_get_object_returns_the_customer_cards_and_open_requests(
    client, inbound_key, deliver, giulia
):
    with deliver():
        card = make_card(customer=giulia, starting_points=12)
        care_request_create(customer=giulia, type="loyalty", subject="Saldo")
    card.refresh_from_db()
    answer = client.get(
        f"/integrations/aisac/getObject?user_key=393471234501&api_key={inbound_key}"
    ).json()
    obj = answer["object"]
    assert obj["name"] == "Giulia" and obj["consent"]["consent_whatsapp"] == "unknown"
    assert obj["cards"][0]["code"] == card.code and obj["cards"][0]["points"] == 12
    assert [r["subject"] for r in obj["open_requests"]] == ["Saldo"]


@pytest.mark.parametrize(
    ("user_key", "status", "code"),
    [
        ("393470000000", 404, "customer_not_found"),
        ("12ab", 400, "invalid_user_key"),
        ("", 400, "missing_user_key"),
    ],
)
def test_get_object_for_unknown_or_bad_phones(client, inbound_key, user_key, status, code):
    response = client.get(
        f"/integrations/aisac/getObject?user_key={user_key}&api_key={inbound_key}"
    )
    assert response.status_code == status and response.json()["error"]["code"] == code


def post_update(client, key, body):
    return client.post(
        f"/integrations/aisac/updateObject?api_key={key}",
        json.dumps(body),
        content_type="application/json",
    )


def test_update_object_applies_whitelisted_variables_through_the_services(
    client, inbound_key, giulia
):
    response = post_update(
        client,
        inbound_key,
        {
            "user_key": "393471234501",
            "variables": {
                "email": "giulia@example.com",
                "consent_whatsapp": True,
                "name": "Giulia",
            },
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "changed": {"email": "giulia@example.com", "consent_whatsapp": True},
        "unchanged": ["name"],
    }
    giulia.refresh_from_db()
    assert (giulia.email, giulia.consent_whatsapp) == ("giulia@example.com", "given")
    assert ConsentEvent.objects.get().source == "aisac"


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"points": 1000}, "variables_not_allowed"),
        ({"email": "not-an-email"}, "invalid_variables"),
        ({"consent_calls": "yes"}, "invalid_variables"),
    ],
)
def test_update_object_refuses_bad_or_foreign_variables_and_changes_nothing(
    client, inbound_key, giulia, variables, code
):
    response = post_update(
        client, inbound_key, {"user_key": "393471234501", "variables": {"name": "X", **variables}}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    giulia.refresh_from_db()
    assert giulia.name == "Giulia" and not ConsentEvent.objects.exists()


def test_update_object_with_a_body_that_is_not_json(client, inbound_key):
    response = client.post(
        f"/integrations/aisac/updateObject?api_key={inbound_key}",
        "{{",
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_inbound_calls_are_rate_limited_and_logged_with_the_phone_masked(
    client, inbound_key, giulia, settings
):
    from django.core.cache import cache

    cache.clear()
    settings.AISAC_INBOUND_RATE_PER_MINUTE = 2
    url = f"/integrations/aisac/getObject?user_key=393471234501&api_key={inbound_key}"
    statuses = [client.get(url).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    logged = list(
        InboundCall.objects.order_by("id").values_list("endpoint", "user_key", "status_code")
    )
    assert logged == [
        ("getObject", "…501", 200),
        ("getObject", "…501", 200),
        ("getObject", "…501", 429),
    ]
    cache.clear()


def test_act_as_aisac_calls_the_inbound_endpoints(inbound_key, giulia):
    from django.core.cache import cache

    cache.clear()
    out = StringIO()
    call_command(
        "act_as_aisac",
        "update",
        "393471234501",
        "consent_push_sms=true",
        "--base-url",
        "http://sandbox.test",
        stdout=out,
    )
    assert json.loads(out.getvalue())["changed"] == {"consent_push_sms": True}
    out = StringIO()
    call_command(
        "act_as_aisac", "get", "393471234501", "--base-url", "http://sandbox.test", stdout=out
    )
    assert json.loads(out.getvalue())["object"]["consent"]["consent_push_sms"] == "given"


def test_care_requests_api(api, deliver):
    with deliver():
        response = api.post(
            "/api/v1/care-requests/",
            {"msisdn": "3471234501", "type": "complaint", "subject": "Scontrino"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = api.get(f"/api/v1/care-requests/{response.json()['id']}/").json()
    assert {
        "id",
        "customer",
        "msisdn",
        "type",
        "subject",
        "status",
        "remote_id",
        "sync_status",
        "sync_error",
    } <= set(body)
    assert (body["msisdn"], body["sync_status"], body["status"]) == (
        "+393471234501",
        "synced",
        "open",
    )


def test_consent_given_by_aisac_is_honoured_by_the_push_gate(giulia):
    from loyalty.consent import consent_gate

    consent_set(customer=giulia, channel="push_sms", given=True, source="aisac")
    assert consent_gate(channel="push_sms", numbers=["3471234501"]).allowed == ["393471234501"]


# --- a lost answer: the lookup adopts only an exact match -------------------------------------
def remote_request(user_key, subject, *, reference=None, at=None):
    """A request Aisac holds (made by us, by its bot, or by anyone), created at `at`."""
    data = {"user_key": user_key, "type": "other", "subject": subject, "message": ""}
    data["reference"] = reference or ""
    obj = SandboxObject.objects.create(provider="aisac", kind="care_request", data=data)
    if at is not None:
        SandboxObject.objects.filter(pk=obj.pk).update(created_at=at)
    return obj


def lost_request(giulia, subject="Punti mancanti"):
    """A care request whose createRequest never reached Aisac (the answer of a call that did
    not arrive is as lost as one that did)."""
    request = CareRequest.objects.create(customer=giulia, type="other", subject=subject)
    CareRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    request.refresh_from_db()
    return request


def distractors(giulia_request):
    """Aisac's requests that share something with ours but are not ours."""
    made = giulia_request.created_at
    return [
        # the same subject, for another customer
        remote_request("393471234599", giulia_request.subject, at=made + timedelta(minutes=1)),
        # the same subject for the same customer, made before our request existed
        remote_request("393471234501", giulia_request.subject, at=made - timedelta(hours=2)),
        # another subject for the same customer, at the same time
        remote_request("393471234501", "Orari", at=made + timedelta(minutes=1)),
    ]


@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_the_lookup_adopts_nothing_that_is_not_ours(giulia, knobs, style):
    from messaging.care import care_request_lookup

    knobs("aisac", answers=style)
    request = lost_request(giulia)
    distractors(request)
    # the same subject for the same customer, opened by someone else (Aisac's bot, say)
    bot = remote_request("393471234501", request.subject, at=request.created_at - timedelta(days=1))
    assert care_request_lookup(request) is None
    # ...and, once ours is there too, ours and only ours
    SandboxObject.objects.filter(pk=bot.pk).delete()
    ours = remote_request(
        "393471234501",
        request.subject,
        reference=str(request.reference),
        at=request.created_at + timedelta(seconds=3),
    )
    found = care_request_lookup(request)
    assert found is not None and found.request_id in (f"REQ-{ours.pk}", str(ours.pk))


def test_with_references_kept_a_same_subject_request_made_by_someone_else_is_not_adopted(
    giulia, knobs
):
    from messaging.care import care_request_lookup

    request = lost_request(giulia)
    # Aisac gives references back (the usual sandbox): another's reference, or none, is not ours
    remote_request("393471234501", request.subject, reference="someone-else", at=request.created_at)
    remote_request("393471234501", request.subject, at=request.created_at + timedelta(seconds=1))
    assert care_request_lookup(request) is None


@pytest.mark.parametrize(
    ("style", "ours"),
    [
        ("", True),  # Aisac holds ours twice, and says so
        ("variant", True),  # twice, found by our reference but not saying it
        ("document", True),  # twice, nothing filtered and no reference said
        ("document", False),  # two look-alikes, when nothing tells them from ours
    ],
)
def test_two_candidates_need_a_decision(giulia, knobs, style, ours):
    from core.errors import NeedsDecision
    from messaging.care import care_request_lookup

    knobs("aisac", answers=style)
    request = lost_request(giulia)
    for seconds in (2, 30):
        remote_request(
            "393471234501",
            request.subject,
            reference=str(request.reference) if ours else "",
            at=request.created_at + timedelta(seconds=seconds),
        )
    with pytest.raises(NeedsDecision) as raised:
        care_request_lookup(request)
    assert raised.value.code == "SEVERAL_CANDIDATES" and not raised.value.retryable


def test_without_references_a_request_another_record_holds_is_not_a_candidate(giulia, knobs):
    from messaging.care import care_request_lookup

    knobs("aisac", answers="document")  # no reference said, no filter honoured
    request = lost_request(giulia)
    theirs = remote_request("393471234501", request.subject, at=request.created_at)
    ours = remote_request(
        "393471234501", request.subject, at=request.created_at + timedelta(seconds=5)
    )
    CareRequest.objects.create(
        customer=giulia, subject=request.subject, remote_id=f"REQ-{theirs.pk}"
    )
    found = care_request_lookup(request)
    assert found is not None and found.request_id == f"REQ-{ours.pk}"


@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_a_lost_answer_among_look_alikes_leaves_one_request_and_adopts_it(
    deliver, giulia, knobs, style
):
    # Listed before ours: the same subject for another customer, and for Giulia long ago.
    first = [
        remote_request("393471234599", "Punti mancanti"),
        remote_request("393471234501", "Punti mancanti", at=timezone.now() - timedelta(hours=2)),
    ]
    knobs("aisac", answers=style, malformed_json=True)
    with deliver():
        request = care_request_create(customer=giulia, type="other", subject="Punti mancanti")
    request.refresh_from_db()
    ours = SandboxObject.objects.filter(provider="aisac", kind="care_request").latest("pk")
    look_alikes = {o.pk for o in first + distractors(request)}
    knobs("aisac", malformed_json=False)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    request.refresh_from_db()
    assert request.sync_status == "synced", request.sync_error
    assert request.remote_id in (f"REQ-{ours.pk}", str(ours.pk))
    remote = set(
        SandboxObject.objects.filter(provider="aisac", kind="care_request").values_list(
            "pk", flat=True
        )
    )
    assert remote == look_alikes | {ours.pk}


@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_a_lost_create_that_never_arrived_is_sent_again_once(deliver, giulia, knobs, style):
    knobs("aisac", answers=style, forced_status=503)
    with deliver():
        request = care_request_create(customer=giulia, type="other", subject="Punti mancanti")
    knobs("aisac", forced_status=None)
    request.refresh_from_db()
    look_alikes = {o.pk for o in distractors(request)}
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True), deliver():
        outbox_sweep()
    request.refresh_from_db()
    assert request.sync_status == "synced", request.sync_error
    made = SandboxObject.objects.filter(provider="aisac", kind="care_request").exclude(
        pk__in=look_alikes
    )
    assert made.count() == 1 and request.remote_id in (f"REQ-{made[0].pk}", str(made[0].pk))


# --- the sandbox's answer styles: the whole flow reads each ------------------------------------
@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_care_requests_orders_and_activity_in_every_answer_style(
    admin_client, deliver, giulia, knobs, style
):
    knobs("aisac", answers=style)
    with deliver():
        request = care_request_create(customer=giulia, type="loyalty", subject="Punti mancanti")
        order = order_create(
            number="WEB-7",
            customer=giulia,
            shop=make_shop(),
            lines=[{"sku": "A1", "name": "Caffè", "quantity": 1, "price": Decimal("2.50")}],
        )
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.sync_status, request.status) == ("synced", "open"), request.sync_error
    assert (order.sync_status, order.remote_id) == ("synced", "WEB-7"), order.sync_error

    with time_machine.travel(timezone.now() + timedelta(hours=1)), deliver():
        records_sync_now(objects=[request])
    request.refresh_from_db()
    assert request.status == "closed"

    page = admin_client.get(f"/admin/loyalty/customer/{giulia.pk}/change/").content.decode()
    assert "Assistenza: Punti mancanti" in page and "Ordine WEB-7" in page

    remote_request("393471234501", "Dal bot")
    report = aisac_pull(dry_run=False)
    assert report.imported == {"request": 1}
    assert set(CareRequest.objects.values_list("subject", flat=True)) == {
        "Punti mancanti",
        "Dal bot",
    }


# --- checkproviders ------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["", "document", "variant"])
def test_the_preflight_passes_against_the_sandbox(deliver, giulia, knobs, style):
    from core.preflight import preflight_run

    knobs("aisac", answers=style)
    with deliver():
        care_request_create(customer=giulia, type="loyalty", subject="Saldo")
    [report] = preflight_run("aisac")
    assert report.passed, report.summary()
    assert [p.name for p in report.probes] == ["getRequests"]
    from core.models import RemoteCall

    assert RemoteCall.objects.filter(operation="getRequests").count() == 1
    assert not RemoteCall.objects.filter(method="POST", operation="getRequests").exists()


def test_the_preflight_says_the_key_was_refused(settings):
    from core.preflight import preflight_run

    settings.AISAC_API_KEY = "wrong-key"
    [report] = preflight_run("aisac")
    assert not report.passed
    assert (report.probes[0].reachable, report.probes[0].credentials_accepted) == (True, False)


def test_the_preflight_needs_the_settings(settings):
    from core.preflight import preflight_run

    settings.AISAC_API_KEY = ""
    [report] = preflight_run("aisac")
    assert (report.configured, report.passed, report.missing_settings) == (
        False,
        False,
        ["AISAC_API_KEY"],
    )


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            {"requests": [{k: v for k, v in REQUEST.items() if k != "status"}], "total": 1},
            "requests[].status: missing",
        ),
        ({"requests": [{**REQUEST, "request_id": None}]}, "requests[].request_id: null"),
        ({"requests": [{**REQUEST, "created_at": "ieri"}]}, "requests[].created_at"),
        ({"items": [REQUEST]}, "requests"),
    ],
)
def test_the_preflight_names_the_field_that_differs(settings, api_mock, body, named):
    from core.preflight import preflight_run

    settings.AISAC_BASE_URL, settings.AISAC_API_KEY = BASE, "TOKEN_KEY"
    api_mock.get(
        f"{BASE}/getRequests",
        json=body,
        match=[matchers.query_param_matcher({**KEY, "page": "1"})],
    )
    [report] = preflight_run("aisac")
    probe = report.probes[0]
    assert not report.passed and probe.credentials_accepted
    assert any(field.startswith(named) for field in probe.fields), probe.fields
