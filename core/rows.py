"""Reading and writing rows with SQL built once per model and field set.

Every outbox delivery reads its entry and its record and writes both back. The ORM builds each
of those statements anew every time, and building them cost a delivery several times more CPU
than running them (a profile of 300 VolantinoPiù deliveries: 2,100 statements, 0.13 s in the
database, about 2 s in the ORM). Here the SQL text and the value converters are made on first
use and kept; the values still go through each field's own conversion, so what is written and
read is exactly what the ORM would write and read. Only for the delivery's hot path, and the
one-field uniqueness check every synced record's validation runs (`row_exists`): anything
else keeps the ORM."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    Model,
    TextField,
)
from django.db.models.signals import post_save, pre_save

from core.prepared import prepared_cursor


def row_load[M: Model](model: type[M], pk: Any, *, by: str = "") -> M | None:
    """The instance with primary key `pk` (any field's text form accepted), or None; with `by`,
    the one whose unique field of that name equals `pk`."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    key = model._meta.get_field(by) if by else model._meta.pk
    if not key.unique:
        raise ValueError(f"{model.__name__}.{by} is not unique: it names no single row")
    sql, fields, converters = _select(model, alias, connection.vendor, by)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [key.get_db_prep_value(key.to_python(pk), connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    return _instance(model, alias, fields, converters, row)


def rows_load[M: Model](model: type[M], pks: list[Any]) -> dict[str, M]:
    """The instances whose primary keys are `pks` (text forms accepted), by their key's text:
    one statement for several rows, as `row_load` reads one (a missing row is left out; each
    found one under the text it was asked by)."""
    if not pks:
        return {}
    alias = router.db_for_read(model)
    connection = connections[alias]
    key = model._meta.pk
    sql, fields, converters = _select(model, alias, connection.vendor, "", len(pks))
    keys = [key.to_python(pk) for pk in pks]
    asked = {str(value): str(pk) for value, pk in zip(keys, pks, strict=True)}
    params = [key.get_db_prep_value(value, connection) for value in keys]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        obj = _instance(model, alias, fields, converters, row)
        found[asked[str(obj.pk)]] = obj
    return found


def row_columns(model: type[Model]) -> str:
    """Every column of `model`, in `row_from_db`'s order: for a statement's RETURNING."""
    alias = router.db_for_read(model)
    quote = connections[alias].ops.quote_name
    return ", ".join(quote(f.column) for f in _select(model, alias, connections[alias].vendor)[1])


def row_from_db[M: Model](model: type[M], row: tuple) -> M:
    """The instance for a row of `row_columns(model)`, read by a statement of one's own."""
    alias = router.db_for_read(model)
    _, fields, converters = _select(model, alias, connections[alias].vendor)
    return _instance(model, alias, fields, converters, row)


def _instance(model, alias: str, fields, converters, row: tuple):
    connection = connections[alias]
    values = list(row)
    for index, expression, functions in converters:
        for convert in functions:
            values[index] = convert(values[index], expression, connection)
    return model.from_db(alias, [f.attname for f in fields], values)


def row_update(
    model: type[Model], pk: Any, values: dict[str, Any], *, match: dict[str, Any] | None = None
) -> int:
    """UPDATE the row `pk` with `values` (field names), only while its fields equal `match`
    (a conditional write); returns the number of rows changed (0 or 1)."""
    return update_statement(model, pk, values, match=match).run()


class Statement:
    """A write whose SQL and converted values are ready: `run()` only sends it. Made before a
    transaction opens, it keeps the conversions out of the transaction (on SQLite, out of the
    write lock, which a transaction takes with its first statement)."""

    def __init__(
        self,
        model: type[Model],
        sql: str,
        params: list,
        *,
        many: bool = False,
        fields: dict[str, tuple[int, Any]] | None = None,
        inserting: Model | None = None,
        alias: str = "",
    ) -> None:
        self.alias = alias or router.db_for_write(model)  # given by a caller that knows it
        self.sql = sql
        self.params = params
        self.many = many
        self._fields = fields or {}  # name → (its value's index, the field)
        self._inserting = inserting  # an INSERT … RETURNING its primary key: the instance

    def set(self, name: str, value: Any) -> None:
        """Change the value written to field `name` (one of an UPDATE's `values`, any field of
        an INSERT's instance, which gets the value too)."""
        index, field = self._fields[name]
        self.params[index] = _db_value(field, value, connections[self.alias])
        if self._inserting is not None:
            setattr(self._inserting, field.attname, value)

    def run(self) -> int:
        with prepared_cursor(connections[self.alias]) as cursor:
            if self.many:
                cursor.executemany(self.sql, self.params)
            else:
                cursor.execute(self.sql, self.params)
            if self._inserting is not None:
                obj = self._inserting
                obj.pk = cursor.fetchone()[0]
                obj._state.adding = False
                obj._state.db = self.alias
                return 1
            return cursor.rowcount


def run_together(statements: list[Statement]) -> int:
    """Run statements that share their SQL and database as one `executemany`: one call into
    the driver for all (one round trip on PostgreSQL, where psycopg pipelines it). Answers the
    rows they changed in all. Not for an INSERT … RETURNING (its key is read per row)."""
    first = statements[0]
    if len(statements) == 1:
        return first.run()
    params: list = []
    for statement in statements:
        if (
            statement.sql != first.sql
            or statement.alias != first.alias
            or statement._inserting is not None
        ):
            raise ValueError("run_together: statements of one SQL and database only")
        if statement.many:
            params.extend(statement.params)
        else:
            params.append(statement.params)
    with prepared_cursor(connections[first.alias]) as cursor:
        cursor.executemany(first.sql, params)
        return cursor.rowcount


def update_statement(
    model: type[Model], pk: Any, values: dict[str, Any], *, match: dict[str, Any] | None = None
) -> Statement:
    """`row_update`'s statement, to run later."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    match = match or {}
    sql, fields, match_fields = _update(
        model, alias, connection.vendor, tuple(values), tuple(match)
    )
    pk_field = model._meta.pk
    params = [
        _db_value(field, value, connection)
        for value, field in zip(values.values(), fields, strict=True)
    ]
    params.append(pk_field.get_db_prep_value(pk_field.to_python(pk), connection))
    params.extend(
        field.get_db_prep_value(value, connection)
        for value, field in zip(match.values(), match_fields, strict=True)
    )
    named = {name: (i, field) for i, (name, field) in enumerate(zip(values, fields, strict=True))}
    return Statement(model, sql, params, fields=named, alias=alias)


# Fields whose conversion gives a value back unchanged (Field.get_db_prep_save →
# get_db_prep_value → get_prep_value → to_python: a string or None for these, a bool or None
# for a BooleanField; an aware datetime or None only adapted to the database for a
# DateTimeField): a delivery's writes convert some twenty-five values, mostly strings, flags
# and times, and the four calls each went through were a tenth of what building its statements
# cost. Exact classes only (a subclass, such as a phone number field, may convert otherwise);
# no integer field, whose value the PostgreSQL backend wraps for server-side binding.
_TEXT_FIELDS = frozenset({CharField, TextField})


def _db_value(field: Field, value: Any, connection) -> Any:
    """`field.get_db_prep_save(value, connection)`, without the calls where it changes nothing."""
    kind = type(field)
    if kind in _TEXT_FIELDS and (value is None or isinstance(value, str)):
        return value
    if kind is BooleanField and (value is None or type(value) is bool):
        return value
    if kind is DateTimeField and (
        value is None or (type(value) is datetime and value.utcoffset() is not None)
    ):
        # to_python and the naive-time warning leave these as they are: only the adaptation
        return connection.ops.adapt_datetimefield_value(value)
    return field.get_db_prep_save(value, connection)


def row_exists(model: type[Model], field_name: str, value: Any, *, other_than: Any = None) -> bool:
    """Whether a row of `model` has `value` in field `field_name` (`= value`, as the ORM's
    exact lookup), leaving out the row whose primary key is `other_than` (if not None)."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    field = model._meta.get_field(field_name)
    sql = _exists(model, alias, connection.vendor, field_name, other_than is not None)
    params = [field.get_db_prep_value(value, connection)]
    if other_than is not None:
        pk_field = model._meta.pk
        params.append(pk_field.get_db_prep_value(pk_field.to_python(other_than), connection))
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


@lru_cache(maxsize=64)
def _exists(model: type[Model], alias: str, vendor: str, field_name: str, other: bool) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(model._meta.db_table)
    condition = f"{quote(model._meta.get_field(field_name).column)} = %s"
    if other:
        condition += f" AND {quote(model._meta.pk.column)} <> %s"
    return f"SELECT 1 FROM {table} WHERE {condition} LIMIT 1"  # noqa: S608 (as in _select)


def row_insert(obj: Model) -> None:
    """INSERT a new instance as `Model.save()` would (automatic dates set, every field
    converted alike), and give it the primary key the database chose. No signal is sent: only
    for the outbox's own rows, which nothing listens to (the audit trail tracks the records),
    and for audit entries, whose signals their writer sends (core/audit_creations.py)."""
    insert_statement(obj).run()


def row_create(obj: Model) -> None:
    """`obj.save()` for a new instance: the same row, the same signals with the same
    arguments (the audit trail listens to them), the primary key the database chose — with the
    INSERT's SQL built once per model (`_insert_returning`) instead of by the ORM each time,
    which was a quarter of what creating a shop cost its user. Only where `save()` would do
    nothing more than that (`_plainly_inserted`): any other model or instance is handed to
    `save()` itself, and a key or an expression (the value a receiver of `pre_save` may set
    too) to the ORM's own INSERT."""
    model = type(obj)
    if not (obj._state.adding and obj.pk is None and _plainly_inserted(model)):
        obj.save()
        return
    using = router.db_for_write(model, instance=obj)
    if using != router.db_for_write(model):  # a router that decides by the instance
        obj.save()
        return
    obj._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    # After the signal, as the ORM does: a receiver may still change a value.
    updated = False
    with transaction.mark_for_rollback_on_error(using):  # as save_base: a failed INSERT
        if obj.pk is None and not _has_expression(obj):
            insert_statement(obj).run()  # the key read back, no longer adding, its database set
        else:
            # What save_base does between its signals for a model without parents: the ORM
            # resolves an expression into its SQL, and with a key tries an UPDATE first.
            updated = obj._save_table(raw=False, cls=model, using=using)
            obj._state.db = using
            obj._state.adding = False
    post_save.send(
        sender=model, instance=obj, created=not updated, update_fields=None, raw=False, using=using
    )


def _has_expression(obj: Model) -> bool:
    values = obj.__dict__
    return any(
        hasattr(values.get(field.attname), "resolve_expression") for field in _fields(type(obj))
    )


@lru_cache(maxsize=64)
def _plainly_inserted(model: type[Model]) -> bool:
    """Whether `save()` of a new `model` instance is: the pre_save signal, one INSERT of every
    concrete field but its automatic key (each field's `pre_save` value, as `_insert_params`
    writes), the key read back, the post_save signal. Not for a model that overrides a step
    of saving, inherits from a concrete model, is a proxy, or whose INSERT returns or leaves
    out a field other than its key (a database default, a generated field)."""
    meta = model._meta
    steps = ("save", "save_base", "_save_parents", "_save_table", "_do_insert")
    if any(getattr(model, step) is not getattr(Model, step) for step in steps):
        return False
    if meta.proxy or meta.parents or meta.auto_created or meta.auto_field is not meta.pk:
        return False
    if meta.order_with_respect_to is not None:  # save() numbers `_order` with a query
        return False
    if list(meta.db_returning_fields) != [meta.pk]:
        return False
    if list(meta.local_concrete_fields) != list(meta.concrete_fields):
        return False
    return not any(field.generated or field.has_db_default() for field in meta.concrete_fields)


@lru_cache(maxsize=64)
def _fields(model: type[Model]) -> tuple[Field, ...]:
    return tuple(model._meta.concrete_fields)


def insert_statement(obj: Model) -> Statement:
    """`row_insert`'s statement, to run later; `set` changes a field's value meanwhile."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    sql, fields = _insert_returning(model, alias, connection.vendor)
    params = _insert_params(obj, fields, connection)
    named = {field.attname: (i, field) for i, field in enumerate(fields)}
    return Statement(model, sql, params, fields=named, inserting=obj, alias=alias)


@lru_cache(maxsize=16)
def _insert_returning(model: type[Model], alias: str, vendor: str):
    sql, fields = _insert(model, alias, vendor)
    pk = connections[alias].ops.quote_name(model._meta.pk.column)
    return f"{sql} RETURNING {pk}", fields


def rows_insert(model: type[Model], instances: list[Model]) -> None:
    """INSERT new instances (their primary keys left to the database, not read back)."""
    inserts_statement(model, instances).run()


def inserts_statement(model: type[Model], instances: list[Model]) -> Statement:
    """`rows_insert`'s statement, to run later (the instances' automatic dates set now)."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    sql, fields = _insert(model, alias, connection.vendor)
    params = [_insert_params(obj, fields, connection) for obj in instances]
    return Statement(model, sql, params, many=True, alias=alias)


def new_row_values(model: type[Model], values: dict[str, Any]) -> list[Any]:
    """The INSERT values of a new `model` row (for `values_statement`), as `inserts_statement`
    would give them for `model(**values)` — each field's value from `values`, by its column's
    attribute name, or its default — without making the instance: a provider call's log row
    is written from these, several a delivery. Only for a model whose fields all take their
    value as it is when saved (`_values_as_given`)."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    _, fields = _insert(model, alias, connection.vendor)
    if not _values_as_given(model):
        raise ValueError(f"{model.__name__}: a field sets its own value when saved")
    unknown = values.keys() - {field.attname for field in fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
    return [
        _db_value(
            field,
            values[field.attname] if field.attname in values else field.get_default(),
            connection,
        )
        for field in fields
    ]


def values_statement(model: type[Model], rows: list[list[Any]]) -> Statement:
    """The INSERT of rows made by `new_row_values`, to run later (one `executemany`)."""
    alias = router.db_for_write(model)
    sql, _ = _insert(model, alias, connections[alias].vendor)
    return Statement(model, sql, rows, many=True, alias=alias)


@lru_cache(maxsize=16)
def _values_as_given(model: type[Model]) -> bool:
    """Whether saving leaves every field's value as it was given (`Field.pre_save` reads the
    attribute; a date without auto_now / auto_now_add too)."""
    for field in model._meta.concrete_fields:
        if type(field).pre_save is Field.pre_save:
            continue
        if isinstance(field, DateField) and not (field.auto_now or field.auto_now_add):
            continue
        return False
    return True


def _insert_params(obj: Model, fields, connection) -> list[Any]:
    """A new instance's values as `Model.save()` writes them (automatic dates set first)."""
    return [_db_value(field, field.pre_save(obj, add=True), connection) for field in fields]


@lru_cache(maxsize=16)
def _insert(model: type[Model], alias: str, vendor: str):
    quote = connections[alias].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", fields  # noqa: S608


@lru_cache(maxsize=128)
def _select(model: type[Model], alias: str, vendor: str, key: str = "", count: int = 0):
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields]
    table = quote(model._meta.db_table)
    columns = ", ".join(f"{table}.{quote(f.column)}" for f in fields)
    column = quote(model._meta.get_field(key).column if key else model._meta.pk.column)
    # Names from the model's own declaration, quoted; every value is a parameter.
    match = f"IN ({', '.join(['%s'] * count)})" if count else "= %s"  # `count` keys, or one
    sql = f"SELECT {columns} FROM {table} WHERE {table}.{column} {match}"  # noqa: S608
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if functions:
            converters.append((index, expression, tuple(functions)))
    return sql, fields, tuple(converters)


@lru_cache(maxsize=256)
def _update(
    model: type[Model], alias: str, vendor: str, names: tuple[str, ...], match: tuple[str, ...]
):
    quote = connections[alias].ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    match_fields = [model._meta.get_field(name) for name in match]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    condition = " AND ".join(
        [f"{quote(model._meta.pk.column)} = %s"] + [f"{quote(f.column)} = %s" for f in match_fields]
    )
    table = quote(model._meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {condition}"  # noqa: S608 (as in _select)
    return sql, fields, match_fields
