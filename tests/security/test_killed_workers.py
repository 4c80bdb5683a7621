"""A worker killed with SIGKILL in the middle of a cost import: nothing committed is lost,
the lease is recovered, the run is marked failed, and the next import succeeds. (Syncs:
tests/inventory/test_sync_concurrency.py; Terraform runs: tests/provisioning.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CostData, ImportRun
from billing.services.imports import cost_import
from inventory.models import CloudAccount
from tests.billing.costs import daily, store
from tests.inventory.factories import azure_account
from tests.processes import ROOT, app_env

pytestmark = pytest.mark.django_db(transaction=True)

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
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
