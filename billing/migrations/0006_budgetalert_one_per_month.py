from django.db import migrations, models


class Migration(migrations.Migration):
    """Its own migration: PostgreSQL alters the table after the data migration committed."""

    dependencies = [
        ("billing", "0005_budgetalert_keep_the_highest"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="budgetalert",
            name="budgetalert_once",
        ),
        migrations.AddConstraint(
            model_name="budgetalert",
            constraint=models.UniqueConstraint(
                fields=("budget", "month"), name="budgetalert_one_per_month"
            ),
        ),
    ]
