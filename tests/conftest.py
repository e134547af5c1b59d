import socket

import pytest

from core import http as core_http
from sandbox.knobs import knob_set
from sandbox.models import SandboxObject
from tests.sandbox_transport import SANDBOX_ORIGIN, DjangoSandboxAdapter
from tests.tokens import token_for

_real_build_session = core_http.build_session
_real_connect = socket.socket.connect
_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}


def _guarded_connect(self, address):
    """The network is closed in tests: only loopback (live_server, PostgreSQL, Redis)."""
    if isinstance(address, tuple) and address[0] not in _LOCAL_HOSTS:
        raise RuntimeError(f"Test tried to reach {address[0]}: only loopback is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True)
def sandbox_transport(monkeypatch):
    """Provider clients reach the sandbox views in-process at http://sandbox.test."""

    def build_session():
        session = _real_build_session()
        session.mount(SANDBOX_ORIGIN, DjangoSandboxAdapter())
        return session

    monkeypatch.setattr(core_http, "build_session", build_session)
    core_http.clients_reset()
    yield
    core_http.clients_reset()


@pytest.fixture
def knobs():
    """Set a simulated provider's fault knobs: knobs("volantinopiu", forced_status=500)."""

    def set_knobs(provider: str, **values):
        return knob_set(provider=provider, **values)

    return set_knobs


@pytest.fixture
def sandbox_records():
    """What a simulated provider holds: sandbox_records("volantinopiu", "shop")."""

    def records(provider: str, kind: str) -> list[dict]:
        return [
            {"id": o.pk, **o.data}
            for o in SandboxObject.objects.filter(provider=provider, kind=kind).order_by("pk")
        ]

    return records


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """`with deliver(): ...` runs what the workers would run once the block commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def outcome_transactions(monkeypatch):
    """How many deliveries each outcome transaction of a relay recorded (a batch's, or one)."""
    from core import outbox

    recorded = []
    real = outbox._record_success

    def counted(entry, state, calls, **options):
        recorded.append(len(options.get("deferred", ())) + (entry is not None))
        return real(entry, state, calls, **options)

    monkeypatch.setattr(outbox, "_record_success", counted)
    return recorded


@pytest.fixture
def api(client):
    """The test client as a script would use the API: a superuser's token."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("script", "s@example.com", "pw-123456!")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    return client


@pytest.fixture
def broker_idle(monkeypatch):
    """Publishing does nothing: the test delivers entries itself, from its own threads."""
    from core.tasks import outbox_deliver_task

    monkeypatch.setattr(outbox_deliver_task, "delay", lambda *args, **kwargs: None)


STORE_PASSWORD = "Banco-Milano-2026!"


@pytest.fixture
def store_manager_client(db):
    """A counter user for some shops, logged in through the counter's own login form:
    store_manager_client("mario", "PV-MINE"). Calling it again for the same user is fine."""
    from io import StringIO

    from django.core.management import call_command
    from django.test import Client

    def log_in(username: str, *shop_codes: str) -> Client:
        shops = [arg for code in shop_codes for arg in ("--shop", code)]
        call_command(
            "createstoremanager",
            username,
            *shops,
            "--password",
            STORE_PASSWORD,
            stdout=StringIO(),
        )
        client = Client()
        response = client.post("/store/login/", {"username": username, "password": STORE_PASSWORD})
        assert response.status_code == 302, "the counter login failed"
        return client

    return log_in
