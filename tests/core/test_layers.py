"""Issue 22: one direction of dependencies. The contracts of pyproject.toml hold (`lint-imports`),
imports are at the top of modules, the core gathers what the apps hold through registries each
app fills from its AppConfig.ready(), and the demo app is not installed in production."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache import cache

from core import customer_data, dashboard
from core.customer_data import CustomerPart, TimelineItem, customer_parts
from core.dashboard import dashboard_data, dashboard_panels
from loyalty.privacy import customer_erase, customer_export
from loyalty.services import customer_get_or_create
from loyalty.timeline import customer_timeline

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("config", "core", "campaigns", "loyalty", "messaging", "callcenter", "store")
PROJECT += ("sandbox", "demo")

# Imports still made inside a function, each with the cycle it avoids; only shrinking is allowed.
LEFT: dict[tuple[str, str, str], str] = {}


def function_level_imports(root: Path) -> set[tuple[str, str, str]]:
    """(file, function, module) of every import of a project module made inside a function,
    except in an AppConfig's ready() and in a Celery task's body."""
    found: set[tuple[str, str, str]] = set()
    for path in sorted(root.glob("*/**/*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] not in PROJECT or "migrations" in relative.parts:
            continue

        def visit(node: ast.AST, function=None, klass=None, path=path, relative=relative):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, function, child)
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    visit(child, child, klass if function is None else None)
                elif isinstance(child, ast.Import | ast.ImportFrom) and function is not None:
                    if function.name == "ready" and klass is not None:
                        continue  # AppConfig.ready(): where registries are filled
                    if any("task" in ast.unparse(d) for d in function.decorator_list):
                        continue  # a Celery task's body
                    if isinstance(child, ast.ImportFrom):
                        names = [relative.parts[0] if child.level else child.module or ""]
                    else:
                        names = [alias.name for alias in child.names]
                    for name in names:
                        if name.split(".")[0] in PROJECT:
                            found.add((relative.as_posix(), function.name, name))
                else:
                    visit(child, function, klass)

        visit(ast.parse(path.read_text(), str(path)))
    return found


def test_lint_imports_keeps_every_contract():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603 (our own virtualenv's tool)
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_imports_are_at_the_top_of_modules():
    assert function_level_imports(ROOT) <= set(LEFT)


def test_each_app_registers_its_dashboard_panels_and_customer_parts():
    assert {"pushes", "points", "cards", "uploads"} <= set(dashboard_panels())
    # In the order the apps are installed: loyalty (the customer's own) first.
    assert [part.name for part in customer_parts()][:3] == ["loyalty", "messaging", "callcenter"]
    assert [section.label for section in customer_data.customer_admin_sections()] == [
        "WhatsApp (Aisac)"
    ]


@pytest.mark.django_db
def test_a_registered_part_reaches_the_export_the_erasure_and_the_timeline(admin_user, monkeypatch):
    customer = customer_get_or_create(msisdn="+393480000077", name="Ada")
    seen = []

    def erase(erasure):
        seen.append((erasure.number, erasure.placeholder, erasure.customer.pk))
        return ["Altro: ask them."]

    monkeypatch.setitem(
        customer_data._parts,
        "other",
        CustomerPart(
            "other",
            export=lambda customer, user: {"other": [customer.name, user.username]},
            erase=erase,
            timeline=lambda customer, user: [
                TimelineItem(customer.created_at, "other", "Ada's other record", "")
            ],
        ),
    )

    assert customer_export(customer=customer, user=admin_user)["other"] == ["Ada", "admin"]
    timeline = customer_timeline(customer=customer, user=admin_user)
    assert "Ada's other record" in [item.text for item in timeline]
    kept = customer_erase(customer=customer)
    assert kept[-1] == "Altro: ask them."
    assert seen == [("393480000077", f"999{customer.pk:09d}", customer.pk)]


@pytest.mark.django_db
def test_a_registered_panel_is_on_the_dashboard(monkeypatch):
    monkeypatch.setitem(dashboard._panels, "other", lambda: ["a row"])
    cache.clear()
    try:
        assert dashboard_data()["other"] == ["a row"]
    finally:
        cache.clear()
    with pytest.raises(ValueError):
        dashboard.dashboard_panel_register("providers", list)


def test_the_demo_app_is_installed_here_and_not_in_production():
    assert apps.is_installed("demo") and apps.is_installed("sandbox")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "vetrina.example.com",
        "DATABASE_URL": "postgres://vetrina:vetrina@127.0.0.1:1/vetrina",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "CACHE_URL": "redis://127.0.0.1:1/1",
        "VETRINA_VAR_DIR": os.environ.get("VETRINA_VAR_DIR", "/tmp"),  # noqa: S108
    }
    for name in ("VOLANTINOPIU", "WOLKVOX"):
        env |= {f"{name}_BASE_URL": "https://example.com", f"{name}_TOKEN": "t"}
    for name in ("AMM", "SMSHOSTING"):
        env |= {f"{name}_{key}": "k" for key in ("AUTH_KEY", "AUTH_SECRET")}
        env[f"{name}_BASE_URL"] = "https://example.com"
    env |= {"AISAC_BASE_URL": "https://example.com", "AISAC_API_KEY": "k"}
    env |= {"AISAC_INBOUND_KEY": "k"}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.production as s; print(s.INSTALLED_APPS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    installed = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert "demo" not in installed and "sandbox" not in installed
    assert {"core", "campaigns", "loyalty", "messaging", "callcenter", "store"} <= set(installed)


@pytest.mark.django_db
def test_the_customer_page_shows_the_other_apps_sections(admin_client):
    """Messaging's section (Aisac's flows and charges) on loyalty's customer page, collapsed."""
    customer = customer_get_or_create(msisdn="+393471234501", name="Giulia")
    page = admin_client.get(f"/admin/loyalty/customer/{customer.pk}/change/").content.decode()
    section = page.split('<fieldset class="module aligned collapse"')[1].split("</fieldset>")[0]
    assert "WhatsApp (Aisac)" in section and "Flussi e addebiti" in section
    assert 'class="form-row field-aisac_activity"' in section
