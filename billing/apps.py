from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import extensions
        from billing.schedules import ensure_schedules

        extensions.register()
        post_migrate.connect(ensure_schedules, sender=self)
