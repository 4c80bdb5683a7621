from django.urls import path

from inventory.views import accounts, actions, cleanups, dashboard, resources, sandbox, sync

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
    path("action-runs/<int:pk>/progress/", actions.action_run_progress, name="action_run_progress"),
    path(
        "action-runs/<int:pk>/approve/",
        cleanups.action_run_decide,
        {"decision": "approve"},
        name="action_run_approve",
    ),
    path(
        "action-runs/<int:pk>/reject/",
        cleanups.action_run_decide,
        {"decision": "reject"},
        name="action_run_reject",
    ),
    path("action-settings/", cleanups.action_settings_edit, name="action_settings_edit"),
    path("inventory/views/", resources.saved_view_create, name="saved_view_create"),
    path(
        "inventory/views/<int:pk>/delete/",
        resources.saved_view_delete,
        name="saved_view_delete",
    ),
    path("sync-runs/<int:pk>/progress/", sync.sync_run_progress, name="sync_run_progress"),
]
