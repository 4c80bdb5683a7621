"""Budget webhook secrets in the Standard Webhooks format (whsec_ + base64 of the key).

The key bytes stay what they were (the old secret's characters), so a receiver that kept the
old secret can derive the new one: whsec_ + base64(old secret).
"""

import base64

from django.db import migrations


def to_whsec(apps, schema_editor):
    BillingSettings = apps.get_model("billing", "BillingSettings")
    for row in BillingSettings.objects.all():
        secret = (row.webhook or {}).get("secret", "")
        if secret and not secret.startswith("whsec_"):
            row.webhook = {"secret": "whsec_" + base64.b64encode(secret.encode()).decode()}
            row.save(update_fields=["webhook"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_cost_import_lease")]

    operations = [migrations.RunPython(to_whsec, migrations.RunPython.noop)]
