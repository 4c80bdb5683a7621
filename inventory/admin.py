from django.contrib import admin

from inventory.models import AwsExternalId, CloudAccount, ProviderHealth


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
