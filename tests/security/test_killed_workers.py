"""A worker killed with SIGKILL in the middle of a cost import or a Terraform apply: nothing
committed is lost, the leases are recovered, the runs are marked failed, and the next run
succeeds; Terraform dies with its worker. (Syncs: tests/inventory/test_sync_concurrency.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.exceptions import ActionRefused
from billing.models import CostData, ImportRun
from billing.services.imports import cost_import
from inventory.models import CloudAccount
from provisioning.models import Deployment, DeploymentRun, DeploymentState
from provisioning.services.deployments import (
    deployment_update,
    state_force_unlock,
    values_validate,
)
from provisioning.services.runs import ABANDONED, run_approve, runs_recover_abandoned
from provisioning.services.state import lease_is_live, lock_description
from tests.billing.costs import daily, store
from tests.inventory.factories import azure_account
from tests.processes import ROOT, app_env, process_running, processes_in
from tests.provisioning.conftest import SECRET, applied, make_deployment, planned

pytestmark = pytest.mark.django_db(transaction=True)

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


def _wait_for(
    predicate: Callable[[], object], timeout: float = 30.0, what: Callable[[], str] | str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.1)


def test_a_killed_import_is_recovered_and_loses_nothing(azure, org, settings):
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    today = timezone.localdate()
    azure.add_costs(
        SUB,
        [
            {
                "date": today - timedelta(days=1),
                "service": "Storage",
                "resource_id": "r",
                "cost": 9,
                "currency": "USD",
                "location": "westeurope",
            }
        ],
    )
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    store(account, daily(account, today - timedelta(days=30), 30, "2"))  # costs from before
    before = set(CostData.objects.values_list("date", "service", "amount"))

    azure.faults.set(latency=20)  # the worker will hang on the provider's answer
    env = {
        "AZURE_ARM_ENDPOINT": azure.base_url,
        "AZURE_AUTHORITY_HOST": azure.authority,
        "AZURE_CA_BUNDLE": azure.ca_bundle,
        "SYNC_LEASE_SECONDS": "2",
        "CLOUD_TIMEOUT": "60",
    }
    script = (
        "from billing.services.imports import cost_import\n"
        "from inventory.models import CloudAccount\n"
        f"cost_import(account=CloudAccount.objects.get(pk={account.pk}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=app_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: ImportRun.objects.filter(status="running").exists())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    dead = ImportRun.objects.get(status="running")
    assert set(CostData.objects.values_list("date", "service", "amount")) == before
    assert CloudAccount.objects.get(pk=account.pk).lease_until is not None  # still held...
    settings.SYNC_LEASE_SECONDS = 2
    assert cost_import(account=account) is None  # ...so an import now waits its turn
    _wait_for(
        lambda: CloudAccount.objects.get(pk=account.pk).lease_until < timezone.now(), timeout=10
    )  # ...until it expires

    azure.faults.clear()
    run = cost_import(account=account)
    assert run.status == "succeeded", run.error
    dead.refresh_from_db()
    assert (dead.status, dead.error.startswith("Abandoned")) == ("failed", True)
    assert CostData.objects.filter(
        date=today - timedelta(days=1), service="Storage", amount=Decimal(9)
    ).exists()
    assert CostData.objects.filter(date__lt=run.start).count() == len(
        [d for d in before if d[0] < run.start]
    )


# --- a Terraform apply --------------------------------------------------------------------------

LEASE = 8  # seconds: the killed worker's lease outlives it by at most this much
RunStatus = DeploymentRun.Status


def _files_holding(directory: Path, needle: bytes) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(folder) / name
            try:
                if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                    found.append(str(path))
            except OSError:  # removed meanwhile
                continue
    return found


def _change(deployment: Deployment, user, **raw: str) -> None:
    """New values for a hello deployment (the secret token stays)."""
    values = values_validate(deployment.blueprint_version, {"secret_token": SECRET, **raw})
    deployment_update(deployment=deployment, account=None, values=values, user=user)


def _states(deployment: Deployment) -> dict[int, tuple[int, str, bytes]]:
    """Every state version, decrypted: version -> (serial, lineage, state)."""
    rows = DeploymentState.objects.filter(deployment=deployment).order_by("version")
    states = {row.version: (row.serial, row.lineage, bytes(row.state)) for row in rows}
    for serial, lineage, state in states.values():
        doc = json.loads(state)
        assert (doc["serial"], doc["lineage"]) == (serial, lineage)
    return states


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds processes in /proc")
def test_a_killed_apply_takes_terraform_with_it_and_the_next_run_succeeds(
    org, alice, hello_version, settings, tmp_path
):
    settings.PROVISIONING_LEASE_SECONDS = LEASE
    deployment = make_deployment(org, alice, hello_version, "killed", name="first",
                                 secret_token=SECRET)  # fmt: skip
    first = applied(planned(deployment, alice), alice)
    assert first.status == RunStatus.APPLIED, first.log
    before = _states(deployment)
    assert before

    # An apply whose provisioner sleeps ten minutes, in a worker process of its own.
    _change(deployment, alice, name="second", sleep_seconds="600")
    apply = run_approve(plan_run=planned(deployment, alice), user=alice, enqueue=False)
    # The worker's TMPDIR, where Terraform's directories go: one that the sandbox of a root
    # worker (running as nobody) can reach.
    workdirs = Path(tempfile.mkdtemp(prefix="tfk-"))
    workdirs.chmod(0o711)
    errors = tmp_path / "worker.err"
    code = f"from provisioning.tasks import run_execute; run_execute({apply.pk})"
    with errors.open("wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
            env=app_env(PROVISIONING_LEASE_SECONDS=str(LEASE), TMPDIR=str(workdirs)),
        )  # fmt: skip
    terraform: dict[int, tuple[str, str]] = {}  # every process seen in its directory

    def sleeping() -> bool:
        assert worker.poll() is None, errors.read_text()
        terraform.update(processes_in(workdirs))
        return "Hello, second!" in _log(apply.pk) and "sleep" in running()

    def running() -> list[str]:
        return [name for pid, (name, t) in terraform.items() if process_running(pid, t)]

    try:
        _wait_for(sleeping, timeout=180, what="the provisioner's sleep")
        names = {name for name, _ in terraform.values()}
        assert {"terraform", "terraform-provi", "sh", "sleep"} <= names, names
        [root] = workdirs.iterdir()
        assert _files_holding(root, SECRET.encode()) == []
        assert _files_holding(root, b"tok-3f9a") == []

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = time.monotonic()

        # Nobody has finished the run, and its lease still protects the lock Terraform held.
        deployment.refresh_from_db()
        assert lease_is_live(deployment)
        assert DeploymentRun.objects.get(pk=apply.pk).status == RunStatus.RUNNING
        assert lock_description(deployment)["operation"] == "Apply"
        assert runs_recover_abandoned(deployment_id=deployment.pk) == 0
        with pytest.raises(ActionRefused, match="in progress"):
            state_force_unlock(deployment=deployment, user=alice)

        # Terraform, its provider and its provisioner died with the worker; so did its directory.
        _wait_for(lambda: not running(), timeout=15, what=lambda: f"these to die: {running()}")
        _wait_for(lambda: not root.exists(), timeout=15, what=f"{root} to be removed")
        assert time.monotonic() - killed_at < 15
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for pid, (_, started) in terraform.items():  # had the guard failed: leave nothing behind
            if process_running(pid, started):
                os.kill(pid, signal.SIGKILL)

    # Nothing committed is lost: every version saved before is there, and decrypts.
    after = _states(deployment)
    assert {v: after.get(v) for v in before} == before

    # Once the lease has expired, the run is recovered as failed.
    _wait_for(
        lambda: not lease_is_live(Deployment.objects.get(pk=deployment.pk)),
        timeout=LEASE + 30, what="the dead worker's lease to expire",
    )  # fmt: skip
    assert runs_recover_abandoned(deployment_id=deployment.pk) == 1
    apply.refresh_from_db()
    assert (apply.status, apply.error) == (RunStatus.FAILED, ABANDONED)
    assert "Hello, second!" in apply.log
    assert apply.log.endswith(f"[mcloud] Failed: {ABANDONED}\n")
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.FAILED

    # The lock the killed Terraform left is an admin's to force open, as any stale lock.
    assert state_force_unlock(deployment=deployment, user=alice)

    # And the next plan and apply succeed, from the state saved before.
    _change(deployment, alice, name="third")
    plan = planned(deployment, alice)
    assert plan.status == RunStatus.PLANNED, plan.log
    assert plan.state_serial == before[max(before)][0]
    done = applied(plan, alice)
    assert done.status == RunStatus.APPLIED, done.log
    assert done.outputs["message"]["value"] == "Hello, third!"
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.ACTIVE
    assert (deployment.state_lock_id, deployment.lease_token) == ("", "")
    final = _states(deployment)
    assert {v: final[v] for v in after} == after
    assert max(final) > max(after)


def _log(run_id: int) -> str:
    return DeploymentRun.objects.values_list("log", flat=True).get(pk=run_id)
