"""The GCP adapter's inventory: google-cloud-compute and google-cloud-asset against the fake."""

from __future__ import annotations

import pytest

from mcloud.clouds.base import CloudError, Endpoints, GcpCredentials, ResourceType, Status
from mcloud.clouds.gcp import ASSET_TYPES, GcpAdapter

PROJECT = "acme-prod"
OTHER = "acme-secret"  # exists, but the service account may not read it
COMPUTE = "https://www.googleapis.com/compute/v1"
ASSETS = f"/v1/projects/{PROJECT}/assets"


@pytest.fixture
def key(gcp):
    gcp.faults.retry_after = 0
    gcp.add_project(OTHER)
    return gcp.add_service_account(PROJECT)


def adapter(gcp, key, *projects: str, **endpoints) -> GcpAdapter:
    return GcpAdapter(
        GcpCredentials(key_info=key, project_ids=projects or (PROJECT,)),
        Endpoints(
            gcp_compute_endpoint=gcp.url,
            gcp_asset_endpoint=gcp.url,
            gcp_token_uri=f"{gcp.url}/token",
            **{"retries": 3, **endpoints},
        ),
    )


def by_name(records) -> dict:
    return {(r.type, r.name): r for r in records}


def test_scopes_are_the_projects(gcp, key):
    assert adapter(gcp, key, PROJECT, OTHER).scopes() == [PROJECT, OTHER]


def test_machines_disks_networks_and_buckets_come_back_normalized(gcp, key):
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

    assert sorted(k for k in records if k[0] != ResourceType.SUBNET) == [
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
        "provider_type": "compute.googleapis.com/Instance",
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
        "source_image": None,
        "source_snapshot": None,
        "provider_status": "READY",
        "provider_type": "compute.googleapis.com/Disk",
    }
    assert data.attached_to == [vm.resource_id]
    # The VM's boot disk is disks/web-1, which this project does not hold; its data disk is.
    assert data.resource_id in vm.attached_to
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
    assert (default.metadata["mtu"], default.metadata["routing_mode"]) == (1460, "REGIONAL")
    assert custom.metadata["subnetworks"] == []
    subnet = records["subnet", "default"]  # one per region, all named like the network
    assert subnet.attached_to == [default.resource_id]
    assert vm.metadata["subnetwork"] in vm.attached_to
    assert default.resource_id in vm.attached_to
    logs, eu = records["storage", "acme-logs"], records["storage", "acme-eu"]
    assert logs.resource_id == "projects/_/buckets/acme-logs"
    assert (logs.region, logs.status, logs.tags) == ("us", Status.AVAILABLE, {"team": "ops"})
    assert logs.metadata["storage_class"] == "STANDARD"
    assert logs.metadata["location_type"] == "multi-region"
    assert (eu.region, eu.metadata["storage_class"]) == ("europe-west1", "NEARLINE")
    assert all(r.created_at is not None for r in records.values())


def _estate(gcp) -> None:
    """One of everything, wired together as a team would."""
    gcp.add_network(PROJECT, name="default")
    gcp.add_network(PROJECT, name="prod", auto_create_subnetworks=False)
    gcp.add_subnetwork(PROJECT, name="prod-app", region="us-central1", network="prod",
                       cidr="10.20.0.0/24")  # fmt: skip
    gcp.add_firewall(PROJECT, name="allow-ssh", network="default")  # every VM of default
    gcp.add_firewall(PROJECT, name="allow-web", network="default", ports=["80", "443"],
                     target_tags=["web"])  # fmt: skip
    gcp.add_firewall(PROJECT, name="allow-db", network="prod", target_tags=["web"])
    web = gcp.add_instance(PROJECT, name="web-1", network_tags=["web"], external_ip="34.1.2.3",
                           boot_disk="web-1-boot")  # fmt: skip
    gcp.add_instance(PROJECT, name="batch-1", status="TERMINATED", boot_disk="batch-1-boot")
    gcp.add_disk(PROJECT, name="web-1-boot", users=["web-1"])
    gcp.add_disk(PROJECT, name="batch-1-boot", users=["batch-1"])
    gcp.add_snapshot(PROJECT, name="web-1-nightly", source_disk="us-central1-a/web-1-boot")
    gcp.add_address(PROJECT, name="web-ip", region="us-central1", address="34.1.2.3",
                    users=[web["selfLink"]])  # fmt: skip
    gcp.add_address(PROJECT, name="spare-ip", region="us-central1", address="34.1.2.4")
    gcp.add_address(PROJECT, name="nat-ip", region="us-central1", address="34.1.2.5")
    gcp.add_router(PROJECT, name="nat-router", region="us-central1", network="prod",
                   nat="prod-nat", nat_ips=["nat-ip"])  # fmt: skip
    gcp.add_router(PROJECT, name="bgp-only", region="us-central1", network="prod")
    api = gcp.add_instance_group_manager(PROJECT, name="api", zone="us-central1-b", size=2)
    service = gcp.add_backend_service(PROJECT, name="api-backend", groups=[api["instanceGroup"]])
    gcp.add_url_map(PROJECT, name="api-map", default_service="api-backend")
    proxy = gcp.add_target_proxy(PROJECT, name="api-proxy", url_map="api-map")
    lb_ip = gcp.add_address(PROJECT, name="api-ip", address="34.9.9.9")
    gcp.add_forwarding_rule(PROJECT, name="api-https", ip_address="34.9.9.9",
                            target=proxy["selfLink"], address=lb_ip["selfLink"])  # fmt: skip
    assert service["backends"]
    gcp.add_cluster(PROJECT, name="apps", location="us-central1-a",
                    node_pools=[("default-pool", 2, "e2-standard-4")],
                    labels={"team": "platform"})  # fmt: skip
    gcp.add_sql_instance(PROJECT, name="orders", private_network="prod", labels={"env": "prod"})
    gcp.add_sql_instance(PROJECT, name="reports", activation_policy="NEVER")
    gcp.add_firestore_database(PROJECT)
    gcp.add_topic(PROJECT, name="orders", labels={"team": "payments"})
    gcp.add_function(PROJECT, name="on-order", topic="orders")
    gcp.add_run_service(PROJECT, name="checkout", sql_instances=["orders"], network="prod",
                        subnetwork="prod-app")  # fmt: skip
    gcp.add_bucket(PROJECT, name="acme-assets", labels={"team": "web"})
    gcp.add_dns_zone(PROJECT, name="acme-public", dns_name="acme.example.")
    gcp.add_dns_zone(PROJECT, name="acme-internal", dns_name="internal.acme.",
                     private_networks=["prod"])  # fmt: skip


def test_every_type_comes_back_attached_to_what_it_uses(gcp, key):
    _estate(gcp)
    listing = adapter(gcp, key).list_scope(PROJECT)
    records = {r.resource_id: r for r in listing}
    names = by_name(listing)

    assert listing.skips == []
    assert {r.type for r in listing} == {
        "vm", "vm_group", "disk", "snapshot", "storage", "network", "subnet", "firewall",
        "load_balancer", "ip_address", "nat_gateway", "database", "nosql", "kubernetes",
        "function", "topic", "dns_zone",
    }  # fmt: skip
    # Every id anything is attached to is a listed resource (boot disks, subnets, rules...).
    dangling = {(r.name, a) for r in listing for a in r.attached_to if a not in records}
    assert dangling == set()

    def links(kind: str, name: str) -> set[tuple[str, str]]:
        return {(records[a].type, records[a].name) for a in names[kind, name].attached_to}

    assert links("vm", "web-1") == {
        ("disk", "web-1-boot"), ("network", "default"), ("subnet", "default"),
        ("firewall", "allow-ssh"), ("firewall", "allow-web"), ("ip_address", "web-ip"),
    }  # fmt: skip
    assert ("firewall", "allow-web") not in links("vm", "batch-1")  # not tagged "web"
    assert links("disk", "web-1-boot") == {("vm", "web-1")}
    assert links("snapshot", "web-1-nightly") == {("disk", "web-1-boot")}
    assert links("subnet", "prod-app") == {("network", "prod")}
    assert links("firewall", "allow-db") == {("network", "prod")}
    assert links("ip_address", "web-ip") == {("vm", "web-1")}
    assert links("ip_address", "spare-ip") == set()
    assert (names["ip_address", "spare-ip"].status, names["ip_address", "web-ip"].status) == (
        Status.AVAILABLE,
        Status.IN_USE,
    )
    assert links("nat_gateway", "nat-router") == {
        ("subnet", "prod-app"), ("network", "prod"), ("ip_address", "nat-ip"),
    }  # fmt: skip
    assert ("nat_gateway", "bgp-only") not in names  # a router without NAT is no gateway
    api_vms = {("vm", n) for t, n in names if t == "vm" and n.startswith("api-")}
    assert len(api_vms) == 2
    assert links("vm_group", "api") == api_vms
    assert links("load_balancer", "api-backend") == api_vms | {("vm_group", "api")}
    assert links("load_balancer", "api-https") == api_vms | {
        ("vm_group", "api"), ("load_balancer", "api-backend"), ("ip_address", "api-ip"),
    }  # fmt: skip
    for vm in api_vms:
        assert {("load_balancer", "api-https"), ("load_balancer", "api-backend")} <= links(*vm)
    cluster = names["kubernetes", "apps"]
    assert cluster.resource_id == f"projects/{PROJECT}/locations/us-central1-a/clusters/apps"
    assert (cluster.region, cluster.status, cluster.tags) == (
        "us-central1", Status.RUNNING, {"team": "platform"},
    )  # fmt: skip
    assert cluster.metadata["node_count"] == 2
    assert links("kubernetes", "apps") == {("network", "default"), ("subnet", "default")}
    pool = names["vm_group", "default-pool"]
    node_group = next(r for r in listing if r.type == "vm_group" and r.name.startswith("gke-"))
    assert set(pool.attached_to) == {cluster.resource_id, node_group.resource_id}
    assert len(node_group.attached_to) == 2  # its two nodes
    orders, reports = names["database", "orders"], names["database", "reports"]
    assert (orders.status, reports.status) == (Status.RUNNING, Status.STOPPED)
    assert orders.metadata["engine"] == "POSTGRES_15"
    assert orders.tags == {"env": "prod"}
    assert links("database", "orders") == {("network", "prod")}
    assert names["nosql", "(default)"].region == "nam5"
    # A 2nd-gen function runs on a Cloud Run service of its name: two records, linked.
    function = records[f"projects/{PROJECT}/locations/us-central1/functions/on-order"]
    service = records[f"projects/{PROJECT}/locations/us-central1/services/on-order"]
    assert (function.type, service.type) == ("function", "function")
    assert function.attached_to == [service.resource_id, f"projects/{PROJECT}/topics/orders"]
    assert function.metadata["runtime"] == "python312"
    assert links("function", "checkout") == {
        ("database", "orders"), ("network", "prod"), ("subnet", "prod-app"),
    }  # fmt: skip
    assert names["topic", "orders"].tags == {"team": "payments"}
    assert links("dns_zone", "acme-internal") == {("network", "prod")}
    assert names["dns_zone", "acme-public"].metadata["visibility"] == "public"


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
    gcp.add_sql_instance(PROJECT, name="db-deleting", state="PENDING_DELETE")
    gcp.add_cluster(PROJECT, name="k-new", location="europe-west1", status="PROVISIONING")
    gcp.add_function(PROJECT, name="fn-broken", state="FAILED")
    gcp.add_run_service(PROJECT, name="run-broken", ready=False)

    listing = adapter(gcp, key).list_scope(PROJECT)
    records = by_name(listing)

    for status, normalized in expected.items():
        vm = records["vm", f"vm-{status.lower()}"]
        assert (vm.status, vm.metadata["provider_status"]) == (normalized, status)
    assert records["disk", "attached"].status == Status.IN_USE
    assert records["disk", "unattached"].status == Status.AVAILABLE
    assert records["disk", "creating"].status == Status.PENDING
    assert records["disk", "failed"].status == Status.ERROR
    assert records["database", "db-deleting"].status == Status.DELETING
    cluster = records["kubernetes", "k-new"]
    assert (cluster.status, cluster.region) == (Status.PENDING, "europe-west1")
    assert records["function", "run-broken"].status == Status.ERROR
    function = next(r for r in listing if r.resource_id.endswith("/functions/fn-broken"))
    assert (function.status, function.metadata["provider_status"]) == (Status.ERROR, "FAILED")


def test_every_page_is_read(gcp, key):
    gcp.page_size = 10
    zones = ("us-central1-a", "europe-west1-c", "asia-east1-b")
    for n in range(25):
        gcp.add_instance(PROJECT, zone=zones[n % 3], name=f"vm-{n:02}")
    for n in range(12):
        gcp.add_disk(PROJECT, zone=zones[n % 3], name=f"disk-{n:02}")
    for n in range(11):
        gcp.add_bucket(PROJECT, name=f"acme-bucket-{n:02}")
    for n in range(8):
        gcp.add_topic(PROJECT, name=f"topic-{n}")

    records = adapter(gcp, key).list_scope(PROJECT)

    vms = [r for r in records if r.type == ResourceType.VM]
    assert sorted(r.name for r in vms) == [f"vm-{n:02}" for n in range(25)]
    assert {r.region for r in vms} == {"us-central1", "europe-west1", "asia-east1"}
    assert len([r for r in records if r.type == ResourceType.DISK]) == 12
    assert len([r for r in records if r.type == ResourceType.STORAGE]) == 11
    assert len([r for r in records if r.type == ResourceType.TOPIC]) == 8
    paths = [path for _, path in gcp.requests]
    assert paths.count(f"/compute/v1/projects/{PROJECT}/aggregated/instances") == 3
    assert paths.count(ASSETS) == 4  # 31 assets, 10 a page


def test_only_the_types_of_the_inventory_are_asked_for(gcp, key):
    """Instances come from Compute (their live status), everything else from the asset
    inventory, which the fake answers only for the types it is sent."""
    gcp.add_instance(PROJECT, name="vm-1")
    gcp.add_disk(PROJECT, name="vm-1", users=["vm-1"])
    client = adapter(gcp, key)
    assert "compute.googleapis.com/Instance" not in ASSET_TYPES
    listed = [a.asset_type for a in client.assets(PROJECT, ASSET_TYPES)]
    assert listed == ["compute.googleapis.com/Disk"]
    everything = [a.asset_type for a in client.assets(PROJECT, ("compute.googleapis.com.*",))]
    assert everything == ["compute.googleapis.com/Disk", "compute.googleapis.com/Instance"]


def test_a_malformed_asset_is_skipped_not_fatal(gcp, key):
    gcp.add_disk(PROJECT, name="good")
    gcp.add_asset(PROJECT, "compute.googleapis.com/Disk", "", {"name": "no-id"},
                  location="us-central1-a")  # fmt: skip
    gcp.add_asset(PROJECT, "compute.googleapis.com/Disk", f"projects/{PROJECT}/zones/x/disks/inf",
                  {"name": "inf", "sizeGb": float("inf")}, location="x")  # fmt: skip
    gcp.add_asset(PROJECT, "compute.googleapis.com/Snapshot", f"projects/{PROJECT}/global/snap",
                  {"name": ["not", "text"], "status": {"odd": 1}, "users": 7,
                   "storageLocations": "us", "sourceDisk": 3}, location="us")  # fmt: skip

    listing = adapter(gcp, key).list_scope(PROJECT)

    records = by_name(listing)
    assert sorted(records) == [("disk", "good"), ("snapshot", "snap")]
    assert records["snapshot", "snap"].status == Status.UNKNOWN
    assert records["snapshot", "snap"].attached_to == []
    assert sorted(s.reason for s in listing.skips) == ["no id", "unreadable (ValueError)"]


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


def test_the_asset_inventory_is_retried_too(gcp, key):
    gcp.page_size = 2
    for n in range(5):
        gcp.add_topic(PROJECT, name=f"topic-{n}")
    client = adapter(gcp, key)
    list(client.instances(PROJECT))
    gcp.faults.fail_next("429")
    gcp.faults.fail_next("drop")
    gcp.faults.fail_next("500")
    names = [a.name.rsplit("/", 1)[-1] for a in client.assets(PROJECT, ASSET_TYPES)]
    assert names == [f"topic-{n}" for n in range(5)]
    assert gcp.faults.injected == 3


def test_a_stalled_answer_is_retried(gcp, key):
    """A read that times out is asked again (within the overall deadline), not given up."""
    gcp.add_instance(PROJECT, name="vm-1")
    fast = adapter(gcp, key, timeout=1)
    gcp.faults.slow_seconds = 2
    gcp.faults.fail_next("slow")
    records = fast.list_scope(PROJECT)
    assert [r.name for r in records] == ["vm-1"]
    assert gcp.faults.injected == 1


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
