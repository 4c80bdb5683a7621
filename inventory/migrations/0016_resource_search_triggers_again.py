"""SQLite: put back the search index's triggers. Altering a column of inventory_resource
(0014, the type's length) makes Django's SQLite schema editor rebuild the table, which drops
its triggers: from then on no new or renamed resource was indexed, and a text search found
nothing. The triggers are created as 0006 and 0010 left them, and the index rebuilt.

A later AlterField on Resource drops them again:
tests/inventory/test_resource_search_index.py fails when they are missing."""

from django.db import migrations

TRIGGERS = [
    "DROP TRIGGER IF EXISTS inventory_resource_search_ai",
    "DROP TRIGGER IF EXISTS inventory_resource_search_ad",
    "DROP TRIGGER IF EXISTS inventory_resource_search_au",
    """CREATE TRIGGER inventory_resource_search_ai AFTER INSERT ON inventory_resource BEGIN
        INSERT INTO inventory_resource_search(rowid, name, resource_id)
        VALUES (new.id, new.name, new.resource_id); END""",
    """CREATE TRIGGER inventory_resource_search_ad AFTER DELETE ON inventory_resource BEGIN
        INSERT INTO inventory_resource_search(inventory_resource_search, rowid, name, resource_id)
        VALUES ('delete', old.id, old.name, old.resource_id); END""",
    """CREATE TRIGGER inventory_resource_search_au AFTER UPDATE OF name, resource_id
        ON inventory_resource
        WHEN old.name IS NOT new.name OR old.resource_id IS NOT new.resource_id BEGIN
        INSERT INTO inventory_resource_search(inventory_resource_search, rowid, name, resource_id)
        VALUES ('delete', old.id, old.name, old.resource_id);
        INSERT INTO inventory_resource_search(rowid, name, resource_id)
        VALUES (new.id, new.name, new.resource_id); END""",
    "INSERT INTO inventory_resource_search(inventory_resource_search) VALUES ('rebuild')",
]


def restore(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "sqlite":
        for sql in TRIGGERS:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0015_member_accounts")]

    operations = [migrations.RunPython(restore, migrations.RunPython.noop)]
