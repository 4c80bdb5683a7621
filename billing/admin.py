from django.contrib import admin

from billing.models import (
    Anomaly,
    BillingSettings,
    Budget,
    BudgetAlert,
    CostDaily,
    CostData,
    CostImportLease,
    CostResourceDaily,
    CostResourceMonth,
    CostTagDaily,
    Finding,
    ImportRun,
)


@admin.register(CostData)
class CostDataAdmin(admin.ModelAdmin):
    list_display = ["date", "account", "member_id", "service", "region", "resource_id", "amount",
                    "currency"]  # fmt: skip
    list_filter = ["provider", "currency", "date"]
    search_fields = ["service", "resource_id", "account__name", "organization__name", "member_id"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]
    show_full_result_count = False


@admin.register(CostDaily)
class CostDailyAdmin(admin.ModelAdmin):
    list_display = ["date", "account", "member_id", "service", "region", "amount", "currency"]
    list_filter = ["provider", "currency"]
    search_fields = ["service", "account__name", "member_id"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]
    show_full_result_count = False


@admin.register(CostResourceMonth)
class CostResourceMonthAdmin(admin.ModelAdmin):
    list_display = ["month", "account", "resource_id", "amount", "currency"]
    list_filter = ["provider", "month"]
    search_fields = ["resource_id", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]


@admin.register(CostResourceDaily)
class CostResourceDailyAdmin(admin.ModelAdmin):
    list_display = ["date", "account", "resource_id", "amount", "currency"]
    list_filter = ["provider", "currency"]
    search_fields = ["resource_id", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]
    show_full_result_count = False


@admin.register(CostTagDaily)
class CostTagDailyAdmin(admin.ModelAdmin):
    list_display = ["date", "account", "member_id", "key", "value", "amount", "currency"]
    list_filter = ["provider", "key", "currency"]
    search_fields = ["key", "value", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]
    show_full_result_count = False


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["resource", "rule", "saving", "currency", "basis", "dismissed_at", "account"]
    list_filter = ["rule", "basis"]
    search_fields = ["resource__name", "resource__resource_id", "account__name"]
    list_select_related = ["resource", "account"]
    raw_id_fields = ["organization", "account", "resource", "dismissed_by"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "account", "status", "start", "end", "rows", "error"]
    list_filter = ["status"]
    search_fields = ["account__name", "error"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "organization"]


@admin.register(CostImportLease)
class CostImportLeaseAdmin(admin.ModelAdmin):
    """Read-only: the import workers hold and release it (mcloud.leases)."""

    list_display = ["account", "lease_until"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    readonly_fields = ["account", "lease_token", "lease_until"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "account", "amount", "currency", "basis"]
    list_filter = ["basis", "currency"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization", "account"]
    raw_id_fields = ["organization", "account", "created_by"]


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "budget", "month", "threshold", "spent", "acknowledged_at"]
    list_filter = ["threshold", "month"]
    search_fields = ["budget__name", "organization__name"]
    list_select_related = ["budget"]
    raw_id_fields = ["organization", "budget", "acknowledged_by"]


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    list_display = ["day", "account", "service", "actual", "expected_high", "currency", "state"]
    list_filter = ["state", "provider"]
    search_fields = ["service", "account__name", "organization__name"]
    list_select_related = ["account"]
    raw_id_fields = ["organization", "account", "acknowledged_by"]


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "currency"]
    search_fields = ["organization__name"]
    # The webhook secret is never shown.
    exclude = ["webhook"]
