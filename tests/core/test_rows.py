"""`core.rows` writes exactly what the ORM would: its shortcut past the field conversions that
change nothing gives each field's `get_db_prep_save` answer, on either database; `row_create`
writes a new record's row and sends its signals as `save()` does."""

from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Value
from django.db.models.functions import Concat
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils.functional import lazy

from campaigns.models import Shop
from core.models import OutboxEntry, OutboxState, RemoteCall, SyncedModel
from core.rows import (
    _db_value,
    _plainly_inserted,
    inserts_statement,
    new_row_values,
    row_create,
    row_load,
    rows_load,
    values_statement,
)

pytestmark = pytest.mark.django_db

lazy_text = lazy(str, str)  # as gettext_lazy's proxies, without a catalogue
SAMPLES = [
    None,
    "",
    "Via Roma 1",
    OutboxState.DONE,
    lazy_text("Milano"),
    True,
    False,
    0,
    7,
    datetime(2026, 12, 7, 16, 59, 44, 123456, tzinfo=UTC),
    datetime(2026, 12, 7, 17, 59, 44, tzinfo=ZoneInfo("Europe/Rome")),
]


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


# --- row_create: Model.save() for a new instance -------------------------------------------


def synced_models() -> list[type]:
    return [model for model in apps.get_models() if issubclass(model, SyncedModel)]


@pytest.mark.parametrize("model", synced_models(), ids=lambda model: model._meta.label)
def test_every_synced_record_is_created_by_the_built_once_insert(model):
    # outbox_record_save creates each of them with row_create: none falls back to save().
    assert _plainly_inserted(model)


def test_a_model_that_saves_its_own_way_is_not_inserted_plainly():
    assert not _plainly_inserted(get_user_model())  # AbstractBaseUser overrides save()


def received(signal, sender) -> tuple[list[dict], object]:
    calls: list[dict] = []

    def receiver(sender, instance, **kwargs):
        calls.append(
            {"sender": sender, "pk": instance.pk, "adding": instance._state.adding, **kwargs}
        )

    signal.connect(receiver, sender=sender, weak=False)
    return calls, receiver


def test_row_create_writes_the_row_and_sends_the_signals_save_does():
    fields = {
        "address": "Via Roma 1",
        "city": "Milano",
        "postal_code": "20121",
        "province": "MI",
        "latitude": Decimal("45.464211"),
        "email": "negozio@example.com",
        "active": False,
    }
    before, pre = received(pre_save, Shop)
    after, post = received(post_save, Shop)
    try:
        saved = Shop(code="SAVED", **fields)
        saved.save()
        created = Shop(code="CREATED", **fields)
        row_create(created)
    finally:
        pre_save.disconnect(pre, sender=Shop)
        post_save.disconnect(post, sender=Shop)
    assert created.pk is not None and created.pk != saved.pk
    assert not created._state.adding and created._state.db == saved._state.db == "default"
    ignored = {"id", "code", "created_at", "updated_at"}
    names = [f.attname for f in Shop._meta.concrete_fields if f.attname not in ignored]
    rows = Shop.objects.filter(pk__in=[saved.pk, created.pk]).order_by("pk")
    assert [list(row) for row in rows.values_list(*names)] == [
        [getattr(saved, name) for name in names]
    ] * 2
    assert created.created_at is not None and created.updated_at is not None
    fresh = Shop.objects.get(pk=created.pk)
    assert (fresh.created_at, fresh.updated_at) == (created.created_at, created.updated_at)
    # Each signal once per save, with the same arguments, the key read back by post_save.
    assert [call | {"pk": None} for call in before] == [
        {"sender": Shop, "pk": None, "adding": True, "signal": pre_save, "raw": False,
         "using": "default", "update_fields": None}
    ] * 2  # fmt: skip
    assert [call["pk"] for call in after] == [saved.pk, created.pk]
    assert after[0] | {"pk": None} == after[1] | {"pk": None}
    assert after[1]["created"] is True and after[1]["adding"] is False


def test_an_expression_or_a_model_not_plainly_inserted_goes_through_save():
    shop = Shop(
        code="EXPR", address="Via Roma 1", city="Milano", description=Concat(Value("a"), Value("b"))
    )
    row_create(shop)
    assert Shop.objects.get(pk=shop.pk).description == "ab"  # resolved by the ORM's INSERT
    shop = Shop(code="SAVE", address="Via Roma 1", city="Milano")
    with (
        mock.patch("core.rows._plainly_inserted", return_value=False),
        mock.patch.object(Shop, "save", autospec=True, side_effect=Model.save) as save,
    ):
        row_create(shop)
    save.assert_called_once_with(shop)
    assert Shop.objects.filter(code="SAVE").exists()


@pytest.mark.parametrize("given", ["expression", "key"])
def test_a_value_a_pre_save_receiver_gives_is_written_as_save_writes_it(given):
    """A receiver of pre_save runs before the INSERT is chosen: an expression or a key it sets
    goes to the ORM's own INSERT, with each signal sent once, as save() would."""
    free_pk = (Shop.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 100

    def give(sender, instance, **kwargs):
        if given == "expression":
            instance.description = Concat(Value("a"), Value("b"))
        else:
            instance.pk = free_pk

    pre_save.connect(give, sender=Shop, weak=False)
    before, pre = received(pre_save, Shop)
    after, post = received(post_save, Shop)
    try:
        shop = Shop(code="GIVEN", address="Via Roma 1", city="Milano")
        row_create(shop)
    finally:
        for signal, receiver in ((pre_save, give), (pre_save, pre), (post_save, post)):
            signal.disconnect(receiver, sender=Shop)
    fresh = Shop.objects.get(code="GIVEN")
    assert shop.pk == fresh.pk and (given == "expression" or fresh.pk == free_pk)
    assert given == "key" or fresh.description == "ab"
    assert not shop._state.adding and shop._state.db == "default"
    assert len(before) == 1 and [call["pk"] for call in after] == [fresh.pk]
    assert after[0]["created"] is True


def test_a_failed_insert_marks_the_transaction_for_rollback_as_save_does():
    Shop.objects.create(code="TAKEN", address="Via Roma 1", city="Milano")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            row_create(Shop(code="TAKEN", address="Via Roma 2", city="Milano"))
        assert transaction.get_rollback()  # the block ends in a rollback, as after save()


def test_a_new_rows_values_are_those_of_its_instance():
    values = {
        "provider": "volantinopiu",
        "operation": "addShop",
        "method": "POST",
        "path": "/addShop",
        "status_code": 201,
        "duration_ms": 12,
        "ok": True,
        "created_at": datetime(2026, 12, 7, 16, 59, 44, tzinfo=UTC),
    }
    expected = inserts_statement(RemoteCall, [RemoteCall(**values)]).params
    assert [new_row_values(RemoteCall, values)] == expected
    values_statement(RemoteCall, expected).run()
    call = RemoteCall.objects.get()
    assert (call.error, call.answer_shape, call.outbox_entry_id) == ("", "", None)  # defaults
    assert call.created_at == values["created_at"] and call.status_code == 201


def test_a_new_rows_values_refuse_what_the_instance_would_not_take():
    with pytest.raises(TypeError):
        new_row_values(RemoteCall, {"provider": "amm", "no_such_field": 1})
    with pytest.raises(ValueError):
        new_row_values(Shop, {"code": "X"})  # its dates are set when it is saved


def test_several_rows_are_read_in_one_statement_as_one_row_is():
    shops = [
        Shop.objects.create(code=f"R{n}", address="Via Roma 1", city="Milano") for n in range(3)
    ]
    keys = [str(shop.pk) for shop in shops[:2]] + ["999999"]  # the last one is not there
    with CaptureQueriesContext(connection) as queries:
        found = rows_load(Shop, keys)
    assert len(queries) == 1
    assert set(found) == set(keys[:2])
    for key, shop in found.items():
        alone = row_load(Shop, key)
        assert {f.attname: getattr(shop, f.attname) for f in Shop._meta.concrete_fields} == {
            f.attname: getattr(alone, f.attname) for f in Shop._meta.concrete_fields
        }
        assert not shop._state.adding and shop._state.db == "default"
    assert rows_load(Shop, []) == {}
    asked = f"00{shops[2].pk}"  # found under the text it was asked by, as row_load takes it
    assert list(rows_load(Shop, [asked])) == [asked]
