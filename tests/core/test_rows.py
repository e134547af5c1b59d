"""`core.rows` writes exactly what the ORM would: its shortcut past the field conversions that
change nothing gives each field's `get_db_prep_save` answer, on either database."""

import pytest
from django.db import connection
from django.utils.functional import lazy

from campaigns.models import Shop
from core.models import OutboxEntry, OutboxState, RemoteCall
from core.rows import _db_value

pytestmark = pytest.mark.django_db

lazy_text = lazy(str, str)  # as gettext_lazy's proxies, without a catalogue
SAMPLES = [None, "", "Via Roma 1", OutboxState.DONE, lazy_text("Milano"), True, False, 0, 7]


@pytest.mark.parametrize("model", [OutboxEntry, RemoteCall, Shop])
def test_every_field_written_by_the_hot_path_converts_as_the_orm_does(model):
    compared = 0
    for field in model._meta.concrete_fields:
        for value in SAMPLES:
            try:
                expected = field.get_db_prep_save(value, connection)
            except Exception:  # noqa: S112 (a value the field cannot take at all: none to compare)
                continue
            got = _db_value(field, value, connection)
            assert type(got) is type(expected), (field.name, value)
            # PostgreSQL's JSON wrapper has no equality of its own: its wrapped value has.
            assert getattr(got, "obj", got) == getattr(expected, "obj", expected), (field, value)
            compared += 1
    assert compared > 20


def test_a_lazy_text_is_still_resolved_and_a_number_still_goes_through_its_field():
    field = Shop._meta.get_field("city")
    assert _db_value(field, lazy_text("Milano"), connection) == "Milano"
    assert type(_db_value(field, lazy_text("Milano"), connection)) is str
    assert _db_value(field, 12, connection) == "12"  # to_python's str(), not the shortcut
