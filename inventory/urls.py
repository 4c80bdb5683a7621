from django.urls import path

from inventory.views import (
    accounts,
    actions,
    bulk,
    dashboard,
    resources,
    sandbox,
    schedules,
    sync,
)

app_name = "inventory"

urlpatterns = [
    path("dashboard/tiles/<slug:name>/", dashboard.dashboard_tile, name="dashboard_tile"),
    path("dashboard/freshness/", dashboard.dashboard_freshness, name="dashboard_freshness"),
    path("dashboard/sync/", dashboard.dashboard_sync, name="dashboard_sync"),
    path("cloud-accounts/", accounts.account_list, name="account_list"),
    path("cloud-accounts/new/", accounts.account_create, name="account_create"),
    path("cloud-accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("cloud-accounts/<int:pk>/edit/", accounts.account_edit, name="account_edit"),
    path("cloud-accounts/<int:pk>/test/", accounts.account_test, name="account_test"),
    path("cloud-accounts/<int:pk>/resume/", accounts.account_resume, name="account_resume"),
    path("cloud-accounts/<int:pk>/toggle/", accounts.account_toggle, name="account_toggle"),
    path(
        "cloud-accounts/aws-reader-role.yaml",
        accounts.aws_reader_role_template,
        name="aws_reader_role_template",
    ),
    path("cloud-accounts/<int:pk>/delete/", accounts.account_delete, name="account_delete"),
    path("cloud-accounts/<int:pk>/sync/", sync.sync_now, name="sync_now"),
    path("sandbox/", sandbox.sandbox_create, name="sandbox_create"),
    path("inventory/", resources.resource_list, name="resource_list"),
    path("inventory/vms/", resources.vm_list, name="vm_list"),
    path("inventory/export.csv", resources.resource_export, name="resource_export"),
    path("inventory/resources/<int:pk>/", resources.resource_detail, name="resource_detail"),
    path(
        "inventory/resources/<int:pk>/actions/<slug:action>/",
        actions.resource_action,
        name="resource_action",
    ),
    path("inventory/bulk/confirm/", bulk.bulk_action_confirm, name="bulk_action_confirm"),
    path("inventory/bulk/", bulk.bulk_action_create, name="bulk_action_create"),
    path("bulk-actions/<int:pk>/", bulk.bulk_action_detail, name="bulk_action_detail"),
    path("bulk-actions/<int:pk>/cancel/", bulk.bulk_action_cancel_view, name="bulk_action_cancel"),
    path("action-runs/<int:pk>/progress/", actions.action_run_progress, name="action_run_progress"),
    path("inventory/views/", resources.saved_view_create, name="saved_view_create"),
    path(
        "inventory/views/<int:pk>/delete/",
        resources.saved_view_delete,
        name="saved_view_delete",
    ),
    path("schedules/", schedules.schedule_list, name="schedule_list"),
    path("schedules/new/", schedules.schedule_create, name="schedule_create"),
    path("schedules/preview/", schedules.schedule_preview_panel, name="schedule_preview"),
    path("schedules/<int:pk>/", schedules.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/delete/", schedules.schedule_delete, name="schedule_delete"),
    path("sync-runs/<int:pk>/progress/", sync.sync_run_progress, name="sync_run_progress"),
]
