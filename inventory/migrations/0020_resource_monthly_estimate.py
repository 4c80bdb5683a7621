from django.db import migrations, models


def load_snapshot(apps, schema_editor):
    """The snapshot built from the providers' public price lists replaces the first one's
    figures in databases that loaded it (inventory/data/prices.json)."""
    from inventory.services.prices import prices_load

    prices_load(model=apps.get_model("inventory", "Price"))


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0019_price_catalog'),
    ]

    operations = [
        migrations.AddField(
            model_name='resource',
            name='monthly_estimate',
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=14, null=True, verbose_name='monthly estimate (USD)'),
        ),
        migrations.RunPython(load_snapshot, migrations.RunPython.noop),
    ]
