"""A worker killed with SIGKILL in the middle of a cost import or a Terraform apply, and a whole
q2 cluster killed mid-sync and mid-apply: nothing committed is lost, the next request for work
recovers the dead runs (failed, audited, their state lock released) and acts at once, and the
next run succeeds without an admin; Terraform dies with its worker.
(A killed `sync_accounts`: tests/inventory/test_sync_concurrency.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

from accounts.models import AuditEvent
from billing.models import CostData, CostImportLease, ImportRun
from billing.services.imports import cost_import
from emulators.proxy import ForwardingProxy
from inventory.models import CloudAccount, Resource, SyncRun
from inventory.services.sync import SYNC_ABANDONED
from mcloud.errors import ActionRefused
from mcloud.leases import runs_recover
from provisioning.models import Deployment, DeploymentRun, DeploymentState
from provisioning.services.deployments import (
    deployment_update,
    state_force_unlock,
    values_validate,
)
from provisioning.services.runs import DEPLOYMENT_RUNS, RUN_ABANDONED, run_approve
from provisioning.services.state import deployment_lease_live, lock_description
from tests.billing.costs import daily, store
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account, azure_account
from tests.processes import ROOT, app_env, process_running, processes_in, running
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
        "LEASE_SECONDS": "2",
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
    lease = CostImportLease.objects.get(account=account)
    assert lease.lease_until is not None  # still held...
    settings.LEASE_SECONDS = 2
    assert cost_import(account=account) is None  # ...so an import now waits its turn
    _wait_for(
        lambda: CostImportLease.objects.get(account=account).lease_until < timezone.now(),
        timeout=10,
    )  # ...until it expires

    azure.faults.clear()
    run = cost_import(account=account)
    assert run.status == "succeeded", run.error
    dead.refresh_from_db()
    assert (dead.status, dead.error.startswith("Abandoned")) == ("failed", True)
    recovered = AuditEvent.objects.get(action="costs.import_failed", data__run=dead.pk)
    assert recovered.data["recovered"] is True
    assert CostData.objects.filter(
        date=today - timedelta(days=1), service="Storage", amount=Decimal(9)
    ).exists()
    assert CostData.objects.filter(date__lt=run.start).count() == len(
        [d for d in before if d[0] < run.start]
    )


# --- a Terraform apply --------------------------------------------------------------------------

LEASE = 5  # seconds: the killed worker's lease outlives it by at most this much
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
    org, alice, hello_version, settings, tmp_path, run_dir
):
    settings.LEASE_SECONDS = LEASE
    deployment = make_deployment(org, alice, hello_version, "killed", name="first",
                                 secret_token=SECRET)  # fmt: skip
    first = applied(planned(deployment, alice), alice)
    assert first.status == RunStatus.APPLIED, first.log
    before = _states(deployment)
    assert before

    # An apply whose provisioner sleeps ten minutes, in a worker process of its own.
    _change(deployment, alice, name="second", sleep_seconds="600")
    apply = run_approve(plan_run=planned(deployment, alice), user=alice, enqueue=False)
    workdirs = run_dir  # the worker's TMPDIR, where Terraform's directories go
    errors = tmp_path / "worker.err"
    code = f"from provisioning.tasks import run_execute; run_execute({apply.pk})"
    with errors.open("wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
            env=app_env(LEASE_SECONDS=str(LEASE), TMPDIR=str(workdirs)),
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
        assert deployment_lease_live(deployment)
        assert DeploymentRun.objects.get(pk=apply.pk).status == RunStatus.RUNNING
        lock = lock_description(deployment)
        assert (lock["operation"], lock["run_id"]) == ("Apply", apply.pk)
        assert runs_recover(DEPLOYMENT_RUNS, owner_id=deployment.pk) == 0
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

    # Once the lease has expired, the next plan recovers the run (failed, its state lock
    # released, both audited) and succeeds, from the state saved before: no Force unlock.
    _wait_for(
        lambda: not deployment_lease_live(Deployment.objects.get(pk=deployment.pk)),
        timeout=LEASE + 30, what="the dead worker's lease to expire",
    )  # fmt: skip
    assert DeploymentRun.objects.get(pk=apply.pk).worker_lost
    replan = planned(deployment, alice)  # a request for work: it recovers first
    assert replan.status == RunStatus.PLANNED, replan.log
    apply.refresh_from_db()
    assert (apply.status, apply.error) == (RunStatus.FAILED, RUN_ABANDONED)
    assert "Hello, second!" in apply.log
    assert apply.log.endswith(
        f"[mcloud] Failed: {RUN_ABANDONED}\n[mcloud] Released the state lock its Terraform held.\n"
    )
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.FAILED
    assert lock_description(deployment) is None
    unlocked = AuditEvent.objects.get(action="deployment.state_unlocked")
    assert (unlocked.actor_label, unlocked.data["run"]) == ("provisioning recovery", apply.pk)
    assert AuditEvent.objects.filter(action="deployment.failed", data__run=apply.pk).exists()

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
    assert not AuditEvent.objects.filter(action="deployment.state_unlocked", actor__isnull=False)


def _log(run_id: int) -> str:
    return DeploymentRun.objects.values_list("log", flat=True).get(pk=run_id)


# --- a whole q2 cluster -------------------------------------------------------------------------

CLUSTER_LEASE = 3  # seconds
REGIONS = ["eu-west-1", "us-east-1", "eu-central-1"]


@pytest.fixture
def broker(monkeypatch):
    """Tasks go to the broker for a real cluster, as in production, not inline (Q_SYNC)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    found = get_broker()
    found.purge_queue()
    return found


def _kill_cluster(cluster: subprocess.Popen) -> None:
    """SIGKILL to the cluster's whole process group (master, sentinel, workers, monitor), as
    the OOM killer or a host going down would."""
    os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=10)


def _sync_now(client: Client, account: CloudAccount) -> int:
    """Press "Sync now": the id of the run the answer shows."""
    url = reverse("inventory:sync_now", args=[account.pk])
    body = client.post(url, headers={"HX-Request": "true"}).content.decode()
    found = re.search(r'hx-get="/sync-runs/(\d+)/progress/"', body)
    assert found, body
    return int(found.group(1))


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds processes in /proc")
def test_a_q2_cluster_killed_mid_sync_and_mid_apply_blocks_nothing(
    aws, org, alice, bob, login, hello_version, tmp_path, broker, run_dir
):
    for region in REGIONS:
        aws_estate.instances(aws, region, 3)
    account = aws_account(org, aws.create_user_key("reader"), regions=REGIONS)
    member = login(bob)
    workdirs = run_dir  # the workers' TMPDIR, where Terraform's directories go
    terraform: dict[int, tuple[str, str]] = {}  # every process seen in there

    def terraform_running() -> list[str]:
        terraform.update(processes_in(workdirs))
        return [name for pid, (name, t) in terraform.items() if process_running(pid, t)]

    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.set(latency=0.3)  # a region takes a second or so: the kill is mid-sync
        env = {
            "AWS_ENDPOINT_URL": proxy.url, "LEASE_SECONDS": str(CLUSTER_LEASE),
            "Q_WORKERS": "1", "SYNC_CONCURRENCY": "1", "LOG_LEVEL": "WARNING",
            "TMPDIR": str(workdirs),
        }  # fmt: skip
        try:
            # 1. A sync, its cluster killed once the first region is written.
            first = _sync_now(member, account)
            with running("qcluster", **env) as cluster:
                _wait_for(
                    lambda: SyncRun.objects.filter(pk=first, scopes_done__gte=1).exists(),
                    timeout=120, what="the sync's first region",
                )  # fmt: skip
                _kill_cluster(cluster)
            dead = SyncRun.objects.get(pk=first)
            assert (dead.status, dead.scopes_done < dead.scopes_total) == ("running", True)
            _wait_for(
                lambda: SyncRun.objects.get(pk=first).worker_lost,
                timeout=CLUSTER_LEASE + 10, what="the dead sync's lease to expire",
            )  # fmt: skip
            progress = reverse("inventory:sync_run_progress", args=[first])
            assert "Worker lost, recovering." in member.get(progress).content.decode()

            # "Sync now" right after: the dead run is failed and audited, and a new one starts.
            second = _sync_now(member, account)
            assert second != first
            dead.refresh_from_db()
            assert (dead.status, dead.error) == (SyncRun.State.FAILED, SYNC_ABANDONED)
            assert AuditEvent.objects.filter(
                action="sync.failed", data__run=first, data__recovered=True
            ).exists()
            assert broker.queue_size() == 1  # the new run, queued once

            # 2. A new cluster runs the new sync, then an apply, and is killed mid-apply.
            deployment = make_deployment(
                org, alice, hello_version, "q2", name="q2", sleep_seconds="600",
                secret_token=SECRET,
            )  # fmt: skip
            plan = planned(deployment, alice)  # in this process
            assert plan.status == RunStatus.PLANNED, plan.log
            with running("qcluster", **env) as cluster:
                _wait_for(
                    lambda: SyncRun.objects.get(pk=second).is_final, timeout=120,
                    what="the new sync",
                )  # fmt: skip
                apply = run_approve(plan_run=plan, user=alice)  # queued for the cluster
                _wait_for(
                    lambda: "Hello, q2!" in _log(apply.pk) and "sleep" in terraform_running(),
                    timeout=180, what="the apply's provisioner to sleep",
                )  # fmt: skip
                _kill_cluster(cluster)
            new = SyncRun.objects.get(pk=second)
            assert new.status == SyncRun.State.SUCCEEDED, new.error
            assert Resource.objects.filter(account=account, type="vm").count() == 9
            assert Resource.objects.values("resource_id").distinct().count() == (
                Resource.objects.count()
            )
            # Terraform died with its worker; its lock stays until the run is recovered.
            _wait_for(lambda: not terraform_running(), timeout=15, what="Terraform to die")
            assert lock_description(Deployment.objects.get(pk=deployment.pk))["run_id"] == apply.pk
            _wait_for(
                lambda: DeploymentRun.objects.get(pk=apply.pk).worker_lost,
                timeout=CLUSTER_LEASE + 10, what="the dead apply's lease to expire",
            )  # fmt: skip

            # "Plan" right after: the apply is failed and audited, its lock released, no
            # Force unlock; the plan runs on a new cluster and succeeds.
            response = member.post(reverse("provisioning:deployment_plan", args=[deployment.pk]))
            replan = DeploymentRun.objects.filter(deployment=deployment).latest("pk")
            assert response.url == reverse("provisioning:run_detail", args=[replan.pk])
            apply.refresh_from_db()
            assert (apply.status, apply.error) == (RunStatus.FAILED, RUN_ABANDONED)
            assert AuditEvent.objects.filter(
                action="deployment.failed", data__run=apply.pk
            ).exists()
            unlocked = AuditEvent.objects.get(action="deployment.state_unlocked")
            assert (unlocked.actor_label, unlocked.data["run"]) == (
                "provisioning recovery", apply.pk
            )  # fmt: skip
            assert Deployment.objects.get(pk=deployment.pk).state_lock_id == ""
            with running("qcluster", **env):
                _wait_for(
                    lambda: DeploymentRun.objects.get(pk=replan.pk).is_final, timeout=180,
                    what="the next plan",
                )  # fmt: skip
            replan.refresh_from_db()
            assert replan.status == RunStatus.PLANNED, replan.log
        finally:
            for pid, (_, started) in terraform.items():  # had the guard failed
                if process_running(pid, started):
                    os.kill(pid, signal.SIGKILL)
