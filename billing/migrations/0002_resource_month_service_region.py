"""CostResourceMonth gains service and region; its rows are rebuilt from CostData, which
holds both, so the top resources of a filtered page are right from the first load."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import Sum
from django.db.models.functions import TruncMonth


def rebuild(apps: Any, schema_editor: Any) -> None:
    cost_data = apps.get_model("billing", "CostData")
    resource_month = apps.get_model("billing", "CostResourceMonth")
    resource_month.objects.all().delete()
    for account_id in cost_data.objects.values_list("account_id", flat=True).distinct():
        monthly = (
            cost_data.objects.filter(account_id=account_id)
            .exclude(resource_id="")
            .annotate(month=TruncMonth("date"))
            .values(
                "organization_id", "provider", "month", "resource_id", "service", "region",
                "currency",
            )
            .annotate(total=Sum("amount"))
            .order_by()
        )  # fmt: skip
        resource_month.objects.bulk_create(
            (
                resource_month(
                    account_id=account_id,
                    amount=row.pop("total"),
                    **row,
                )
                for row in monthly.iterator(chunk_size=2000)
            ),
            batch_size=2000,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="costresourcemonth",
            name="service",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="costresourcemonth",
            name="region",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
