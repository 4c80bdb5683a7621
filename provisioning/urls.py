from django.urls import path

from provisioning.views import blueprints, deployments, policies, runs

app_name = "provisioning"

urlpatterns = [
    path("provisioning/", deployments.deployment_list, name="deployment_list"),
    path("provisioning/settings/", deployments.settings_update, name="settings_update"),
    path("provisioning/blueprints/", blueprints.blueprint_list, name="blueprint_list"),
    path("provisioning/blueprints/new/", blueprints.blueprint_create, name="blueprint_create"),
    path("provisioning/blueprints/<int:pk>/", blueprints.blueprint_detail, name="blueprint_detail"),
    path(
        "provisioning/blueprints/<int:pk>/upload/",
        blueprints.blueprint_upload,
        name="blueprint_upload",
    ),
    path("provisioning/deployments/new/", deployments.deployment_create, name="deployment_create"),
    path(
        "provisioning/deployments/<int:pk>/",
        deployments.deployment_detail,
        name="deployment_detail",
    ),
    path(
        "provisioning/deployments/<int:pk>/edit/",
        deployments.deployment_edit,
        name="deployment_edit",
    ),
    path(
        "provisioning/deployments/<int:pk>/plan/",
        deployments.deployment_plan,
        name="deployment_plan",
    ),
    path(
        "provisioning/deployments/<int:pk>/destroy/",
        deployments.deployment_destroy,
        name="deployment_destroy",
    ),
    path(
        "provisioning/deployments/<int:pk>/unlock/",
        deployments.deployment_unlock,
        name="deployment_unlock",
    ),
    path(
        "provisioning/deployments/<int:pk>/archive/",
        deployments.deployment_archive,
        name="deployment_archive",
    ),
    path(
        "provisioning/deployments/<int:pk>/unarchive/",
        deployments.deployment_unarchive,
        name="deployment_unarchive",
    ),
    path("provisioning/runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("provisioning/runs/<int:pk>/log/", runs.run_log, name="run_log"),
    path("provisioning/runs/<int:pk>/panel/", runs.run_panel, name="run_panel"),
    path("provisioning/runs/<int:pk>/approve/", runs.run_approve, name="run_approve"),
    path("provisioning/runs/<int:pk>/discard/", runs.run_discard, name="run_discard"),
    path("provisioning/runs/<int:pk>/cancel/", runs.run_cancel, name="run_cancel"),
    path(
        "provisioning/runs/<int:pk>/override/",
        policies.run_policy_override,
        name="run_policy_override",
    ),
    path("provisioning/policies/", policies.policy_list_view, name="policy_list"),
    path("provisioning/policies/new/", policies.policy_create, name="policy_create"),
    path("provisioning/policy-sets/new/", policies.policy_set_create, name="policy_set_create"),
    path("provisioning/policy-sets/<int:pk>/", policies.policy_set_edit, name="policy_set_edit"),
    path(
        "provisioning/policy-sets/<int:pk>/delete/",
        policies.policy_set_delete,
        name="policy_set_delete",
    ),
    path("provisioning/policies/test/", policies.policy_test, name="policy_test"),
    path(
        "provisioning/policies/examples/load/",
        policies.policy_example_load,
        name="policy_example_load",
    ),
    path("provisioning/policies/<int:pk>/", policies.policy_edit, name="policy_edit"),
    path("provisioning/policies/<int:pk>/delete/", policies.policy_delete, name="policy_delete"),
]
