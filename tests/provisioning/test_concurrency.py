"""Runs across threads and processes, on a database they really share: cancelling an apply
from another thread, two applies at once, and a plan made in one process applied in another.

These tests commit for real (transaction=True), like tests/inventory/test_sync_concurrency.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from mcloud.errors import ActionRefused
from provisioning.models import Deployment, DeploymentRun, DeploymentState
from provisioning.services.runs import run_approve, run_cancel, run_plan_queue
from provisioning.services.state import DatabaseStateStore
from provisioning.services.worker import run_execute
from tests.processes import ROOT, app_env, reachable_dir
from tests.provisioning.conftest import applied, make_deployment, planned

pytestmark = pytest.mark.django_db(transaction=True)
Status = DeploymentRun.Status


@pytest.fixture
def workdirs() -> Iterator[Path]:
    """Terraform's working directories go to a short folder of ours, so we see them go."""
    with reachable_dir("tfc-") as parent, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(parent))
        yield parent


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def in_thread(run_id: int, results: list, barrier: threading.Barrier | None = None):
    def target() -> None:
        try:
            if barrier is not None:
                barrier.wait()
            results.append(run_execute(run_id=run_id))
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def log_of(run_id: int) -> str:
    return DeploymentRun.objects.values_list("log", flat=True).get(pk=run_id)


def test_cancelling_a_running_apply_stops_it_with_consistent_state(org, alice, hello_version):
    deployment = make_deployment(
        org, alice, hello_version, "sleeper", name="sleeper", sleep_seconds="30"
    )
    apply = run_approve(plan_run=planned(deployment, alice), user=alice, enqueue=False)
    results: list = []
    worker = in_thread(apply.pk, results)
    try:
        # The log reaches the database while Terraform runs: the greeting shows before it ends.
        wait_for(lambda: "Hello, sleeper!" in log_of(apply.pk))
        assert DeploymentRun.objects.get(pk=apply.pk).status == Status.RUNNING
        started = time.monotonic()
        assert run_cancel(run=apply, user=alice) == Status.RUNNING
    finally:
        worker.join(60)
    assert time.monotonic() - started < 20

    apply.refresh_from_db()
    assert apply.status == Status.CANCELLED, apply.log
    assert "[mcloud] Cancel requested: interrupting Terraform." in apply.log
    assert "Interrupt received" in apply.log
    assert apply.log.rstrip().endswith("[mcloud] Cancelled. Cancelled while Terraform ran.")
    deployment.refresh_from_db()
    assert (deployment.state_lock_id, deployment.lease_token) == ("", "")
    assert deployment.status == Deployment.Status.CANCELLED  # not "Last apply failed"
    assert deployment.get_status_display() == "Last apply cancelled"
    state = json.loads(DatabaseStateStore(deployment).load())
    greeting = next(r for r in state["resources"] if r["name"] == "greeting")
    assert greeting["instances"][0]["status"] == "tainted"

    # The deployment goes on from the state the interrupted apply saved.
    again = planned(deployment, alice)
    assert again.plan_summary["replace"] == 1


def test_two_applies_started_at_once_run_one_at_a_time(org, alice, hello_version, settings):
    settings.PROVISIONING_LEASE_WAIT_SECONDS = 1
    deployment = make_deployment(org, alice, hello_version, "twice", sleep_seconds="4")
    plan = planned(deployment, alice)
    first = run_approve(plan_run=plan, user=alice, enqueue=False)
    # A second apply of the same deployment at the same moment (as a task delivered twice to
    # two workers, or a request that raced the check) is refused by the deployment's lease.
    second = DeploymentRun.objects.create(
        organization=org, deployment=deployment, kind=DeploymentRun.Kind.APPLY,
        blueprint_version=plan.blueprint_version, plan_run=plan, started_by=alice,
    )  # fmt: skip
    results: list = []
    barrier = threading.Barrier(2)
    threads = [in_thread(first.pk, results, barrier), in_thread(second.pk, results, barrier)]
    try:
        wait_for(lambda: DeploymentRun.objects.filter(status=Status.RUNNING).exists())
        # Meanwhile no other run is even queued.
        with pytest.raises(ActionRefused, match=r"of twice is (queued|running): wait for it"):
            run_plan_queue(deployment=deployment, user=alice, enqueue=False)
    finally:
        for thread in threads:
            thread.join(60)

    runs = {r.pk: r for r in DeploymentRun.objects.filter(pk__in=[first.pk, second.pk])}
    statuses = sorted(r.status for r in runs.values())
    assert statuses == [Status.APPLIED, Status.FAILED]
    winner = next(r for r in runs.values() if r.status == Status.APPLIED)
    loser = next(r for r in runs.values() if r.status == Status.FAILED)
    assert loser.error == (
        f"Refused: another run of this deployment (#{winner.pk}, apply) was in progress."
    )
    assert "$ terraform" not in loser.log
    assert loser.log.rstrip().endswith(f"[mcloud] Failed: {loser.error}")
    assert DeploymentState.objects.filter(deployment=deployment).count() == 1


def test_the_state_outlives_the_working_directory_and_another_process_applies(
    org, alice, hello_version, workdirs
):
    deployment = make_deployment(org, alice, hello_version, "travels", name="Ada")
    plan = planned(deployment, alice)
    assert plan.status == Status.PLANNED
    assert list(workdirs.iterdir()) == []  # nothing of the plan stays on this worker's disk
    apply = run_approve(plan_run=plan, user=alice, enqueue=False)

    # Another worker process, with nothing but the database in common, applies the plan.
    code = f"from provisioning.tasks import run_execute; print(run_execute({apply.pk}))"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=app_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "applied"
    apply.refresh_from_db()
    assert "null_resource.greeting (local-exec): Hello, Ada!" in apply.log

    # And this one plans next, from the state the other one saved.
    again = planned(deployment, alice)
    assert again.status == Status.NO_CHANGES  # nothing to approve
    assert again.state_serial == 0
    assert again.plan_summary["changes"] == []
    assert list(workdirs.iterdir()) == []
    destroy = planned(deployment, alice, destroy=True)
    assert applied(destroy, alice, confirm_name="travels").status == Status.APPLIED
