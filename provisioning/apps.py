from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from accounts.activity import register_activity_source
        from accounts.audit import register_audit_target
        from accounts.search import register_search_kind
        from inventory.extensions import (
            register_resource_panel,
            register_sandbox_step,
            register_sync_completion,
            register_tile,
        )
        from inventory.managed import register_managed_source
        from mcloud.leases import register_run_kind
        from provisioning.activity import run_activity
        from provisioning.models import Blueprint, Deployment
        from provisioning.panels import RESOURCE_PANEL
        from provisioning.sandbox_hello import sandbox_hello
        from provisioning.schedules import ensure_schedules
        from provisioning.search import BLUEPRINTS, DEPLOYMENTS
        from provisioning.services.blueprints import blueprint_sync_bundled
        from provisioning.services.drift import drift_after_sync
        from provisioning.services.managed import MANAGED_SOURCE
        from provisioning.services.runs import DEPLOYMENT_RUNS
        from provisioning.tiles import DRIFT_TILE

        register_run_kind(DEPLOYMENT_RUNS)
        register_activity_source(run_activity)
        register_managed_source(MANAGED_SOURCE)
        register_resource_panel(RESOURCE_PANEL)
        register_sandbox_step("provisioning", sandbox_hello)
        register_sync_completion("drift", drift_after_sync)
        register_tile(DRIFT_TILE)
        register_audit_target(Deployment, "provisioning:deployment_detail")
        register_audit_target(Blueprint, "provisioning:blueprint_detail")
        register_search_kind(DEPLOYMENTS)
        register_search_kind(BLUEPRINTS)
        # Once per migrate (and per flush in tests), for this app only.
        post_migrate.connect(blueprint_sync_bundled, sender=self)
        post_migrate.connect(ensure_schedules, sender=self)
