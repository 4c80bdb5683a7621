"""Substring search on resource names and ids that does not read every row: a trigram FTS5
index kept by triggers on SQLite, pg_trgm GIN indexes on PostgreSQL. Also fills the tallies
of inventories synced before they existed."""

from django.db import migrations

SQLITE = [
    """CREATE VIRTUAL TABLE inventory_resource_search USING fts5(
        name, resource_id, content='inventory_resource', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER inventory_resource_search_ai AFTER INSERT ON inventory_resource BEGIN
        INSERT INTO inventory_resource_search(rowid, name, resource_id)
        VALUES (new.id, new.name, new.resource_id); END""",
    """CREATE TRIGGER inventory_resource_search_ad AFTER DELETE ON inventory_resource BEGIN
        INSERT INTO inventory_resource_search(inventory_resource_search, rowid, name, resource_id)
        VALUES ('delete', old.id, old.name, old.resource_id); END""",
    """CREATE TRIGGER inventory_resource_search_au AFTER UPDATE OF name, resource_id
        ON inventory_resource BEGIN
        INSERT INTO inventory_resource_search(inventory_resource_search, rowid, name, resource_id)
        VALUES ('delete', old.id, old.name, old.resource_id);
        INSERT INTO inventory_resource_search(rowid, name, resource_id)
        VALUES (new.id, new.name, new.resource_id); END""",
    "INSERT INTO inventory_resource_search(inventory_resource_search) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS inventory_resource_search_au",
    "DROP TRIGGER IF EXISTS inventory_resource_search_ad",
    "DROP TRIGGER IF EXISTS inventory_resource_search_ai",
    "DROP TABLE IF EXISTS inventory_resource_search",
]
# Django's icontains is UPPER(column::text) LIKE UPPER(%s): index that very expression.
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS inventory_resource_name_trgm ON inventory_resource "
    "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS inventory_resource_rid_trgm ON inventory_resource "
    "USING gin ((UPPER(resource_id::text)) gin_trgm_ops)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS inventory_resource_rid_trgm",
    "DROP INDEX IF EXISTS inventory_resource_name_trgm",
]


def _run(statements: dict[str, list[str]]):  # noqa: ANN202 - a RunPython function
    def run(apps, schema_editor) -> None:  # noqa: ANN001
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


def fill_tallies(apps, schema_editor) -> None:  # noqa: ANN001
    from django.db.models import Count, Q

    Resource = apps.get_model("inventory", "Resource")
    ResourceTally = apps.get_model("inventory", "ResourceTally")
    groups = (
        Resource.objects.values("organization_id", "account_id", "scope", "provider", "region",
                                "type", "status")
        .annotate(live=Count("id", filter=Q(deleted_at__isnull=True)),
                  gone=Count("id", filter=Q(deleted_at__isnull=False)))
        .order_by()
    )  # fmt: skip
    rows = []
    for g in groups:
        keys = {k: g[k] for k in ("organization_id", "account_id", "scope", "provider",
                                  "region", "type", "status")}  # fmt: skip
        rows += [ResourceTally(**keys, live=True, count=g["live"])] if g["live"] else []
        rows += [ResourceTally(**keys, live=False, count=g["gone"])] if g["gone"] else []
    ResourceTally.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_resource_tally")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
        migrations.RunPython(fill_tallies, migrations.RunPython.noop),
    ]
