"""Keeping PostgreSQL's planner statistics up with our bulk writes.

PostgreSQL plans each query from its tables' statistics, which autovacuum refreshes (ANALYZE)
once more than 50 rows + 10 % of a table have changed, and only at its next round, up to a
minute later (`autovacuum_naptime`). A sync writes hundreds or thousands of resources at once
and is followed at once by queries over them (the waste findings, drift, the cost figures of
the next import). With the statistics of before the write (none at all for a table never
analyzed: "1 row"), the planner picks nested loops that suit a handful of rows and cost
quadratic time on hundreds: the waste findings' "unattached disks" anti-join over the
sandbox's 914 resources took 98 s instead of 3 ms (see bench/sandbox_load.py).

So a bulk writer calls `statistics_refresh` with what it wrote, and the tables that grew past
autovacuum's own threshold are analyzed at once (a sample of at most 30,000 rows each: tens
of milliseconds on small tables, a fraction of a second on large ones). A table the database
user does not own is skipped by PostgreSQL with a warning, never an error. SQLite's planner
has no such cliff here: nothing is done there.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Model

# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor, PostgreSQL's defaults.
BASE_ROWS = 50
SCALE = 0.1


def stale_after(written: int, known_rows: float) -> bool:
    """Whether `written` changed rows make statistics that counted `known_rows` stale, by
    autovacuum's rule (a table never analyzed, `known_rows` < 0, is stale from the first)."""
    if known_rows < 0:
        return written > 0
    return written > BASE_ROWS + SCALE * known_rows


def statistics_refresh(models: Iterable[type[Model]], *, written: int) -> list[str]:
    """Analyze now the tables of `models` that `written` changed rows (in each) made stale;
    returns their names. One query when none is stale, none on SQLite."""
    if connection.vendor != "postgresql" or written <= 0:
        return []
    tables = sorted({model._meta.db_table for model in models})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, c.reltuples FROM unnest(%s::text[]) AS name "
            "JOIN pg_class c ON c.oid = to_regclass(name)",
            [tables],
        )
        stale = [name for name, rows in cursor.fetchall() if stale_after(written, rows)]
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale
