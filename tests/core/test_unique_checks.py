"""A synced record's uniqueness checks run as SQL written once (core.models.SyncedModel): the
same answers and the same messages as Django's own checks, in one statement a field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from campaigns.models import Shop
from campaigns.services import shop_create

pytestmark = pytest.mark.django_db


def _shop(code: str, **extra) -> Shop:
    return Shop(code=code, address="Via Roma 1", city="Milano", **extra)


def _both(shop: Shop) -> tuple[dict, dict]:
    """The errors of our checks and of Django's, for the same record."""
    checks, _ = shop._get_unique_checks()
    ours = shop._perform_unique_checks(checks)
    django = models.Model._perform_unique_checks(shop, checks)
    return _messages(ours), _messages(django)


def _messages(errors: dict) -> dict[str, list[str]]:
    return {key: [m for error in found for m in error.messages] for key, found in errors.items()}


def test_a_new_record_with_a_taken_code_gets_djangos_own_message():
    taken = _shop("PV-U-1")
    taken.save()
    ours, django = _both(_shop("PV-U-1"))
    assert ours == django
    assert list(ours) == ["code"]


def test_a_record_that_keeps_its_own_code_is_not_its_own_duplicate():
    shop = _shop("PV-U-1", remote_id="R-1")
    shop.save()
    shop.city = "Torino"
    assert _both(shop) == ({}, {})


def test_an_existing_record_moved_onto_anothers_code_or_remote_id_is_a_duplicate():
    _shop("PV-U-1", remote_id="R-1").save()
    moved = _shop("PV-U-2", remote_id="R-2")
    moved.save()
    moved.code, moved.remote_id = "PV-U-1", "R-1"
    ours, django = _both(moved)
    assert ours == django
    assert set(ours) == {"code", "remote_id"}


def test_an_empty_unique_value_is_not_looked_up(django_assert_num_queries):
    _shop("PV-U-1").save()  # remote_id NULL, as every record before its first sync
    fresh = _shop("PV-U-2")
    with django_assert_num_queries(1):  # the code alone: no remote id to compare
        assert fresh._perform_unique_checks(fresh._get_unique_checks()[0]) == {}


def test_the_service_refuses_a_taken_code_in_italian_and_writes_nothing():
    shop_create(code="PV-U-1", address="Via Roma 1", city="Milano")
    with pytest.raises(ValidationError) as refused:
        shop_create(code="PV-U-1", address="Via Verdi 2", city="Roma")
    assert "Codice" in refused.value.message_dict["code"][0]
    assert Shop.objects.count() == 1
