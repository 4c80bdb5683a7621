"""Drop the single-column indexes of Resource's two foreign keys: composite indexes start
with both, and each index costs every row a sync writes.

Only the indexes are dropped (the names Django gave them, the same on SQLite and
PostgreSQL): an AlterField would rebuild the table on SQLite and lose the search triggers
of 0006.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "inventory_resource_account_id_ab11fad8": "account_id",
    "inventory_resource_organization_id_57555a09": "organization_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_token"),
        ("inventory", "0008_resource_live_sort_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    f"CREATE INDEX {name} ON inventory_resource ({column})",
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="resource",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="resources",
                        to="inventory.cloudaccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="resource",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
        )
    ]
