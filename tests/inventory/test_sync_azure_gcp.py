"""Syncing Azure and GCP accounts through the real sync code and SDKs, against the fakes."""

from __future__ import annotations

import pytest

from inventory.models import Resource, SyncRun
from inventory.pricing import hourly_usd
from inventory.services.sync import cloud_account_sync
from tests.inventory.factories import azure_account, gcp_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBS = ["aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"]


def test_an_azure_account_syncs_every_subscription(azure, org):
    azure.graph_page_size = 5
    for i, sub in enumerate(SUBS):
        azure.add_subscription(sub, f"Sub {i}", TENANT)
        for n in range(7):
            azure.add_vm(
                sub,
                name=f"vm-{i}-{n}",
                power_state="running" if n else "deallocated",
                tags={"team": "web"},
            )
        azure.add_disk(sub, name=f"disk-{i}")
        azure.add_storage_account(sub, name=f"store{i}acct")
        azure.add_virtual_network(sub, name=f"vnet-{i}")
    azure.add_app(TENANT, CLIENT, "secret", SUBS)
    account = azure_account(org, TENANT, CLIENT, "secret", SUBS)

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert run.scopes_total == 2
    rows = Resource.objects.filter(account=account)
    assert rows.filter(type="vm").count() == 14
    assert rows.filter(type="vm", status="stopped").count() == 2
    stopped = rows.get(name="vm-0-0")
    assert stopped.metadata["provider_status"] == "deallocated"
    assert (stopped.scope, stopped.region, stopped.tags) == (SUBS[0], "westeurope", {"team": "web"})
    hourly = hourly_usd("azure", stopped.metadata["vm_size"], "westeurope")
    assert hourly is not None
    assert stopped.monthly_estimate == hourly * 730  # the catalog's list price, an estimate
    assert {r.type for r in rows} == {"vm", "disk", "storage", "network", "subnet"}

    azure.set_power_state(stopped.resource_id, "running")
    azure.remove(rows.get(name="vnet-1").resource_id)
    run = cloud_account_sync(account=account)
    assert (run.updated, run.removed) == (1, 2)  # the network and its subnet
    assert rows.get(name="vm-0-0").status == "running"
    assert rows.get(name="vnet-1").deleted_at is not None


def test_a_gcp_account_syncs_every_project(gcp, org):
    gcp.page_size = 4
    key = gcp.add_service_account("acme-prod", projects=["acme-prod", "acme-data"])
    for project in ("acme-prod", "acme-data"):
        for n, zone in enumerate(["us-central1-a", "us-central1-b", "europe-west1-b"] * 3):
            gcp.add_instance(
                project,
                zone=zone,
                name=f"{project}-vm-{n}",
                status="TERMINATED" if n == 0 else "RUNNING",
                labels={"env": "prod"},
                external_ip="34.1.2.3" if n == 1 else None,
            )
        gcp.add_disk(project, name=f"{project}-data", size_gb=50)
        gcp.add_network(project, name=f"{project}-net")
        gcp.add_bucket(project, name=f"{project}-assets", location="EU")
    account = gcp_account(org, key, ["acme-prod", "acme-data"])

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    rows = Resource.objects.filter(account=account)
    assert rows.filter(type="vm").count() == 18
    first = rows.get(name="acme-prod-vm-0")
    assert (first.status, first.region, first.metadata["zone"]) == (
        "stopped",
        "us-central1",
        "us-central1-a",
    )
    assert rows.get(name="acme-prod-vm-1").metadata["public_ip"] == "34.1.2.3"
    assert rows.get(name="acme-data-assets").region == "eu"
    assert {r.type for r in rows} == {"vm", "disk", "storage", "network", "subnet"}


def test_a_project_without_access_fails_alone(gcp, org):
    key = gcp.add_service_account("acme-prod")
    gcp.add_instance("acme-prod", name="web-1")
    gcp.add_project("not-ours")
    account = gcp_account(org, key, ["acme-prod", "not-ours"])
    run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.PARTIAL
    assert list(run.scope_errors) == ["not-ours"]
    assert Resource.objects.filter(account=account, name="web-1").exists()


def test_a_gcp_api_denied_keeps_the_stored_resources_it_lists(gcp, org):
    """PERMISSION_DENIED on Compute keeps the stored instances (not tombstoned, not seen);
    on Cloud Asset Inventory, everything but the instances. Both denied: the project fails
    and nothing moves."""
    key = gcp.add_service_account("acme-prod")
    gcp.add_instance("acme-prod", name="web-1")
    gcp.add_disk("acme-prod", name="data", size_gb=10)
    account = gcp_account(org, key)
    cloud_account_sync(account=account)
    rows = Resource.objects.filter(account=account)
    before = {r.name: (r.deleted_at, r.last_seen) for r in rows}
    assert {"web-1", "data"} <= set(before)

    gcp.deny_service(key["client_email"], "compute")
    run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert (run.removed, rows.get(name="web-1").last_seen) == (0, before["web-1"][1])
    assert rows.get(name="data").last_seen > before["data"][1]  # listed through assets
    assert run.notes == [
        "1 item skipped: not listed: GCP denied access (PERMISSION_DENIED) "
        "(in project acme-prod: Compute Engine instances)",
        "1 stored resource kept as it was: vm not listed (access denied) (in project acme-prod)",
    ]

    gcp.deny_service(key["client_email"], "compute", denied=False)
    gcp.deny_service(key["client_email"], "cloudasset")
    run = cloud_account_sync(account=account)
    assert run.removed == 0
    assert not rows.filter(deleted_at__isnull=False).exists()
    assert rows.get(name="web-1").last_seen > before["web-1"][1]
    assert "Cloud Asset Inventory" in run.notes[0]

    gcp.deny_service(key["client_email"], "compute")
    run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.FAILED
    assert "denied" in run.scope_errors["acme-prod"]
    assert not rows.filter(deleted_at__isnull=False).exists()
