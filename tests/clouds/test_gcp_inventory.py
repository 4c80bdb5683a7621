"""The GCP adapter's inventory: google-cloud-compute and -storage against the local fake."""

from __future__ import annotations

import pytest

from mcloud.clouds.base import CloudError, Endpoints, GcpCredentials, ResourceType, Status
from mcloud.clouds.gcp import GcpAdapter

PROJECT = "acme-prod"
OTHER = "acme-secret"  # exists, but the service account may not read it


@pytest.fixture
def key(gcp):
    gcp.faults.retry_after = 0
    gcp.add_project(OTHER)
    return gcp.add_service_account(PROJECT)


def adapter(gcp, key, *projects: str) -> GcpAdapter:
    return GcpAdapter(
        GcpCredentials(key_info=key, project_ids=projects or (PROJECT,)),
        Endpoints(
            gcp_compute_endpoint=gcp.url,
            gcp_storage_endpoint=gcp.url,
            gcp_token_uri=f"{gcp.url}/token",
            retries=3,
        ),
    )


def by_name(records) -> dict:
    return {(r.type, r.name): r for r in records}


def test_scopes_are_the_projects(gcp, key):
    assert adapter(gcp, key, PROJECT, OTHER).scopes() == [PROJECT, OTHER]


def test_every_type_comes_back_normalized(gcp, key):
    web = gcp.add_instance(
        PROJECT,
        zone="europe-west1-b",
        name="web-1",
        machine_type="n2-standard-2",
        labels={"env": "prod"},
        internal_ip="10.132.0.5",
        external_ip="34.1.2.3",
        network_tags=["http-server", "web"],
    )
    gcp.add_disk(PROJECT, zone="europe-west1-b", name="web-data", size_gb=200, users=["web-1"])
    gcp.add_disk(PROJECT, name="spare", disk_type="pd-ssd", labels={"keep": "yes"})
    gcp.add_network(PROJECT, name="default")
    gcp.add_network(PROJECT, name="custom", auto_create_subnetworks=False)
    gcp.add_bucket(PROJECT, name="acme-logs", location="US", labels={"team": "ops"})
    gcp.add_bucket(PROJECT, name="acme-eu", location="europe-west1", storage_class="NEARLINE")
    gcp.add_instance(OTHER, name="not-ours")

    records = by_name(adapter(gcp, key).list_scope(PROJECT))

    assert sorted(records) == [
        ("disk", "spare"),
        ("disk", "web-data"),
        ("network", "custom"),
        ("network", "default"),
        ("storage", "acme-eu"),
        ("storage", "acme-logs"),
        ("vm", "web-1"),
    ]
    vm = records["vm", "web-1"]
    assert vm.resource_id == f"projects/{PROJECT}/zones/europe-west1-b/instances/web-1"
    assert (vm.type, vm.region, vm.status) == (ResourceType.VM, "europe-west1", Status.RUNNING)
    assert vm.tags == {"env": "prod"}
    assert vm.metadata == {
        "machine_type": "n2-standard-2",
        "private_ip": "10.132.0.5",
        "public_ip": "34.1.2.3",
        "network": f"projects/{PROJECT}/global/networks/default",
        "subnetwork": f"projects/{PROJECT}/regions/europe-west1/subnetworks/default",
        "zone": "europe-west1-b",
        "network_tags": ["http-server", "web"],
        "instance_id": web["id"],
        "provider_status": "RUNNING",
        "cost_per_hour": 0.0971,
        "created": vm.created_at.isoformat(),
    }
    data = records["disk", "web-data"]
    assert data.resource_id == f"projects/{PROJECT}/zones/europe-west1-b/disks/web-data"
    assert (data.region, data.status) == ("europe-west1", Status.IN_USE)
    assert data.metadata == {
        "size_gb": 200,
        "disk_type": "pd-balanced",
        "zone": "europe-west1-b",
        "users": [vm.resource_id],
        "provider_status": "READY",
    }
    spare = records["disk", "spare"]
    assert (spare.status, spare.tags, spare.metadata["size_gb"]) == (
        Status.AVAILABLE,
        {"keep": "yes"},
        10,
    )
    default, custom = records["network", "default"], records["network", "custom"]
    assert (default.region, default.status) == ("global", Status.AVAILABLE)
    assert default.resource_id == f"projects/{PROJECT}/global/networks/default"
    assert default.metadata["auto_create_subnetworks"] is True
    assert "europe-west1/default" in default.metadata["subnetworks"]
    assert default.metadata["subnetwork_count"] == len(default.metadata["subnetworks"]) > 1
    assert custom.metadata["subnetworks"] == []
    assert custom.metadata["routing_mode"] == "REGIONAL"
    logs, eu = records["storage", "acme-logs"], records["storage", "acme-eu"]
    assert (logs.region, logs.status, logs.tags) == ("us", Status.AVAILABLE, {"team": "ops"})
    assert logs.metadata["storage_class"] == "STANDARD"
    assert logs.metadata["location_type"] == "multi-region"
    assert (eu.region, eu.metadata["storage_class"]) == ("europe-west1", "NEARLINE")
    assert all(r.created_at is not None for r in records.values())


def test_statuses_map_and_stay_in_metadata(gcp, key):
    expected = {
        "RUNNING": Status.RUNNING,
        "PROVISIONING": Status.PENDING,
        "STAGING": Status.PENDING,
        "REPAIRING": Status.PENDING,
        "STOPPING": Status.STOPPING,
        "SUSPENDING": Status.STOPPING,
        "TERMINATED": Status.STOPPED,
        "SUSPENDED": Status.STOPPED,
        "STOPPED": Status.STOPPED,
    }
    for status in expected:
        gcp.add_instance(PROJECT, name=f"vm-{status.lower()}", status=status)
    gcp.add_disk(PROJECT, name="attached", users=["vm-terminated"])
    gcp.add_disk(PROJECT, name="unattached")
    gcp.add_disk(PROJECT, name="creating", status="CREATING")
    gcp.add_disk(PROJECT, name="failed", status="FAILED")

    records = by_name(adapter(gcp, key).list_scope(PROJECT))

    for status, normalized in expected.items():
        vm = records["vm", f"vm-{status.lower()}"]
        assert (vm.status, vm.metadata["provider_status"]) == (normalized, status)
    assert records["disk", "attached"].status == Status.IN_USE
    assert records["disk", "unattached"].status == Status.AVAILABLE
    assert records["disk", "creating"].status == Status.PENDING
    assert records["disk", "failed"].status == Status.ERROR


def test_every_page_is_read(gcp, key):
    gcp.page_size = 10
    zones = ("us-central1-a", "europe-west1-c", "asia-east1-b")
    for n in range(25):
        gcp.add_instance(PROJECT, zone=zones[n % 3], name=f"vm-{n:02}")
    for n in range(12):
        gcp.add_disk(PROJECT, zone=zones[n % 3], name=f"disk-{n:02}")
    for n in range(11):
        gcp.add_bucket(PROJECT, name=f"acme-bucket-{n:02}")

    records = adapter(gcp, key).list_scope(PROJECT)

    vms = [r for r in records if r.type == ResourceType.VM]
    assert sorted(r.name for r in vms) == [f"vm-{n:02}" for n in range(25)]
    assert {r.region for r in vms} == {"us-central1", "europe-west1", "asia-east1"}
    assert len([r for r in records if r.type == ResourceType.DISK]) == 12
    assert len([r for r in records if r.type == ResourceType.STORAGE]) == 11
    paths = [path for _, path in gcp.requests]
    assert paths.count(f"/compute/v1/projects/{PROJECT}/aggregated/instances") == 3
    assert paths.count("/storage/v1/b") == 2


def test_throttling_and_server_errors_are_retried(gcp, key):
    gcp.page_size = 2
    for n in range(5):
        gcp.add_instance(PROJECT, name=f"vm-{n}", status="TERMINATED" if n % 2 else "RUNNING")
    gcp.add_disk(PROJECT, name="disk-1")
    gcp.add_network(PROJECT, name="default")
    gcp.add_bucket(PROJECT, name="acme-logs")
    clean = adapter(gcp, key).list_scope(PROJECT)

    gcp.faults.fail_next("429")
    gcp.faults.fail_next("500")
    assert adapter(gcp, key).list_scope(PROJECT) == clean
    assert gcp.faults.injected == 2


def test_a_stalled_answer_is_retried(gcp, key):
    """A read that times out is asked again (within the overall deadline), not given up."""
    gcp.add_instance(PROJECT, name="vm-1")
    fast = GcpAdapter(
        GcpCredentials(key_info=key, project_ids=(PROJECT,)),
        Endpoints(gcp_compute_endpoint=gcp.url, gcp_storage_endpoint=gcp.url,
                  gcp_token_uri=f"{gcp.url}/token", timeout=1, retries=3),
    )  # fmt: skip
    gcp.faults.slow_seconds = 2
    gcp.faults.fail_next("slow")
    records = fast.list_scope(PROJECT)
    assert [r.name for r in records] == ["vm-1"]
    assert gcp.faults.injected == 1


def test_cloud_storage_retries_throttling_too(gcp, key):
    gcp.add_bucket(PROJECT, name="acme-logs")
    gcp.faults.fail_next("429")
    gcp.faults.fail_next("500")
    buckets = list(adapter(gcp, key)._buckets(PROJECT))
    assert [b["name"] for b in buckets] == ["acme-logs"]
    assert gcp.faults.injected == 2


def test_a_project_without_access_is_a_permanent_cloud_error(gcp, key):
    with pytest.raises(CloudError) as failure:
        adapter(gcp, key, OTHER).list_scope(OTHER)
    assert failure.value.permanent
    assert failure.value.code == "Forbidden"
    assert failure.value.message == (
        f"GCP denied the request to list the instances of project {OTHER} "
        f"(Required 'compute.instances.list' permission for 'projects/{OTHER}')"
    )
    assert key["private_key_id"] not in failure.value.message
