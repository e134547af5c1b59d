"""A creation's audit entry made before the record's INSERT (core/audit_creations.py): the same
entry django-auditlog writes, one per creation, the author included; written after the INSERT
for a record whose values change while it is saved (a file); none when auditing is off."""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
from auditlog.context import disable_auditlog, set_actor
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.signals import post_log, pre_log
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DateTimeField
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Media, Shop
from campaigns.services import shop_create
from core import audit_creations
from core.audit import audited_models
from tests.campaigns.images import image_upload

pytestmark = pytest.mark.django_db

COMPARED = (
    "content_type_id",
    "action",
    "changes",
    "changes_text",
    "serialized_data",
    "actor_id",
    "actor_email",
    "remote_addr",
    "remote_port",
    "additional_data",
    "cid",
)


def shop_fields(code: str) -> dict:
    return {
        "code": code,
        "address": "Via Roma 1",
        "city": "Milano",
        "postal_code": "20121",
        "province": "MI",
        "email": "negozio@example.com",
    }


@contextmanager
def auditlog_alone(model):
    """auditlog's own receivers, ours disconnected: what it writes by itself."""
    uid = f"core.audit_creations:{model._meta.label_lower}"
    receivers = (
        (pre_save, audit_creations._prepare),
        (post_save, audit_creations._write),
        (pre_log, audit_creations._stand_down),
    )
    for signal, _ in receivers:
        assert signal.disconnect(sender=model, dispatch_uid=uid)
    try:
        yield
    finally:
        for signal, receiver in receivers:
            signal.connect(receiver, sender=model, dispatch_uid=uid, weak=False)


def entries_of(obj) -> list[LogEntry]:
    return list(LogEntry.objects.get_for_object(obj))


def comparable(entry: LogEntry, obj) -> dict:
    values = {name: getattr(entry, name) for name in COMPARED}
    values["changes"] = {
        name: change for name, change in entry.changes.items() if name != "code"
    }  # the one value that differs between the two shops
    assert entry.object_pk == str(obj.pk) and entry.object_id == obj.pk
    assert entry.object_repr == str(obj)
    return values


def test_a_creation_writes_the_entry_auditlog_writes_with_its_author():
    author = get_user_model().objects.create_user("marketing", email="m@example.com")
    with set_actor(author, remote_addr="192.0.2.7", remote_port=4242):
        ours = shop_create(**shop_fields("NEG-1"))
        with auditlog_alone(Shop):
            theirs = shop_create(**shop_fields("NEG-2"))
    [our_entry], [their_entry] = entries_of(ours), entries_of(theirs)
    assert comparable(our_entry, ours) == comparable(their_entry, theirs)
    assert our_entry.actor == author and our_entry.actor_email == "m@example.com"
    assert our_entry.remote_addr == "192.0.2.7"
    assert our_entry.changes["code"] == ["None", "NEG-1"]
    assert our_entry.action == LogEntry.Action.CREATE


def test_the_entry_is_written_in_the_records_transaction_after_its_insert():
    with CaptureQueriesContext(connection) as queries:
        shop = shop_create(**shop_fields("NEG-3"))
    # On PostgreSQL a prepared statement is logged as QUERY = '…' - PARAMS = …
    writes = [m[1] for q in queries if (m := re.search(r'INSERT INTO "?(\w+)', q["sql"]))]
    assert writes[:2] == ["campaigns_shop", "auditlog_logentry"]
    assert len(entries_of(shop)) == 1


def test_auditlogs_signals_are_sent_as_auditlog_sends_them():
    seen = []

    def before(sender, instance, action, **kwargs):
        seen.append(("pre_log", sender, action))

    def after(sender, instance, action, log_created, log_entry, **kwargs):
        seen.append(("post_log", sender, action, log_created, log_entry.pk))

    pre_log.connect(before, sender=Shop, dispatch_uid="test-pre")
    post_log.connect(after, sender=Shop, dispatch_uid="test-post")
    try:
        shop = shop_create(**shop_fields("NEG-4"))
    finally:
        pre_log.disconnect(sender=Shop, dispatch_uid="test-pre")
        post_log.disconnect(sender=Shop, dispatch_uid="test-post")
    [entry] = entries_of(shop)
    # pre_log twice (ours, and auditlog's receiver asking, told no), post_log once.
    assert sorted(seen, key=repr) == [
        ("post_log", Shop, LogEntry.Action.CREATE, True, entry.pk),
        ("pre_log", Shop, LogEntry.Action.CREATE),
        ("pre_log", Shop, LogEntry.Action.CREATE),
    ]


def test_a_pre_log_veto_still_stops_the_entry():
    def veto(sender, instance, action, **kwargs):
        return False

    pre_log.connect(veto, sender=Shop, dispatch_uid="test-veto")
    try:
        shop = shop_create(**shop_fields("NEG-5"))
    finally:
        pre_log.disconnect(sender=Shop, dispatch_uid="test-veto")
    assert entries_of(shop) == []
    shop.city = "Torino"
    shop.save()  # an update afterwards is auditlog's, as before
    assert [e.action for e in entries_of(shop)] == [LogEntry.Action.UPDATE]


def test_no_entry_while_auditing_is_off():
    with disable_auditlog():
        shop = shop_create(**shop_fields("NEG-6"))
    assert entries_of(shop) == []


def test_a_record_whose_file_is_named_while_saving_gets_the_files_final_name(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert not audit_creations._values_known_before_save(Media)
    assert audit_creations._values_known_before_save(Shop)
    first = Media(name="Volantino", file=image_upload("volantino.png"))
    first.save()
    second = Media(name="Volantino", file=image_upload("volantino.png"))
    second.save()  # the storage gives it another name
    assert first.file.name != second.file.name
    for media in (first, second):
        [entry] = entries_of(media)
        assert entry.changes["file"] == ["None", media.file.name]


def test_an_update_and_a_deletion_are_still_auditlogs():
    shop = shop_create(**shop_fields("NEG-7"))
    shop.city = "Torino"
    shop.save()
    pk = shop.pk
    shop.delete()
    actions = sorted(
        LogEntry.objects.filter(object_pk=str(pk), content_type__model="shop").values_list(
            "action", flat=True
        )
    )
    assert actions == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE]


def filled(model):
    """A new instance of `model` with a value in its relations and its first date and time."""
    instance = model()
    for field in model._meta.concrete_fields:
        if field.is_relation:
            setattr(instance, field.attname, 7)
        elif isinstance(field, DateTimeField):
            setattr(instance, field.attname, timezone.now())
    return instance


@pytest.mark.parametrize("use_json", [False, True])
@pytest.mark.parametrize("model", audited_models(), ids=lambda model: model._meta.label)
def test_the_creations_diff_is_auditlogs_for_every_audited_model(model, use_json):
    for instance in (model(), filled(model)):
        expected = model_instance_diff(None, instance, use_json_for_changes=use_json)
        assert audit_creations._creation_diff(instance, use_json) == expected


def test_the_creations_diff_of_a_shop_with_every_value():
    shop = Shop(latitude=Decimal("45.464211"), active=False, **shop_fields("DIFF"))
    expected = model_instance_diff(None, shop)
    assert audit_creations._creation_diff(shop, False) == expected
    assert expected["latitude"] == ("None", "45.464211") and expected["active"][1] == "False"
