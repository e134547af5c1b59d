"""Provider faults, per provider: one representative write of each of the five providers goes
through the real path (service → outbox → client → sandbox) while the sandbox misbehaves.

For every fault the test checks, per docs/sync.md and ../shared/docs/architecture.md:
- the first attempt is classified right: timeouts, refused or lost connections, 429, 5xx and
  garbled answers are retried (the ones that may have reached the provider are marked
  `outcome_unknown`); 401 stops at once with the provider's code and message;
- once the fault clears, the sandbox holds exactly the expected remote records: none missing,
  none duplicated. A lost answer is resolved by looking the operation up before repeating it;
  Wolkvox cannot be asked, so its chunk waits for a person's decision, and nothing is resent
  blindly.

Timeouts: the in-process sandbox transport has no socket, so `_TimedAdapter` enforces the
client's read timeout the way a socket does: the sandbox finishes what it was doing (a server
does not notice that the client gave up) and the client gets `requests.ReadTimeout` when the
answer came later than its read timeout. The same cases over real sockets for VolantinoPiù are
in tests/core/test_http_sockets.py."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
import time_machine
from django.utils import timezone
from urllib3.exceptions import ProtocolError

from callcenter.models import CallCampaign, CallUploadChunk, UploadStatus
from callcenter.services import (
    call_chunks_mark_delivered,
    call_chunks_resend,
    call_records_save,
    call_upload_create,
)
from campaigns.models import Shop
from core import http as core_http
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncStatus
from core.outbox import outbox_retry, outbox_sweep
from loyalty.models import PointMovement
from loyalty.services import movement_add
from messaging.care import care_request_create
from messaging.models import CareRequest, PushBatch, PushSend, SendStatus
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from sandbox.models import AmmCard, AmmRecord, SandboxKnob, SandboxObject, SmsMessage, WolkvoxRecord
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import consenting, make_card
from tests.sandbox_transport import SANDBOX_ORIGIN, DjangoSandboxAdapter

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

READ_TIMEOUT = 0.3  # seconds: the client's read timeout in these tests
SLOW = 0.45  # seconds: a sandbox latency past it
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: the connection is refused


# --- the transport, with a read timeout -----------------------------------------------------
class _TimedAdapter(DjangoSandboxAdapter):
    """The in-process sandbox, with the client's read timeout enforced after the fact, and a
    connection that can break once the sandbox has acted (`resets` left)."""

    def __init__(self, faults: dict[str, int]) -> None:
        super().__init__()
        self.faults = faults

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        timeout = kwargs.get("timeout")
        read = timeout[1] if isinstance(timeout, tuple) else timeout
        started = time.perf_counter()
        response = super().send(request, **kwargs)
        if self.faults["resets"] > 0:
            self.faults["resets"] -= 1
            raise requests.ConnectionError(
                ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer")),
                request=request,
            )
        if read is not None and time.perf_counter() - started > read:
            raise requests.ReadTimeout(f"Read timed out. (read timeout={read})", request=request)
        return response


@pytest.fixture(autouse=True)
def transport(sandbox_transport, monkeypatch, settings):
    faults = {"resets": 0}
    routed = core_http.build_session  # the conftest's: routes the sandbox in-process

    def build_session():
        session = routed()
        session.mount(SANDBOX_ORIGIN, _TimedAdapter(faults))
        return session

    monkeypatch.setattr(core_http, "build_session", build_session)
    core_http.clients_reset()
    yield faults
    core_http.clients_reset()


@pytest.fixture
def fault_patch():
    """A monkeypatch the test undoes when the fault clears (and that is undone at teardown if
    the test fails before)."""
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture
def sweep_later(django_capture_on_commit_callbacks):
    """Jump ahead (past any backoff) and run the sweeper as beat would; each call lands later
    than the one before."""
    ahead = {"hours": 0}

    def sweep() -> int:
        ahead["hours"] += 2
        with (
            time_machine.travel(timezone.now() + timedelta(hours=ahead["hours"]), tick=True),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return outbox_sweep()

    return sweep


# --- one representative write per provider --------------------------------------------------
class Scenario(ABC):
    """One provider's representative write; each subclass fills in the abstract parts."""

    provider: str
    base_url_setting: str
    credential_setting: str
    create_operation: str  # the call log's name of the write
    auth_code: str  # the provider's error code for refused credentials
    auth_message: str  # and (part of) its message
    expected_remote: int  # remote records one delivery makes

    def setup(self, deliver) -> None:  # noqa: B027 (optional hook: most writes need nothing)
        """Whatever must exist first, delivered while the provider is healthy."""

    @abstractmethod
    def act(self) -> None:
        """The service call that queues the write (run inside `deliver()`)."""

    @abstractmethod
    def record(self):
        """The local record the write is about, fresh from the database."""

    @abstractmethod
    def remote(self) -> list:
        """What the sandbox holds of that record (exactly `expected_remote` when right)."""

    def entry(self) -> OutboxEntry:
        record = self.record()
        return OutboxEntry.objects.get(object_key=record.outbox_key)

    def assert_delivered(self) -> None:
        record = self.record()
        assert record.sync_status == SyncStatus.SYNCED, record.sync_error
        assert record.remote_id
        assert self.entry().state == OutboxState.DONE


class VolantinoPiuShop(Scenario):
    provider = "volantinopiu"
    base_url_setting = "VOLANTINOPIU_BASE_URL"
    credential_setting = "VOLANTINOPIU_TOKEN"
    create_operation = "addShop"
    auth_code = "HTTP_401"
    auth_message = "Unauthenticated."
    expected_remote = 1

    def act(self) -> None:
        self.shop = make_shop(code="PV-FAULT-01")

    def record(self):
        return Shop.objects.get(pk=self.shop.pk)

    def remote(self) -> list:
        return list(
            SandboxObject.objects.filter(
                provider="volantinopiu", kind="shop", data__codice="PV-FAULT-01"
            )
        )

    def assert_delivered(self) -> None:
        super().assert_delivered()
        assert self.record().remote_id == str(self.remote()[0].pk)


class AmmMovement(Scenario):
    provider = "amm"
    base_url_setting = "AMM_BASE_URL"
    credential_setting = "AMM_AUTH_SECRET"
    create_operation = "record.create"
    auth_code = "UNAUTHORIZED"
    auth_message = "UNAUTHORIZED"
    expected_remote = 1

    def setup(self, deliver) -> None:
        with deliver():
            self.card = make_card()
        self.card.refresh_from_db()
        assert self.card.sync_status == SyncStatus.SYNCED

    def act(self) -> None:
        self.movement = movement_add(card=self.card, amount=Decimal("32.00"))  # 6 points

    def record(self):
        return PointMovement.objects.get(pk=self.movement.pk)

    def remote(self) -> list:
        return list(AmmRecord.objects.filter(card__code=self.card.code))

    def assert_delivered(self) -> None:
        super().assert_delivered()
        assert AmmCard.objects.get(code=self.card.code).points == 6  # the points, once
        assert self.record().remote_id == str(self.remote()[0].pk)


class SmsHostingPush(Scenario):
    provider = "smshosting"
    base_url_setting = "SMSHOSTING_BASE_URL"
    credential_setting = "SMSHOSTING_AUTH_SECRET"
    create_operation = "push/send"
    auth_code = "UNAUTHORIZED"
    auth_message = "UNAUTHORIZED"
    expected_remote = 2

    def setup(self, deliver) -> None:
        consenting("393480000002", "393480000004")
        self.send = push_send_create(
            name="Promo weekend",
            text="Sottocosto sabato!",
            recipients=["+39 348 000 0002", "+39 348 000 0004"],
        )
        push_send_estimate(send=self.send)

    def act(self) -> None:
        push_send_confirm(send=self.send)

    def record(self):
        return PushBatch.objects.get(send=self.send)

    def remote(self) -> list:
        return list(SmsMessage.objects.filter(transaction_id=self.record().transaction_id))

    def assert_delivered(self) -> None:
        super().assert_delivered()
        assert sorted(m.to for m in self.remote()) == ["393480000002", "393480000004"]
        assert PushSend.objects.get(pk=self.send.pk).status == SendStatus.SENT


class AisacCareRequest(Scenario):
    provider = "aisac"
    base_url_setting = "AISAC_BASE_URL"
    credential_setting = "AISAC_API_KEY"
    create_operation = "createRequest"
    auth_code = "INVALID_API_KEY"
    auth_message = "Aisac"
    expected_remote = 1

    def setup(self, deliver) -> None:
        from loyalty.services import customer_get_or_create

        self.customer = customer_get_or_create(msisdn="+393471234501", name="Giulia")

    def act(self) -> None:
        self.request = care_request_create(
            customer=self.customer, type="loyalty", subject="Punti mancanti"
        )

    def record(self):
        return CareRequest.objects.get(pk=self.request.pk)

    def remote(self) -> list:
        return list(SandboxObject.objects.filter(provider="aisac", kind="care_request"))

    def assert_delivered(self) -> None:
        super().assert_delivered()
        assert self.record().remote_id == f"REQ-{self.remote()[0].pk}"


class WolkvoxChunk(Scenario):
    provider = "wolkvox"
    base_url_setting = "WOLKVOX_BASE_URL"
    credential_setting = "WOLKVOX_TOKEN"
    create_operation = "add_record"
    auth_code = "401"
    auth_message = "Invalid token"
    expected_remote = 3

    def setup(self, deliver) -> None:
        self.campaign = CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")
        rows = [
            (i + 2, {"customer_name": f"Cliente {i}", "tel1": f"3470{i:06d}"}) for i in range(3)
        ]
        assert not call_records_save(campaign=self.campaign, rows=rows, source="import").errors

    def act(self) -> None:
        self.upload = call_upload_create(campaign=self.campaign)

    def record(self):
        return CallUploadChunk.objects.get(upload=self.upload)

    def remote(self) -> list:
        return list(WolkvoxRecord.objects.all())

    def assert_delivered(self) -> None:
        assert self.record().sync_status == SyncStatus.SYNCED, self.record().sync_error
        upload = type(self.upload).objects.get(pk=self.upload.pk)
        assert (upload.status, upload.records_confirmed) == (UploadStatus.DONE, 3)
        assert sorted(r.tel1 for r in self.remote()) == [
            "393470000000",
            "393470000001",
            "393470000002",
        ]


SCENARIOS = {
    s.provider: s
    for s in (VolantinoPiuShop, AmmMovement, SmsHostingPush, AisacCareRequest, WolkvoxChunk)
}


# --- the faults -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    name: str
    knobs: dict[str, Any] = field(default_factory=dict)
    code: str = ""  # the error code of the first attempt ("auth": the provider's own)
    retried: bool = True
    acted: bool = False  # the provider applied the change although we got no good answer
    unknown: bool = False  # the first attempt is marked outcome_unknown
    persistent: bool = False  # stays until the attempts run out


FAULTS = [
    # The provider answered too late and had not acted (it was answering a 503).
    Fault(
        "timeout_before_acting",
        {"latency_ms": int(SLOW * 1000), "forced_status": 503, "forced_remaining": 1},
        code="TIMEOUT",
        unknown=True,
    ),
    # The provider acted, then answered too late: the answer is lost.
    Fault(
        "timeout_after_acting",
        {"latency_after_ms": int(SLOW * 1000)},
        code="TIMEOUT",
        acted=True,
        unknown=True,
    ),
    Fault("connection_refused", code="CONNECTION"),
    # The connection broke after the provider acted.
    Fault("connection_reset_after_acting", code="CONNECTION_LOST", acted=True, unknown=True),
    Fault("burst_500", {"forced_status": 500, "forced_remaining": 3}, code="HTTP_500"),
    Fault("burst_502", {"forced_status": 502, "forced_remaining": 3}, code="HTTP_502"),
    Fault("burst_503", {"forced_status": 503, "forced_remaining": 3}, code="HTTP_503"),
    Fault("unauthorized_401", code="auth", retried=False),
    Fault("over_concurrency_429", {"concurrency_cap": 1}, code="HTTP_429"),
    Fault(
        "malformed_json",
        {"malformed_json": True},
        code="MALFORMED_RESPONSE",
        acted=True,
        unknown=True,
    ),
    # Every answer comes past the read timeout (the provider acts each time it is asked).
    Fault(
        "slow_past_read_timeout",
        {"latency_ms": int(SLOW * 1000)},
        code="TIMEOUT",
        acted=True,
        unknown=True,
        persistent=True,
    ),
]


def apply_fault(fault: Fault, scenario: Scenario, *, knobs, settings, transport, monkeypatch):
    if "latency_ms" in fault.knobs or "latency_after_ms" in fault.knobs:
        # A short read timeout while the provider is slow (the first calls of a test process
        # may take longer than this, so it is not set for the healthy parts).
        settings.PROVIDER_READ_TIMEOUT = READ_TIMEOUT
        # Wolkvox's read timeout is the document's 60 s, not the shared setting.
        monkeypatch.setattr("callcenter.wolkvox.CALL_TIMEOUT_SECONDS", READ_TIMEOUT)
    if fault.knobs:
        knobs(scenario.provider, **fault.knobs)
    if fault.name == "over_concurrency_429":  # another caller holds the one permit
        SandboxKnob.objects.filter(provider=scenario.provider).update(in_flight=1)
    elif fault.name == "connection_refused":
        setattr(settings, scenario.base_url_setting, f"{CLOSED_PORT}/api")
    elif fault.name == "connection_reset_after_acting":
        transport["resets"] = 1
    elif fault.name == "unauthorized_401":
        setattr(settings, scenario.credential_setting, "wrong-credential")


def clear_fault(scenario: Scenario, *, settings, saved: dict[str, Any], monkeypatch) -> None:
    SandboxKnob.objects.filter(provider=scenario.provider).delete()
    monkeypatch.undo()
    for name, value in saved.items():
        setattr(settings, name, value)


def create_calls(scenario: Scenario) -> int:
    return RemoteCall.objects.filter(
        provider=scenario.provider, operation=scenario.create_operation
    ).count()


MATRIX = [
    pytest.param(provider, fault, id=f"{provider}-{fault.name}")
    for provider in SCENARIOS
    for fault in FAULTS
]


@pytest.mark.parametrize(("provider", "fault"), MATRIX)
def test_a_provider_fault_is_classified_and_leaves_exactly_one_remote_effect(
    provider, fault, deliver, knobs, settings, transport, sweep_later, fault_patch
):
    scenario = SCENARIOS[provider]()
    scenario.setup(deliver)
    saved = {
        name: getattr(settings, name)
        for name in (
            scenario.base_url_setting,
            scenario.credential_setting,
            "PROVIDER_READ_TIMEOUT",
        )
    }
    monkeypatch = fault_patch
    if fault.persistent:
        settings.OUTBOX = {**settings.OUTBOX, "MAX_ATTEMPTS": 3}

    # --- the first attempt, while the provider misbehaves ---
    apply_fault(
        fault,
        scenario,
        knobs=knobs,
        settings=settings,
        transport=transport,
        monkeypatch=monkeypatch,
    )
    with deliver():
        scenario.act()

    entry = scenario.entry()
    assert entry.attempts == 1
    if fault.code == "auth":  # refused credentials: the provider's code and message, at once
        assert (entry.state, entry.error_code) == (OutboxState.FAILED, scenario.auth_code)
        assert scenario.auth_message in entry.last_error
        assert scenario.record().sync_status == SyncStatus.FAILED
    else:
        assert (entry.state, entry.error_code) == (OutboxState.PENDING, fault.code)
        assert entry.next_attempt_at > timezone.now()  # retried with backoff
        assert scenario.record().sync_status == SyncStatus.PENDING
    assert entry.outcome_unknown is fault.unknown
    assert len(scenario.remote()) == (scenario.expected_remote if fault.acted else 0)

    # --- what follows ---
    if fault.persistent:  # the later attempts are slow too: they run out, nothing is doubled
        for _ in range(5):
            sweep_later()
        entry.refresh_from_db()
        assert (entry.state, entry.outcome_unknown) == (OutboxState.FAILED, True)
        assert scenario.record().sync_status == SyncStatus.FAILED
        assert len(scenario.remote()) == scenario.expected_remote
        assert create_calls(scenario) == 1
    clear_fault(scenario, settings=settings, saved=saved, monkeypatch=monkeypatch)

    if provider == "wolkvox" and fault.unknown:
        resolve_by_decision(scenario, fault, sweep_later, deliver)
    else:
        if entry.state == OutboxState.FAILED or fault.persistent:
            with deliver():  # a person fixed the cause and pressed "Riprova ora"
                outbox_retry(entries=OutboxEntry.objects.filter(pk=entry.pk))
        for _ in range(6):
            if scenario.entry().state != OutboxState.PENDING:
                break
            sweep_later()
        scenario.assert_delivered()
        if fault.acted:  # the lost answer was looked up, the write not repeated
            assert create_calls(scenario) == 1

    remote = scenario.remote()
    assert len(remote) == scenario.expected_remote  # none missing, none duplicated


def resolve_by_decision(scenario: Scenario, fault: Fault, sweep_later, deliver) -> None:
    """Wolkvox cannot be asked what it received: the chunk stops for a person's decision and
    is never resent on its own."""
    calls_before = create_calls(scenario)
    for _ in range(3):
        sweep_later()
    chunk = scenario.record()
    entry = scenario.entry()
    assert (entry.state, entry.error_code) == (OutboxState.FAILED, "OUTCOME_UNKNOWN")
    assert chunk.sync_status == SyncStatus.FAILED
    assert type(scenario.upload).objects.get(pk=scenario.upload.pk).status == (
        UploadStatus.ATTENTION
    )
    assert create_calls(scenario) == calls_before  # nothing was sent blindly
    assert len(scenario.remote()) == (scenario.expected_remote if fault.acted else 0)

    # Checked in Wolkvox: the leads are there (mark delivered) or not (send again).
    if fault.acted:
        call_chunks_mark_delivered(chunks=[chunk])
    else:
        with deliver():
            call_chunks_resend(chunks=[chunk])
    scenario.assert_delivered()
