"""A sandbox knob's provider is one of the five simulated providers: a typo is refused with an
Italian message and saves nothing (before, it was saved with a success message and changed no
provider's behaviour)."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from sandbox.knobs import PROVIDERS, knob_set
from sandbox.models import SandboxKnob

pytestmark = pytest.mark.django_db


def test_the_admin_offers_the_five_providers_to_choose_from(admin_client):
    page = admin_client.get("/admin/sandbox/sandboxknob/add/").content.decode()
    select = re.search(r'<select name="provider"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the provider is typed, not chosen"
    values = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert [v for v in values if v] == list(PROVIDERS)


def test_a_typo_in_the_admin_is_refused_in_italian_and_saves_nothing(admin_client):
    response = admin_client.post(
        "/admin/sandbox/sandboxknob/add/",
        {
            "provider": "volantinopu",
            "latency_ms": 0,
            "latency_after_ms": 0,
            "answer_time_ms": 0,
            "error_rate": 0.5,
            "answers": "",
        },
    )
    assert response.status_code == 200  # the form again, not a redirect with "added"
    assert "Scegli un&#x27;opzione valida. volantinopu non è tra quelle disponibili." in (
        response.content.decode()
    )
    assert not SandboxKnob.objects.exists()


def test_a_known_provider_is_saved_from_the_admin(admin_client):
    response = admin_client.post(
        "/admin/sandbox/sandboxknob/add/",
        {
            "provider": "amm",
            "latency_ms": 0,
            "latency_after_ms": 0,
            "answer_time_ms": 0,
            "error_rate": 0.5,
            "answers": "",
        },
    )
    assert response.status_code == 302
    assert SandboxKnob.objects.get().provider == "amm"


def test_a_typo_in_code_is_refused_before_any_row_is_made():
    with translation.override("it"), pytest.raises(ValidationError) as refused:
        knob_set(provider="amn", error_rate=1.0)
    assert refused.value.message_dict["provider"] == [
        "Fornitore sconosciuto 'amn': scegline uno tra "
        "volantinopiu, amm, smshosting, wolkvox, aisac."
    ]
    assert not SandboxKnob.objects.exists()


def test_the_model_itself_refuses_an_unknown_provider():
    with translation.override("it"), pytest.raises(ValidationError) as refused:
        SandboxKnob(provider="Aisac").full_clean()
    assert refused.value.message_dict["provider"] == ["Il valore 'Aisac' non è una scelta valida."]
