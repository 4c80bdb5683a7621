from django.urls import path

from inventory.views import accounts, sandbox, sync

app_name = "inventory"

urlpatterns = [
    path("cloud-accounts/", accounts.account_list, name="account_list"),
    path("cloud-accounts/new/", accounts.account_create, name="account_create"),
    path("cloud-accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("cloud-accounts/<int:pk>/edit/", accounts.account_edit, name="account_edit"),
    path("cloud-accounts/<int:pk>/test/", accounts.account_test, name="account_test"),
    path("cloud-accounts/<int:pk>/resume/", accounts.account_resume, name="account_resume"),
    path("cloud-accounts/<int:pk>/toggle/", accounts.account_toggle, name="account_toggle"),
    path("cloud-accounts/<int:pk>/delete/", accounts.account_delete, name="account_delete"),
    path("cloud-accounts/<int:pk>/sync/", sync.sync_now, name="sync_now"),
    path("sandbox/", sandbox.sandbox_create, name="sandbox_create"),
    path("sync-runs/<int:pk>/progress/", sync.sync_run_progress, name="sync_run_progress"),
]
