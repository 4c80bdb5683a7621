from django.db import migrations


def keep_the_highest(apps, schema_editor):
    """One alert per budget and month: the one at the highest threshold stays."""
    BudgetAlert = apps.get_model("billing", "BudgetAlert")
    seen = set()
    for alert in BudgetAlert.objects.order_by("budget_id", "month", "-threshold", "-id"):
        key = (alert.budget_id, alert.month)
        if key in seen:
            alert.delete()
        else:
            seen.add(key)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_webhook_secret_whsec"),
    ]

    operations = [
        migrations.RunPython(keep_the_highest, migrations.RunPython.noop),
    ]
