"""Runs named for what they are: a plan without changes finishes as "No changes", destroy
runs say so, approvals and discards carry a comment into the run's history, init's output
is folded, variables get fitting inputs, and destroyed deployments can be archived."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from mcloud.errors import ActionRefused
from provisioning.forms import DeploymentForm
from provisioning.models import Deployment, DeploymentRun
from provisioning.services.blueprints import blueprint_create
from provisioning.services.runs import run_approve
from tests.provisioning.conftest import applied, planned

pytestmark = pytest.mark.django_db
Status = DeploymentRun.Status


def url(name: str, *args: object) -> str:
    return reverse(f"provisioning:{name}", args=args)


def test_a_plan_without_changes_needs_no_approval(login, deployment, alice, ada):
    applied(planned(deployment, alice), ada)
    again = planned(deployment, alice)
    assert again.status == Status.NO_CHANGES, again.log
    assert again.get_status_display() == "No changes"
    assert not again.plan_file
    assert not again.awaiting_approval
    assert again.log.rstrip().endswith(
        "[mcloud] No changes: the infrastructure matches the configuration; nothing to apply."
    )
    with pytest.raises(ActionRefused):
        run_approve(plan_run=again, user=ada, enqueue=False)
    page = login(ada).get(url("run_detail", again.pk)).content.decode()
    assert "Approve" not in page
    assert 'id="approval"' not in page
    runs = login(ada).get(url("deployment_detail", deployment.pk)).content.decode()
    assert ">No changes</span>" in runs


def test_destroy_runs_are_labelled_as_destroys(login, deployment, alice, ada):
    applied(planned(deployment, alice), ada)
    gone = applied(planned(deployment, ada, destroy=True), ada, confirm_name="hello-1")
    assert gone.status == Status.APPLIED
    assert (gone.kind_label, gone.status_label) == ("Destroy", "Destroyed")
    client = login(ada)
    page = client.get(url("deployment_detail", deployment.pk)).content.decode()
    assert f">Destroy #{gone.pk}</a>" in page
    assert f">Apply #{gone.pk}</a>" not in page
    assert ">Destroyed</span>" in page
    run_page = client.get(url("run_detail", gone.pk)).content.decode()
    assert f"<title>Destroy #{gone.pk} of hello-1" in run_page
    listing = client.get(url("deployment_list")).content.decode()
    assert f">Destroy #{gone.pk}</a>" in listing


def test_approve_and_discard_take_a_comment_shown_in_the_history(
    login, deployment, alice, ada, django_capture_on_commit_callbacks
):
    plan = planned(deployment, alice)
    admin = login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(url("run_approve", plan.pk), {"comment": "Fine, see ticket 42."})
    plan.refresh_from_db()
    assert plan.comment == "Fine, see ticket 42."
    page = admin.get(url("run_detail", plan.pk)).content.decode()
    history = page[page.index('id="run-history"') :]
    assert "Approved by ada@acme.test" in history
    assert "Fine, see ticket 42." in history
    apply = plan.apply_runs.get()
    apply_page = admin.get(url("run_detail", apply.pk)).content.decode()
    assert "Fine, see ticket 42." in apply_page[apply_page.index('id="run-history"') :]

    deployment.refresh_from_db()
    Deployment.objects.filter(pk=deployment.pk).update(
        variables={**deployment.variables, "name": "moon"}  # a plan with something to do
    )
    other = planned(deployment, alice)
    admin.post(url("run_discard", other.pk), {"comment": "Not this week."})
    other.refresh_from_db()
    assert (other.status, other.comment, other.discarded_by) == (
        Status.DISCARDED,
        "Not this week.",
        ada,
    )
    page = admin.get(url("run_detail", other.pk)).content.decode()
    history = page[page.index('id="run-history"') :]
    assert "Discarded by ada@acme.test" in history
    assert "Not this week." in history


def test_init_output_is_folded(login, deployment, alice):
    plan = planned(deployment, alice)
    page = login(alice).get(url("run_detail", plan.pk)).content.decode()
    folded = re.search(r'<details class="log-step[^"]*"[^>]*>(.*?)</details>', page, re.S)
    assert folded is not None
    assert "$ terraform init" in folded.group(1)
    assert "Initializing" in folded.group(1)
    shown = page[page.index('id="run-log"') :]
    assert "$ terraform plan" in shown
    assert "$ terraform init" not in shown


def test_number_and_bool_variables_get_fitting_inputs(org, alice):
    blueprint = blueprint_create(
        organization=org,
        name="Typed",
        description="",
        files={"main.tf": 'variable "enabled" {\n  type = bool\n  default = true\n}\n'
               'variable "replicas" {\n  type = number\n}\n'},
        user=alice,
    )  # fmt: skip
    form = DeploymentForm(version=blueprint.latest_version, organization=org)
    replicas = str(form["var_replicas"])
    enabled = str(form["var_enabled"])
    assert 'type="number"' in replicas
    assert 'step="any"' in replicas
    assert enabled.count('type="radio"') == 2
    assert re.search(r'value="true"[^>]*checked', enabled)


def test_a_destroyed_deployment_can_be_archived_and_is_hidden_by_default(
    login, deployment, ada, bob
):
    client = login(ada)
    refused = client.post(url("deployment_archive", deployment.pk), follow=True)
    assert "Only a destroyed deployment" in refused.content.decode()
    Deployment.objects.filter(pk=deployment.pk).update(status=Deployment.Status.DESTROYED)
    assert login(bob).post(url("deployment_archive", deployment.pk)).status_code == 403
    client.post(url("deployment_archive", deployment.pk))
    deployment.refresh_from_db()
    assert deployment.archived_at is not None
    listing = client.get(url("deployment_list")).content.decode()
    assert ">hello-1</a>" not in listing
    assert "Show 1 archived" in listing
    archived = client.get(url("deployment_list"), {"archived": "1"}).content.decode()
    assert ">hello-1</a>" in archived
    client.post(url("deployment_unarchive", deployment.pk))
    assert ">hello-1</a>" in client.get(url("deployment_list")).content.decode()
