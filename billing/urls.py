from django.urls import path

from billing import removals, views

app_name = "billing"

urlpatterns = [
    path("billing/", views.overview, name="overview"),
    path("billing/export.csv", views.export, name="export"),
    path("billing/allocation/", views.allocation_view, name="allocation"),
    path("billing/allocation.csv", views.allocation_export, name="allocation_export"),
    path("billing/import/", views.import_now, name="import_now"),
    path("billing/anomalies/", views.anomaly_list_view, name="anomaly_list"),
    path("billing/anomalies/<int:pk>/acknowledge/", views.anomaly_ack, name="anomaly_ack"),
    path("billing/savings/", views.savings_view, name="savings"),
    path("billing/savings.csv", views.savings_export, name="savings_export"),
    path("billing/savings/<int:pk>/dismiss/", views.finding_dismiss_view, name="finding_dismiss"),
    path("billing/savings/<int:pk>/remove/", removals.finding_remove_view, name="finding_remove"),
    path("billing/budgets/", views.budget_list, name="budget_list"),
    path("billing/budgets/new/", views.budget_edit, name="budget_create"),
    path("billing/budgets/<int:pk>/", views.budget_edit, name="budget_edit"),
    path("billing/budgets/<int:pk>/delete/", views.budget_delete, name="budget_delete"),
    path("billing/alerts/<int:pk>/acknowledge/", views.alert_ack, name="alert_ack"),
    path("billing/alerts/acknowledge/", views.alert_ack_all, name="alert_ack_all"),
    path("billing/settings/", views.settings_view, name="settings"),
]
