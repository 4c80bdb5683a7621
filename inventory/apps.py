from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory and cloud accounts"

    def ready(self) -> None:
        from accounts.activity import register_activity_source
        from accounts.audit import register_audit_target
        from accounts.search import register_search_kind
        from inventory.activity import sync_activity
        from inventory.models import CloudAccount, Resource
        from inventory.providers import register_default_providers
        from inventory.schedules import ensure_schedules
        from inventory.search import CLOUD_ACCOUNTS, RESOURCES
        from inventory.services.actions import ACTION_RUNS
        from inventory.services.sync import SYNC_RUNS
        from inventory.tiles import register_default_tiles
        from mcloud.leases import register_run_kind

        register_default_providers()
        register_default_tiles()
        register_run_kind(SYNC_RUNS)
        register_activity_source(sync_activity)
        register_run_kind(ACTION_RUNS)
        register_audit_target(CloudAccount, "inventory:account_detail")
        register_audit_target(Resource, "inventory:resource_detail")
        register_search_kind(RESOURCES)
        register_search_kind(CLOUD_ACCOUNTS)

        # After django_q's tables exist; once per migrate, for this app only.
        post_migrate.connect(ensure_schedules, sender=self)
