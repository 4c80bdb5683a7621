from django.db import migrations, models

MEMBER_HELP = (
    "Held on a connection for a member account of its organization that is not discovered "
    "(yet) or is excluded: the provider's id of that account. Empty otherwise."
)


def member_field() -> models.CharField:
    return models.CharField(blank=True, help_text=MEMBER_HELP, max_length=64)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0014_cost_read_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="costdata", name="costdata_unique_row"),
        migrations.RemoveConstraint(model_name="costtagdaily", name="costtagdaily_unique_row"),
        migrations.AddField(model_name="costdata", name="member_id", field=member_field()),
        migrations.AddField(model_name="costdaily", name="member_id", field=member_field()),
        migrations.AddField(model_name="costtagdaily", name="member_id", field=member_field()),
        migrations.AddConstraint(
            model_name="costdata",
            constraint=models.UniqueConstraint(
                fields=(
                    "account",
                    "member_id",
                    "date",
                    "service",
                    "region",
                    "resource_id",
                    "currency",
                ),
                name="costdata_unique_member_row",
            ),
        ),
        migrations.AddConstraint(
            model_name="costtagdaily",
            constraint=models.UniqueConstraint(
                fields=("account", "member_id", "date", "key", "value", "currency"),
                name="costtagdaily_unique_member_row",
            ),
        ),
    ]
