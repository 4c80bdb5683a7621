"""Drift confirmed by Terraform: a refresh-only plan of the `hello` deployment with the real
Terraform and the null provider, through the worker and its isolation, recorded as a run of
its own kind; the schedule at the organization's interval (off by default); "Reconcile"
starts a normal plan.

Offline, the null provider is the only one, and its resources read nothing real: an object
"deleted outside Terraform" is a state whose null_resource lost its id (the SDK reads an
empty id as gone), which is what Terraform's refresh reports as `resource_drift`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django_q.models import Schedule

from mcloud.errors import ActionRefused
from provisioning.models import (
    Deployment,
    DeploymentDrift,
    DeploymentRun,
    DeploymentState,
    ProvisioningSettings,
)
from provisioning.schedules import DRIFT
from provisioning.services.drift import run_drift_check_queue
from provisioning.services.state import DatabaseStateStore
from provisioning.services.worker import run_execute
from provisioning.tasks import DRIFT_CHECKS, drift_checks
from tests.provisioning.conftest import SECRET, applied, planned

pytestmark = pytest.mark.django_db
Kind, Status = DeploymentRun.Kind, DeploymentRun.Status


@pytest.fixture
def live(deployment, alice, ada) -> Deployment:
    """The hello deployment, planned and applied."""
    assert applied(planned(deployment, alice), ada).status == Status.APPLIED
    deployment.refresh_from_db()
    return deployment


def drift_check(deployment: Deployment) -> DeploymentRun:
    run = run_drift_check_queue(deployment=deployment, enqueue=False)
    finished = run_execute(run_id=run.pk)
    assert finished is not None
    return finished


def delete_outside_terraform(deployment: Deployment, address: str) -> None:
    """Save a state in which `address` lost its id, as the null provider reads a gone object."""
    current = DeploymentState.objects.filter(deployment=deployment).order_by("-version").first()
    assert current is not None
    state = json.loads(current.state)
    for resource in state["resources"]:
        if f"{resource['type']}.{resource['name']}" == address:
            resource["instances"][0]["attributes"]["id"] = ""
    state["serial"] += 1
    DatabaseStateStore(deployment).save(json.dumps(state).encode())


def test_a_refresh_only_plan_records_no_drift_then_drift_then_reconcile_clears_it(
    live, org, alice, bob, ada, login
):
    clean = drift_check(live)
    assert (clean.kind, clean.status, clean.get_kind_display()) == (
        Kind.DRIFT, Status.NO_CHANGES, "Drift check",
    )  # fmt: skip
    assert "-refresh-only" in clean.log
    assert "No drift" in clean.log
    assert SECRET not in clean.log
    drift = DeploymentDrift.objects.get(deployment=live)
    assert (drift.is_drifted, drift.terraform_run_id) == (False, clean.pk)

    # A plan awaiting approval is neither superseded nor made stale by a drift check.
    pending = planned(live, alice)
    assert pending.status == Status.NO_CHANGES
    delete_outside_terraform(live, "null_resource.token")
    found = drift_check(live)
    assert found.status == Status.DRIFTED, found.log
    assert found.plan_file is None
    assert found.changes_label == "1 drifted"
    assert "Objects have changed outside of Terraform" in found.log
    assert SECRET not in found.log  # the deleted token's triggers hold it
    drift.refresh_from_db()
    assert drift.is_drifted
    assert [(d["address"], d["kind"]) for d in drift.terraform_differences] == [
        ("null_resource.token", "deleted")
    ]
    assert SECRET not in json.dumps(drift.terraform_differences)

    run_page = login(bob).get(reverse("provisioning:run_detail", args=[found.pk]))
    assert 'id="drift-check"' in run_page.content.decode()
    assert "It found 1 change made outside Terraform" in run_page.content.decode()
    assert 'id="approval"' not in run_page.content.decode()

    # The page shows it, and "Reconcile" (a member's plan) plans the resource back.
    page = login(bob).get(reverse("provisioning:deployment_detail", args=[live.pk]))
    html = page.content.decode()
    assert 'id="drift-differences"' in html
    assert "null_resource.token" in html
    assert 'id="reconcile"' in html
    assert "data-drifted" in html
    viewer_page = login(bob).get(reverse("provisioning:deployment_list"), {"drift": "drifted"})
    assert [d.name for d in viewer_page.context["deployments"]] == [live.name]
    response = login(bob).post(reverse("provisioning:deployment_plan", args=[live.pk]))
    reconcile = DeploymentRun.objects.filter(deployment=live, kind=Kind.PLAN).latest("pk")
    assert response.url == reverse("provisioning:run_detail", args=[reconcile.pk])
    reconcile = run_execute(run_id=reconcile.pk)
    assert reconcile is not None
    assert reconcile.status == Status.PLANNED
    assert reconcile.plan_summary["create"] == 1
    assert applied(reconcile, ada).status == Status.APPLIED
    drift.refresh_from_db()
    assert (drift.is_drifted, drift.terraform_differences) == (False, [])


def test_a_viewer_cannot_reconcile_nor_see_the_button(live, vera, login):
    delete_outside_terraform(live, "null_resource.greeting")
    assert drift_check(live).status == Status.DRIFTED
    page = login(vera).get(reverse("provisioning:deployment_detail", args=[live.pk]))
    assert 'id="drift-differences"' in page.content.decode()
    assert 'id="reconcile"' not in page.content.decode()
    plans = live.runs.filter(kind=Kind.PLAN).count()
    response = login(vera).post(reverse("provisioning:deployment_plan", args=[live.pk]))
    assert response.status_code == 403
    assert live.runs.filter(kind=Kind.PLAN).count() == plans


def test_a_deployment_not_applied_is_not_checked(deployment):
    with pytest.raises(ActionRefused, match="not applied"):
        run_drift_check_queue(deployment=deployment, enqueue=False)


def test_the_schedule_checks_at_the_organizations_interval_and_is_off_by_default(
    live, org, ada, scheduled
):
    schedule = Schedule.objects.get(name=DRIFT)
    assert (schedule.func, schedule.minutes) == (DRIFT_CHECKS.path, 60)
    assert scheduled(drift_checks) == 0  # off by default
    assert not live.runs.filter(kind=Kind.DRIFT).exists()

    ProvisioningSettings.objects.create(organization=org, drift_check_hours=24)
    assert scheduled(drift_checks) == 1
    check = live.runs.get(kind=Kind.DRIFT)
    assert check.status == Status.NO_CHANGES
    assert check.started_by is None
    assert scheduled(drift_checks) == 0  # checked less than a day ago
    DeploymentRun.objects.filter(pk=check.pk).update(
        queued_at=check.queued_at - timedelta(hours=25)
    )
    assert scheduled(drift_checks) == 1
