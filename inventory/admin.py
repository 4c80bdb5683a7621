from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from inventory.models import (
    ActionRun,
    ActionSettings,
    AwsExternalId,
    BulkAction,
    CloudAccount,
    PowerSchedule,
    Price,
    ProviderHealth,
    RateBucket,
    Resource,
    ResourceActionLease,
    ResourceEvent,
    ResourceLink,
    ResourceTally,
    SavedView,
    ScheduleOccurrence,
    ScheduleTarget,
    SyncRun,
)


@admin.register(CloudAccount)
class CloudAccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "provider",
        "enabled",
        "paused_at",
        "consecutive_failures",
        "created_at",
    ]
    list_filter = ["provider", "enabled", "paused_at"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]
    # `secrets` is not editable and never shown: only which ones are set.
    readonly_fields = ["secrets_set", "latest_health", "created_at", "updated_at"]
    raw_id_fields = ["organization", "created_by"]

    @admin.display(description="secrets set")
    def secrets_set(self, obj: CloudAccount) -> str:
        return ", ".join(sorted(k for k, v in obj.secrets.items() if v)) or "none"


@admin.register(ProviderHealth)
class ProviderHealthAdmin(admin.ModelAdmin):
    list_display = [
        "checked_at",
        "account",
        "organization",
        "status",
        "response_ms",
        "trigger",
        "message",
    ]
    list_filter = ["status", "trigger", "checked_at"]
    search_fields = ["account__name", "organization__name", "message"]
    list_select_related = ["account", "organization"]
    date_hierarchy = "checked_at"


@admin.register(AwsExternalId)
class AwsExternalIdAdmin(admin.ModelAdmin):
    list_display = ["organization", "value", "created_at"]
    search_fields = ["organization__name", "value"]
    list_select_related = ["organization"]


@admin.register(ActionRun)
class ActionRunAdmin(admin.ModelAdmin):
    list_display = ["queued_at", "resource", "action", "status", "requested_by", "organization"]
    list_filter = ["status", "action", "queued_at"]
    search_fields = ["resource__name", "resource__resource_id", "organization__name", "error"]
    list_select_related = ["resource", "requested_by", "organization"]
    raw_id_fields = ["resource", "organization", "requested_by", "bulk", "approved_by"]
    date_hierarchy = "queued_at"


@admin.register(BulkAction)
class BulkActionAdmin(admin.ModelAdmin):
    list_display = ["queued_at", "action", "total", "status", "source", "requested_by",
                    "organization"]  # fmt: skip
    list_filter = ["status", "action", "source", "queued_at"]
    search_fields = ["organization__name", "selection"]
    list_select_related = ["requested_by", "organization"]
    raw_id_fields = ["organization", "requested_by", "cancelled_by"]
    date_hierarchy = "queued_at"


@admin.register(RateBucket)
class RateBucketAdmin(admin.ModelAdmin):
    """Read-only: the rate limiter keeps them (inventory.rate_limit)."""

    list_display = ["key", "tokens", "updated"]
    readonly_fields = ["key", "tokens", "updated"]


@admin.register(ActionSettings)
class ActionSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "require_second_approver", "updated_by", "updated_at"]
    list_select_related = ["organization", "updated_by"]
    raw_id_fields = ["organization", "updated_by"]


@admin.register(ResourceActionLease)
class ResourceActionLeaseAdmin(admin.ModelAdmin):
    """Read-only: the action workers hold and release it (mcloud.leases)."""

    list_display = ["resource", "lease_until"]
    list_select_related = ["resource"]
    readonly_fields = ["resource", "lease_token", "lease_until"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "queued_at",
        "account",
        "organization",
        "status",
        "trigger",
        "created",
        "updated",
        "removed",
        "scopes_done",
        "scopes_total",
    ]
    list_filter = ["status", "trigger", "queued_at"]
    search_fields = ["account__name", "organization__name", "error"]
    list_select_related = ["account", "organization"]
    raw_id_fields = ["account", "organization", "requested_by"]
    date_hierarchy = "queued_at"


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "type",
        "provider",
        "region",
        "status",
        "account",
        "organization",
        "last_seen",
        "deleted_at",
    ]
    list_filter = ["provider", "type", "status", "deleted_at"]
    search_fields = ["name", "resource_id", "account__name", "organization__name"]
    list_select_related = ["account", "organization"]
    raw_id_fields = ["account", "organization"]
    show_full_result_count = False  # counting 100,000 rows on every page is wasted work


@admin.register(ResourceEvent)
class ResourceEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "resource", "kind", "old_status", "new_status", "account"]
    list_filter = ["kind", "occurred_at"]
    search_fields = ["resource__name", "resource__resource_id"]
    list_select_related = ["resource", "account"]
    raw_id_fields = ["resource", "account", "organization", "sync_run"]
    show_full_result_count = False


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    """Written by syncs with their resource: read here."""

    list_display = ["resource", "target_id"]
    search_fields = ["resource__name", "resource__resource_id", "target_key"]
    list_select_related = ["resource"]
    readonly_fields = ["organization", "resource", "target_id", "target_key"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "owner", "shared", "created_at"]
    list_filter = ["shared"]
    search_fields = ["name", "organization__name", "owner__email"]
    list_select_related = ["organization", "owner"]


@admin.register(ResourceTally)
class ResourceTallyAdmin(admin.ModelAdmin):
    list_display = ["account", "scope", "region", "type", "status", "live", "count"]
    list_filter = ["provider", "type", "live"]
    search_fields = ["account__name", "scope", "region"]
    list_select_related = ["account"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """The price catalog: loaded from the snapshot (`manage.py load_prices`), refreshed from
    the providers' price lists (`manage.py refresh_prices`); edits here are overwritten then."""

    list_display = ["provider", "kind", "size", "region", "unit", "usd", "source", "effective"]
    list_filter = ["provider", "kind", "unit", "source"]
    search_fields = ["size", "region"]


@admin.register(PowerSchedule)
class PowerScheduleAdmin(admin.ModelAdmin):
    """Staff may rename, enable or disable a schedule (audited); its times and selector are
    changed on its page, where they are checked and previewed."""

    list_display = ["name", "organization", "time_zone", "enabled", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "organization__name", "tag_filter"]
    list_select_related = ["organization"]
    readonly_fields = ["organization", "time_zone", "week", "saved_view", "tag_filter",
                       "active_since", "created_by", "created_at", "updated_at"]  # fmt: skip

    def save_model(self, request: Any, obj: PowerSchedule, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data.get(name) for name in form.changed_data}
        if "enabled" in changed:
            obj.active_since = timezone.now()
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        audit_record(
            organization=obj.organization, action="power_schedule.updated", target=obj,
            actor_label=f"admin {request.user.get_username()}", data={"changed": changed},
        )  # fmt: skip

    def delete_model(self, request: Any, obj: PowerSchedule) -> None:
        audit_record(
            organization=obj.organization, action="power_schedule.deleted", target=obj,
            actor_label=f"admin {request.user.get_username()}", data={"name": obj.name},
        )  # fmt: skip
        super().delete_model(request, obj)


@admin.register(ScheduleOccurrence)
class ScheduleOccurrenceAdmin(admin.ModelAdmin):
    """Read-only: the scheduler claims and finishes them."""

    list_display = ["due_at", "schedule", "kind", "status", "finished_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["schedule"]
    readonly_fields = ["organization", "schedule", "kind", "due_at", "status", "claimed_at",
                       "finished_at", "lease_until"]  # fmt: skip


@admin.register(ScheduleTarget)
class ScheduleTargetAdmin(admin.ModelAdmin):
    list_display = ["occurrence", "resource", "action_run", "outcome"]
    list_select_related = ["occurrence", "resource", "action_run"]
    raw_id_fields = ["occurrence", "resource", "action_run"]
