"""API tokens move from DRF's authtoken (the key stored as it is) to django-rest-knox (only a
SHA-512 digest stored). Existing keys keep working: each is hashed into a knox token of the
same user, then DRF's table is dropped, so no token is left readable in the database."""

from datetime import UTC

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    if "authtoken_token" not in tables:
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = AuthToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=None,
        )
        token.save(force_insert=True)
        AuthToken.objects.filter(pk=token.pk).update(created=_aware(created))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="authtoken").delete()


def _aware(value):
    """A raw column read: a string on SQLite, naive or aware; stored in UTC either way."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_outbox_waiting_index"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop)]
