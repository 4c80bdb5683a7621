from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0008_policy_set_required'),
    ]

    operations = [
        migrations.AddField(
            model_name='deploymentrun',
            name='cost_estimate',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
