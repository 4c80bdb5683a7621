from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.audit import register_audit_target
        from billing import extensions
        from billing.models import Anomaly, BillingSettings, Budget
        from billing.schedules import ensure_schedules
        from billing.services.imports import IMPORT_RUNS
        from mcloud.leases import register_run_kind

        extensions.register()
        register_run_kind(IMPORT_RUNS)
        register_audit_target(Budget, "billing:budget_edit")
        register_audit_target(Anomaly, "billing:anomaly_list", with_pk=False)
        register_audit_target(BillingSettings, "billing:settings", with_pk=False)
        post_migrate.connect(ensure_schedules, sender=self)
