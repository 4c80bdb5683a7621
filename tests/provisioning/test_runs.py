"""Plans, approvals, applies and destroys through the services and the task, with the real
Terraform and the null provider (the bundled hello blueprint)."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule, Task

from accounts.models import AuditEvent
from inventory.models import SyncRun
from inventory.schedules import RECOVER_RUNS
from inventory.tasks import recover_abandoned_runs
from mcloud.errors import ActionRefused
from provisioning.models import (
    BlueprintVersion,
    Deployment,
    DeploymentResource,
    DeploymentRun,
    DeploymentState,
)
from provisioning.services.blueprints import blueprint_create
from provisioning.services.deployments import (
    deployment_update,
    provisioning_settings_update,
    state_force_unlock,
    values_validate,
)
from provisioning.services.runs import (
    RUN_ABANDONED,
    run_approve,
    run_cancel,
    run_discard,
    run_plan_queue,
)
from provisioning.services.state import DatabaseStateStore
from provisioning.services.worker import run_execute
from provisioning.state_server import StateLock
from tests.inventory.factories import aws_account
from tests.provisioning.conftest import HOSTILE, applied, make_deployment, planned

pytestmark = pytest.mark.django_db
Status = DeploymentRun.Status


def actions(deployment: Deployment) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="deployment", target_id=str(deployment.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_it_plans_applies_shows_outputs_and_destroys(deployment, alice, ada):
    plan = planned(deployment, alice)
    assert plan.status == Status.PLANNED, plan.log
    assert plan.plan_file  # kept, encrypted, until approved
    assert plan.state_serial is None
    assert (plan.plan_summary["create"], plan.plan_summary["destroy"]) == (2, 0)
    assert {c["address"] for c in plan.plan_summary["changes"]} == {
        "null_resource.greeting",
        "null_resource.token",
    }
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.log
    assert not DeploymentState.objects.exists()  # planning saves no state

    apply = applied(plan, ada)
    assert apply.status == Status.APPLIED, apply.log
    assert (apply.plan_run_id, apply.approved_by, apply.exit_code) == (plan.pk, ada, 0)
    assert "null_resource.greeting (local-exec): Hello, world!" in apply.log
    assert apply.outputs["message"] == {"value": "Hello, world!", "sensitive": False,
                                        "type": "string"}  # fmt: skip
    assert apply.outputs["connection_string"] == {"value": None, "sensitive": True,
                                                  "type": "string"}  # fmt: skip
    plan.refresh_from_db()
    assert (plan.status, plan.plan_file, plan.approved_by) == (Status.APPROVED, None, ada)
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.ACTIVE
    assert deployment.outputs["message"]["value"] == "Hello, world!"
    assert deployment.last_run_id == apply.pk
    assert deployment.state_lock_id == ""
    assert deployment.lease_token == ""
    assert list(DeploymentState.objects.values_list("version", "serial")) == [(1, 0)]
    assert len(json.loads(DatabaseStateStore(deployment).load())["resources"]) == 2
    # The state's resources are what "managed" means: recorded with the state, by address.
    org_id = deployment.organization_id
    recorded = DeploymentResource.objects.filter(deployment=deployment)
    assert set(recorded.values_list("organization_id", "address")) == {
        (org_id, "null_resource.greeting"),
        (org_id, "null_resource.token"),
    }

    # Nothing changed: the next plan says so, and waits for no approval.
    again = planned(deployment, alice)
    assert again.plan_summary["changes"] == []
    assert again.state_serial == 0
    assert again.status == Status.NO_CHANGES

    destroy = planned(deployment, ada, destroy=True)
    assert destroy.kind == DeploymentRun.Kind.DESTROY
    assert (destroy.plan_summary["create"], destroy.plan_summary["destroy"]) == (0, 2)
    again.refresh_from_db()
    assert again.status == Status.NO_CHANGES  # nothing to supersede
    with pytest.raises(ActionRefused, match="Type the deployment's name, hello-1"):
        run_approve(plan_run=destroy, user=ada, confirm_name="hello", enqueue=False)
    gone = applied(destroy, ada, confirm_name="hello-1")
    assert gone.status == Status.APPLIED, gone.log
    deployment.refresh_from_db()
    assert (deployment.status, deployment.outputs) == (Deployment.Status.DESTROYED, {})
    assert json.loads(DatabaseStateStore(deployment).load())["resources"] == []
    assert not DeploymentResource.objects.exists()  # destroyed: nothing is managed any more
    assert actions(deployment) == [
        "deployment.created",
        "deployment.plan_requested", "deployment.planned",
        "deployment.approved", "deployment.applied",
        "deployment.plan_requested", "deployment.planned",
        "deployment.plan_requested", "deployment.planned",
        "deployment.approved", "deployment.destroyed",
    ]  # fmt: skip
    with pytest.raises(ActionRefused, match="nothing to destroy"):
        run_plan_queue(deployment=deployment, user=ada, destroy=True, enqueue=False)


def test_the_task_queue_runs_a_plan_by_its_id(deployment, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_plan_queue(deployment=deployment, user=bob)
    run.refresh_from_db()
    assert run.status == Status.PLANNED
    task = Task.objects.get(func="provisioning.tasks.run_execute")
    assert (task.args, task.result) == ((run.pk,), "planned")  # the id only, never a value


def test_invalid_hcl_fails_the_plan_with_terraforms_message(org, alice, hello_version):
    version = hello_version.blueprint.versions.create(
        number=99, files={"main.tf": 'resource "null_resource" "x" {\n  triggers = {\n}\n'},
        variables=[], checksum="broken",
    )  # fmt: skip
    deployment = make_deployment(org, alice, version, "broken")
    plan = planned(deployment, alice)
    assert plan.status == Status.FAILED
    assert "Error: Argument or block definition required" in plan.log
    assert plan.log.rstrip().endswith("see the log.")
    assert plan.error == f"Terraform failed (exit code {plan.exit_code}): see the log."
    assert plan.plan_file is None
    assert actions(deployment)[-1] == "deployment.failed"


def test_a_stale_plan_is_refused_before_anything_runs(deployment, alice):
    applied(planned(deployment, alice), alice)
    # New values, so that the next plans have something to apply (else: "No changes").
    Deployment.objects.filter(pk=deployment.pk).update(
        variables={**Deployment.objects.get(pk=deployment.pk).variables, "name": "moon"}
    )
    old = planned(deployment, alice)
    assert old.state_serial == 0
    # Another apply moves the state on (simulated: a new state version, as Terraform would).
    store = DatabaseStateStore(deployment)
    doc = json.loads(store.load())
    store.save(json.dumps({**doc, "serial": 1}).encode())
    with pytest.raises(ActionRefused, match="stale: it was made against state serial 0, and the "
                                            "deployment now has state serial 1"):  # fmt: skip
        run_approve(plan_run=old, user=alice, enqueue=False)
    old.refresh_from_db()
    assert old.status == Status.PLANNED
    assert not DeploymentRun.objects.filter(kind=DeploymentRun.Kind.APPLY, plan_run=old).exists()

    # The worker checks again (an apply queued before the state moved).
    fresh = planned(deployment, alice)
    apply = run_approve(plan_run=fresh, user=alice, enqueue=False)
    store.save(json.dumps({**doc, "serial": 2}).encode())
    apply = run_execute(run_id=apply.pk)
    assert apply.status == Status.FAILED
    assert apply.error.startswith("Refused: This plan is stale")
    assert "$ terraform" not in apply.log


def test_a_newer_plan_supersedes_and_a_plan_can_be_discarded(deployment, alice, bob):
    first = planned(deployment, bob)
    second = planned(deployment, bob)
    first.refresh_from_db()
    assert (first.status, first.plan_file) == (Status.DISCARDED, None)
    assert first.error == f"Discarded: superseded by run #{second.pk}."
    with pytest.raises(ActionRefused, match="not a plan awaiting approval"):
        run_approve(plan_run=first, user=alice, enqueue=False)
    run_discard(run=second, user=bob)
    second.refresh_from_db()
    assert (second.status, second.plan_file) == (Status.DISCARDED, None)
    with pytest.raises(ActionRefused, match="awaiting approval"):
        run_discard(run=second, user=bob)


def test_changing_the_variables_discards_the_pending_plan(deployment, alice, hello_version):
    plan = planned(deployment, alice)
    deployment_update(deployment=deployment, account=None, user=alice,
                      values=values_validate(hello_version, {"name": "Ada"}))  # fmt: skip
    plan.refresh_from_db()
    assert plan.status == Status.DISCARDED
    apply = applied(planned(deployment, alice), alice)
    assert "Hello, Ada!" in apply.log


def test_the_second_person_rule_is_enforced(deployment, org, alice, ada, bob):
    provisioning_settings_update(organization=org, require_second_approver=True, user=alice)
    plan = planned(deployment, ada)
    with pytest.raises(ActionRefused, match="requires a second person"):
        run_approve(plan_run=plan, user=ada, enqueue=False)
    assert applied(plan, alice).status == Status.APPLIED
    provisioning_settings_update(organization=org, require_second_approver=False, user=alice)
    Deployment.objects.filter(pk=deployment.pk).update(
        variables={**Deployment.objects.get(pk=deployment.pk).variables, "name": "moon"}
    )  # something to apply again
    assert applied(planned(deployment, ada), ada).status == Status.APPLIED


def test_one_run_at_a_time_is_refused_when_queued(deployment, alice):
    queued = run_plan_queue(deployment=deployment, user=alice, enqueue=False)
    with pytest.raises(ActionRefused, match=f"Plan #{queued.pk} of hello-1 is queued"):
        run_plan_queue(deployment=deployment, user=alice, enqueue=False)


def test_a_variable_with_shell_metacharacters_is_passed_literally(org, alice, hello_version):
    if os.path.exists("/tmp/pwned"):
        os.remove("/tmp/pwned")
    deployment = make_deployment(org, alice, hello_version, "hostile", name=HOSTILE)
    apply = applied(planned(deployment, alice), alice)
    assert f"null_resource.greeting (local-exec): Hello, {HOSTILE}!" in apply.log
    assert apply.outputs["message"]["value"] == f"Hello, {HOSTILE}!"
    assert not os.path.exists("/tmp/pwned")


def test_a_run_out_of_time_fails_with_its_log(org, alice, hello_version, settings):
    deployment = make_deployment(org, alice, hello_version, "slow", sleep_seconds="30")
    plan = planned(deployment, alice)
    settings.TERRAFORM_RUN_TIMEOUT = 3
    settings.TERRAFORM_CANCEL_GRACE_SECONDS = 2
    apply = applied(plan, alice)
    assert apply.status == Status.FAILED
    assert apply.error == "Timed out after 3 s."
    assert "[mcloud] The run exceeded 3 s: interrupting Terraform." in apply.log
    assert "Hello, world!" in apply.log
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.FAILED
    assert deployment.state_lock_id == ""  # Terraform unlocked on its way out


def test_a_queued_run_is_cancelled_at_once_and_its_plan_stays_approvable(deployment, ada):
    plan = planned(deployment, ada)
    apply = run_approve(plan_run=plan, user=ada, enqueue=False)
    assert run_cancel(run=apply, user=ada) == Status.CANCELLED
    assert run_execute(run_id=apply.pk).status == Status.CANCELLED  # the task finds it so
    plan.refresh_from_db()
    assert plan.status == Status.PLANNED
    assert applied(plan, ada).status == Status.APPLIED
    with pytest.raises(ActionRefused, match="already finished"):
        run_cancel(run=apply, user=ada)


def _dead_run(deployment: Deployment, user, *, lock_run: bool) -> DeploymentRun:
    """A plan "running" on a worker that died: its lease expired, and Terraform's state lock
    left behind, taken by this run's Terraform (`lock_run`) or by something else."""
    run = run_plan_queue(deployment=deployment, user=user, enqueue=False)
    past = timezone.now() - timedelta(minutes=1)
    DeploymentRun.objects.filter(pk=run.pk).update(
        status=Status.RUNNING, lease_token="dead", started_at=past
    )
    Deployment.objects.filter(pk=deployment.pk).update(lease_token="dead", lease_until=past)
    store = DatabaseStateStore(deployment, run_id=run.pk if lock_run else None)
    info = {"ID": "tf-lock", "Who": "w@dead-host", "Operation": "OperationTypePlan",
            "Created": "2026-12-01T10:00:00Z"}  # fmt: skip
    lock = StateLock("tf-lock", json.dumps(info).encode())
    assert store.lock(lock) is None
    return run


def test_the_next_plan_recovers_a_run_whose_worker_died_and_frees_its_lock(deployment, alice):
    dead = _dead_run(deployment, alice, lock_run=True)
    assert DeploymentRun.objects.get(pk=dead.pk).worker_lost

    plan = planned(deployment, alice)  # no Force unlock
    assert plan.status == Status.PLANNED, plan.log
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Status.FAILED, RUN_ABANDONED)
    assert dead.log.endswith(
        f"[mcloud] Failed: {RUN_ABANDONED}\n[mcloud] Released the state lock its Terraform held.\n"
    )
    deployment.refresh_from_db()
    assert (deployment.state_lock_id, deployment.state_lock_run_id) == ("", None)
    unlocked = AuditEvent.objects.get(action="deployment.state_unlocked")
    assert (unlocked.actor_label, unlocked.data["run"], unlocked.data["lock"]) == (
        "provisioning recovery", dead.pk, "tf-lock"
    )  # fmt: skip
    failed = AuditEvent.objects.get(action="deployment.failed", data__run=dead.pk)
    assert failed.data["error"] == RUN_ABANDONED


def test_the_schedule_recovers_dead_runs_of_every_kind(deployment, alice):
    dead = _dead_run(deployment, alice, lock_run=True)
    assert Schedule.objects.get(name=RECOVER_RUNS).func == "inventory.tasks.recover_abandoned_runs"
    assert recover_abandoned_runs() == 1
    assert recover_abandoned_runs() == 0
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Status.FAILED, RUN_ABANDONED)
    assert DatabaseStateStore(deployment).current_lock() is None


def test_a_lock_held_by_anything_else_stays_and_the_plan_says_who_holds_it(
    deployment, alice, ada, bob, login
):
    _dead_run(deployment, alice, lock_run=False)  # e.g. a lock from before mcloud kept its run
    stuck = planned(deployment, alice)
    assert stuck.status == Status.FAILED
    assert "Error acquiring the state lock" in stuck.log
    assert stuck.error.startswith(
        "The state is locked by w@dead-host (Plan, since 2026-12-01 10:00:00 UTC), lock tf-lock,"
    )
    assert "Force unlock" in stuck.error
    page = login(ada).get(reverse("provisioning:run_detail", args=[stuck.pk])).content.decode()
    link = reverse("provisioning:deployment_detail", args=[deployment.pk]) + "#state-lock"
    assert f'href="{link}" id="force-unlock-link"' in page
    assert (
        "(admins)"
        in login(bob).get(reverse("provisioning:run_detail", args=[stuck.pk])).content.decode()
    )
    detail = login(ada).get(reverse("provisioning:deployment_detail", args=[deployment.pk]))
    assert (
        reverse("provisioning:deployment_unlock", args=[deployment.pk]) in detail.content.decode()
    )

    assert state_force_unlock(deployment=deployment, user=ada)
    assert DatabaseStateStore(deployment).current_lock() is None
    assert planned(deployment, alice).status == Status.PLANNED
    unlocked = AuditEvent.objects.get(action="deployment.state_unlocked")
    assert unlocked.actor == ada


def test_cancel_on_a_run_whose_worker_died_recovers_it_at_once(deployment, alice):
    dead = _dead_run(deployment, alice, lock_run=True)
    with pytest.raises(ActionRefused, match="had stopped before it finished"):
        run_cancel(run=dead, user=alice)
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Status.FAILED, RUN_ABANDONED)
    assert DatabaseStateStore(deployment).current_lock() is None


def test_an_apply_on_an_account_gets_its_credentials_and_syncs_it(
    aws, org, alice, hello_version, django_capture_on_commit_callbacks
):
    key_id, secret = aws.create_user_key("deployer")
    account = aws_account(org, (key_id, secret), regions=["eu-west-1"])
    env_tf = 'resource "null_resource" "env" {\n  provisioner "local-exec" {\n' \
             '    command = "env"\n  }\n}\n'  # fmt: skip
    blueprint = blueprint_create(
        organization=org, name="Hello env", description="", user=alice,
        files={**hello_version.files, "env.tf": env_tf},
    )  # fmt: skip
    deployment = deployment_create_with_account(org, alice, blueprint.latest_version, account)
    with django_capture_on_commit_callbacks(execute=True):
        apply = applied(planned(deployment, alice), alice)
    assert apply.status == Status.APPLIED, apply.log
    assert f"null_resource.env (local-exec): AWS_ACCESS_KEY_ID={key_id}" in apply.log
    assert "null_resource.env (local-exec): AWS_DEFAULT_REGION=eu-west-1" in apply.log
    assert "AWS_SECRET_ACCESS_KEY=(masked)" in apply.log
    assert secret not in apply.log
    sync = SyncRun.objects.get(account=account)
    assert (sync.trigger, sync.status) == (SyncRun.Trigger.DEPLOYMENT, SyncRun.State.SUCCEEDED)


def deployment_create_with_account(org, user, version, account) -> Deployment:
    from provisioning.services.deployments import deployment_create

    return deployment_create(
        organization=org, name="with-account", version=version, account=account,
        values=values_validate(version, {}), user=user,
    )  # fmt: skip


def test_deleting_the_organization_takes_its_deployments_runs_and_blueprints(
    org, alice, hello_version
):
    from accounts.services import organization_delete

    own = blueprint_create(organization=org, name="Own", description="", user=alice,
                           files=dict(hello_version.files))  # fmt: skip
    for version, name in ((hello_version, "bundled"), (own.latest_version, "own")):
        deployment = make_deployment(org, alice, version, name)
        applied(planned(deployment, alice), alice)
    organization_delete(organization=org, confirm_name="Acme")
    assert not Deployment.objects.exists()
    assert not DeploymentRun.objects.exists()
    assert not DeploymentState.objects.exists()
    assert not BlueprintVersion.objects.filter(blueprint__slug="own").exists()
    hello_version.refresh_from_db()  # the bundled blueprint stays for everyone else


@pytest.mark.parametrize(
    "old_path",
    ["provisioning.tasks.recover_abandoned_runs", "billing.tasks.recover_abandoned_imports"],
)
def test_a_recovery_queued_under_its_old_path_still_runs(deployment, alice, old_path):
    """Kept for one release: a task already in the queue when the recoveries became one."""
    from django_q.tasks import async_task

    dead = _dead_run(deployment, alice, lock_run=True)
    async_task(old_path, sync=True)
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Status.FAILED, RUN_ABANDONED)
