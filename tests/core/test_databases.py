"""The embedded default's databases: Vetrina's own, the sandboxes' and the provider slots',
each holding only its own tables (core/routers.py, sandbox/routers.py)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.db.utils import ConnectionRouter
from django.test import override_settings

from core.models import OutboxEntry, ProviderSlot
from core.routers import SLOTS_DB, SlotsRouter, slots_db
from sandbox.models import SandboxKnob
from sandbox.routers import SANDBOX_DB, SandboxRouter

REPO = Path(__file__).resolve().parents[2]
THREE_DATABASES = {
    "default": {"ENGINE": "core.sqlite", "NAME": "vetrina.sqlite3"},
    SANDBOX_DB: {"ENGINE": "core.sqlite", "NAME": "sandbox.sqlite3"},
    SLOTS_DB: {"ENGINE": "core.sqlite", "NAME": "slots.sqlite3"},
}


def routers() -> ConnectionRouter:
    return ConnectionRouter([SlotsRouter(), SandboxRouter()])


@override_settings(DATABASES=THREE_DATABASES)
def test_slots_are_read_and_written_in_their_own_database():
    router = routers()
    assert slots_db() == SLOTS_DB
    assert router.db_for_write(ProviderSlot) == SLOTS_DB
    assert router.db_for_read(ProviderSlot) == SLOTS_DB
    assert router.db_for_write(OutboxEntry) == "default"
    assert router.db_for_write(SandboxKnob) == SANDBOX_DB


@override_settings(DATABASES=THREE_DATABASES)
def test_each_database_is_given_only_its_own_tables():
    router = routers()

    def allowed(db, model):
        return router.allow_migrate(db, model._meta.app_label, model_name=model._meta.model_name)

    assert allowed(SLOTS_DB, ProviderSlot)
    assert not allowed(SLOTS_DB, OutboxEntry)
    assert not allowed(SLOTS_DB, SandboxKnob)
    assert not router.allow_migrate(SLOTS_DB, "core")  # a data migration without a model
    assert not allowed("default", ProviderSlot)
    assert not allowed(SANDBOX_DB, ProviderSlot)
    assert allowed("default", OutboxEntry)
    assert allowed(SANDBOX_DB, SandboxKnob)
    assert not allowed("default", SandboxKnob)


def test_without_a_slots_database_the_slots_stay_in_the_default_one():
    # The test settings (and PostgreSQL installs) define no "slots" database.
    assert slots_db() == "default"
    assert routers().db_for_write(ProviderSlot) == "default"
    assert SlotsRouter().allow_migrate("default", "core", model_name="providerslot") is None


SLOT_ROUND_TRIP = """
from core.limits import slot_acquire, slot_looks_free, slot_release
first = slot_acquire(provider="wolkvox", lease_seconds=60)
second = slot_acquire(provider="wolkvox", lease_seconds=60)
assert first and second and slot_acquire(provider="wolkvox", lease_seconds=60) is None
assert not slot_looks_free(provider="wolkvox")
slot_release(token=first)
assert slot_looks_free(provider="wolkvox")
"""


def test_migrate_sets_up_three_files_and_the_slots_work_in_theirs(tmp_path):
    """`manage.py migrate` on the embedded default, in a process of its own (the real settings):
    each file has its own tables only, and a slot taken is a row of slots.sqlite3."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VETRINA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'vetrina.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
    }
    env.pop("SANDBOX_DATABASE_URL", None)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO, timeout=300)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*manage, "shell", "-v0", "-c", SLOT_ROUND_TRIP], env=env, check=True, cwd=REPO, timeout=60
    )

    def tables(name: str) -> set[str]:
        with sqlite3.connect(tmp_path / name) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows} - {"django_migrations", "sqlite_sequence"}

    assert tables("slots.sqlite3") == {"core_providerslot", "core_relayrequest"}
    assert not {"core_providerslot", "core_relayrequest"} & tables("vetrina.sqlite3")
    assert "core_outboxentry" in tables("vetrina.sqlite3")
    assert tables("sandbox.sqlite3") and all(
        t.startswith("sandbox_") for t in tables("sandbox.sqlite3")
    )
    with sqlite3.connect(tmp_path / "slots.sqlite3") as db:
        held = db.execute("SELECT COUNT(*) FROM core_providerslot WHERE holder != ''").fetchone()
    assert held == (1,)
