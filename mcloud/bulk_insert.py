"""Inserting many plain rows fast: a COPY on PostgreSQL, many rows per INSERT on SQLite.

The ORM's `bulk_create` builds a model instance per row and compiles its statement value by
value in Python: about 0.1 ms a row, most of a cost import's time once imports kept a row per
resource and day (tens of thousands for the sandbox). Here each value goes through its
field's `get_db_prep_save` as the ORM's would (dates, decimals and JSON stored exactly as
`bulk_create` stores them) and the rows go to the database in bulk. For rows that need no
signal, no primary key back and no conflict handling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from django.db import connection
from django.db.models import Field, Model

BATCH = 1000  # rows per INSERT on SQLite, within its limit of bound parameters
# Fields whose values the drivers take as they are: no per-value preparation.
PLAIN = frozenset({
    "AutoField", "BigAutoField", "BigIntegerField", "CharField", "ForeignKey", "IntegerField",
    "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
})  # fmt: skip


def _concrete(model: type[Model], name: str) -> tuple[Field[Any, Any], str]:
    """The field `name` of `model` and its column."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field, field.column


def _prepared(field: Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def rows_insert(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (values in the order of `fields`, model field names; a foreign key takes
    the related primary key) into `model`'s table; returns how many."""
    columns = [_concrete(model, name) for name in fields]
    prepare: list[Callable[[Any], Any] | None] = [
        None if field.get_internal_type() in PLAIN else partial(_prepared, field)
        for field, _ in columns
    ]
    prepared = [
        tuple(
            value if step is None else step(value) for step, value in zip(prepare, row, strict=True)
        )
        for row in rows
    ]
    if not prepared:
        return 0
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    names = ", ".join(q(column) for _, column in columns)
    with connection.cursor() as cursor:
        # The driver's cursor: Django's debug wrapper would log every value of these statements.
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
            return len(prepared)
        limit = connection.features.max_query_params
        size = BATCH if limit is None else min(BATCH, limit // len(columns))
        marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(prepared), size):
            chunk = prepared[start : start + size]
            cursor.cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES " + ", ".join([marks] * len(chunk)),  # noqa: S608 - names only
                [value for row in chunk for value in row],
            )
    return len(prepared)


def instances_insert(model: type[Model], fields: Sequence[str], objs: Iterable[Model]) -> int:
    """`rows_insert` of unsaved `objs` of `model`: the values of their `fields`."""
    names = [_concrete(model, name)[0].attname for name in fields]
    return rows_insert(model, fields, ([getattr(o, n) for n in names] for o in objs))
