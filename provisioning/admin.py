"""The admin shows provisioning for support, never a secret: no plan file, no state, no
sensitive variable value (EncryptedJSONField and EncryptedBytesField are not editable, so no form
shows them, and they are in no list or read-only field here)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from provisioning.models import (
    Blueprint,
    BlueprintVersion,
    Deployment,
    DeploymentDrift,
    DeploymentResource,
    DeploymentRun,
    DeploymentState,
    Policy,
    PolicyResult,
    PolicySet,
    ProvisioningSettings,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: the admin reads them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Blueprint)
class BlueprintAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "latest_version", "updated_at"]
    list_filter = [("organization", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug", "organization__name"]
    list_select_related = ["organization", "latest_version"]
    raw_id_fields = ["organization", "latest_version", "created_by"]


@admin.register(BlueprintVersion)
class BlueprintVersionAdmin(ReadOnlyAdmin):
    list_display = ["blueprint", "number", "cloud", "checksum", "created_at"]
    list_filter = ["cloud", "created_at"]
    search_fields = ["blueprint__name", "blueprint__slug", "checksum"]
    list_select_related = ["blueprint"]


@admin.register(ProvisioningSettings)
class ProvisioningSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "require_second_approver", "updated_at"]
    list_filter = ["require_second_approver"]
    search_fields = ["organization__name"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization", "updated_by"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "status", "blueprint_version", "account", "updated_at"]
    list_filter = ["status", "blueprint_version__blueprint"]
    search_fields = ["name", "organization__name", "blueprint_version__blueprint__name"]
    list_select_related = ["organization", "blueprint_version__blueprint", "account"]
    raw_id_fields = ["organization", "blueprint_version", "account", "last_run", "created_by"]
    readonly_fields = [
        "sensitive_set",
        "outputs",
        "state_lock_id",
        "state_locked_at",
        "lease_until",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="sensitive variables set")
    def sensitive_set(self, obj: Deployment) -> str:
        return ", ".join(sorted(k for k, v in obj.sensitive_variables.items() if v)) or "none"


@admin.register(DeploymentRun)
class DeploymentRunAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "deployment",
        "organization",
        "kind",
        "status",
        "started_by",
        "approved_by",
        "queued_at",
        "finished_at",
        "exit_code",
    ]
    list_filter = ["kind", "status", "queued_at"]
    search_fields = ["deployment__name", "organization__name", "error", "started_by__email"]
    list_select_related = ["deployment", "organization", "started_by", "approved_by"]
    date_hierarchy = "queued_at"
    # The log is masked by Terraform and by the worker; the plan file and its JSON (variable
    # values) are never shown.
    exclude = ["plan_file", "plan_json"]
    readonly_fields = ["has_plan_file"]

    @admin.display(boolean=True, description="plan file kept")
    def has_plan_file(self, obj: DeploymentRun) -> bool:
        return obj.plan_file is not None


@admin.register(DeploymentState)
class DeploymentStateAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "organization", "version", "serial", "size", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["deployment__name", "organization__name", "lineage"]
    list_select_related = ["deployment", "organization"]
    exclude = ["state"]


@admin.register(DeploymentResource)
class DeploymentResourceAdmin(ReadOnlyAdmin):
    list_display = ["provider_id", "address", "deployment", "organization"]
    search_fields = ["key", "address", "deployment__name"]
    list_select_related = ["deployment", "organization"]


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    """Read-only: a policy is saved through the service, which compiles it first."""

    list_display = ["name", "organization", "enforcement", "enabled", "example", "updated_at"]
    list_filter = ["enforcement", "enabled"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(PolicySet)
class PolicySetAdmin(ReadOnlyAdmin):
    """Read-only: sets are saved through the service, which checks their scope."""

    list_display = ["name", "organization", "scope", "enabled", "updated_at"]
    list_filter = ["scope", "enabled"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(PolicyResult)
class PolicyResultAdmin(ReadOnlyAdmin):
    list_display = ["policy_name", "run", "organization", "enforcement", "status", "created_at"]
    list_filter = ["status", "enforcement", "created_at"]
    search_fields = ["policy_name", "organization__name"]
    list_select_related = ["run__deployment", "organization"]


@admin.register(DeploymentDrift)
class DeploymentDriftAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "organization", "drifted_since", "inventory_checked_at",
                    "terraform_checked_at"]  # fmt: skip
    list_filter = ["drifted_since"]
    search_fields = ["deployment__name", "organization__name"]
    list_select_related = ["deployment", "organization"]
