"""The outbox's single-column indexes on the record and the next attempt go: the record leads,
and the next attempt follows the state in, a composite index their queries use
(outbox_key_state_idx, outbox_due_idx), and every entry written or rewritten paid for them
(core.models.OutboxEntry).

Dropped by name rather than by AlterField: on SQLite, AlterField copies the whole table once per
field to drop an index. The names are the ones Django gave them (the `_like` twins exist on
PostgreSQL only). Going back recreates the plain indexes."""

from django.db import migrations, models

DROPPED = {
    "core_outboxentry_object_key_cce0eb73": "object_key",
    "core_outboxentry_next_attempt_at_cf289fa1": "next_attempt_at",
}
PATTERN_TWINS = ("core_outboxentry_object_key_cce0eb73_like",)


def drop_indexes(apps, schema_editor):
    for name in (*DROPPED, *PATTERN_TWINS):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def recreate_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, column in DROPPED.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote('core_outboxentry')} ({quote(column)})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0011_relay_request"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxentry",
                    name="next_attempt_at",
                    field=models.DateTimeField(verbose_name="next attempt"),
                ),
                migrations.AlterField(
                    model_name="outboxentry",
                    name="object_key",
                    field=models.CharField(max_length=170, verbose_name="record"),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, recreate_indexes)],
        ),
    ]
