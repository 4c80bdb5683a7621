from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import extensions
        from billing.schedules import ensure_schedules
        from billing.services.imports import IMPORT_RUNS
        from mcloud.leases import register_run_kind

        extensions.register()
        register_run_kind(IMPORT_RUNS)
        post_migrate.connect(ensure_schedules, sender=self)
