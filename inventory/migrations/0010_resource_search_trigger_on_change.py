"""SQLite: re-index a resource's name and id for search only when one of them changed. A
sync's upsert sets both on every row it writes, which fired the trigger for each."""

from django.db import migrations

TRIGGER = """CREATE TRIGGER inventory_resource_search_au AFTER UPDATE OF name, resource_id
    ON inventory_resource {when}BEGIN
    INSERT INTO inventory_resource_search(inventory_resource_search, rowid, name, resource_id)
    VALUES ('delete', old.id, old.name, old.resource_id);
    INSERT INTO inventory_resource_search(rowid, name, resource_id)
    VALUES (new.id, new.name, new.resource_id); END"""
CHANGED = "WHEN old.name IS NOT new.name OR old.resource_id IS NOT new.resource_id "


def _replace(when: str):  # noqa: ANN202 - a RunPython function
    def run(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute("DROP TRIGGER IF EXISTS inventory_resource_search_au")
            schema_editor.execute(TRIGGER.format(when=when))

    return run


class Migration(migrations.Migration):
    dependencies = [("inventory", "0009_resource_drop_single_key_indexes")]

    operations = [migrations.RunPython(_replace(CHANGED), _replace(""))]
