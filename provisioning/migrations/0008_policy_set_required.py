import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from 0007: PostgreSQL refuses to alter a table with pending deferred checks from
    the same transaction's updates."""

    dependencies = [
        ('provisioning', '0007_policy_sets'),
    ]

    operations = [
        migrations.AlterField(
            model_name='policy',
            name='policy_set',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='provisioning.policyset'),
        ),
    ]
