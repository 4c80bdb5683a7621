"""The Azure adapter's inventory: the real azure-mgmt-* clients (Resource Graph's for the
listing) against the local ARM fake."""

from __future__ import annotations

import pytest

from mcloud.clouds.azure import AzureAdapter
from mcloud.clouds.base import AzureCredentials, CloudError, Endpoints, ResourceType, Status

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SECRET = "the-client-secret"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
OTHER = "aaaaaaaa-0000-0000-0000-000000000002"  # exists, but not granted to the app
GRAPH = "/providers/Microsoft.ResourceGraph/resources"


@pytest.fixture
def fake(azure):
    azure.faults.retry_after = 0
    azure.add_subscription(SUB, "Production", TENANT)
    azure.add_subscription(OTHER, "Staging", TENANT)
    azure.add_app(TENANT, CLIENT, SECRET, [SUB])
    return azure


def adapter(fake, *subscriptions: str, retries: int = 3) -> AzureAdapter:
    return AzureAdapter(
        AzureCredentials(TENANT, CLIENT, SECRET, subscriptions or (SUB,)),
        Endpoints(
            azure_arm_url=fake.base_url,
            azure_authority=fake.authority,
            azure_ca_bundle=fake.ca_bundle,
            retries=retries,
        ),
    )


def by_name(records) -> dict:
    return {(r.type, r.name): r for r in records}


def test_scopes_are_the_subscriptions_the_application_can_read(fake):
    listing = adapter(fake, SUB, OTHER).scope_listing()
    assert listing.scopes == [SUB]
    assert listing.gone == {OTHER: "no longer visible to the application"}
    fake.add_app(TENANT, CLIENT, SECRET, [SUB, OTHER])  # granted now
    assert adapter(fake, SUB, OTHER).scopes() == [SUB, OTHER]


def test_every_type_comes_back_normalized(fake):
    vm = fake.add_vm(
        SUB,
        name="web-1",
        resource_group="RG-Web",
        location="northeurope",
        size="Standard_D2s_v3",
        tags={"env": "prod", "team": "web"},
        zones=["2"],
    )
    fake.add_disk(SUB, name="data-1", resource_group="RG-Web", size_gb=256, managed_by=vm["id"])
    fake.add_disk(SUB, name="spare", sku="Standard_LRS", tags={"keep": "yes"})
    fake.add_storage_account(SUB, name="acmelogs", sku="Standard_GRS", tags={"env": "prod"})
    fake.add_virtual_network(
        SUB, name="vnet-1", subnets=[("web", "10.0.0.0/24"), ("db", "10.0.1.0/24")]
    )
    fake.add_vm(OTHER, name="not-ours")

    records = by_name(adapter(fake).list_scope(SUB))

    assert sorted(records) == [
        ("disk", "data-1"),
        ("disk", "spare"),
        ("network", "vnet-1"),
        ("storage", "acmelogs"),
        ("subnet", "db"),
        ("subnet", "web"),
        ("vm", "web-1"),
    ]
    web = records["vm", "web-1"]
    assert web.resource_id == vm["id"]  # as ARM spells it
    assert (web.type, web.region, web.status) == (ResourceType.VM, "northeurope", Status.RUNNING)
    assert web.tags == {"env": "prod", "team": "web"}
    assert web.created_at is not None
    os_disk = vm["properties"]["storageProfile"]["osDisk"]
    assert web.metadata == {
        "vm_size": "Standard_D2s_v3",
        "os_type": "Linux",
        "resource_group": "RG-Web",
        "vm_id": vm["properties"]["vmId"],
        "os_disk": os_disk["name"],
        "os_disk_id": os_disk["managedDisk"]["id"],  # ARM spells its resource group RG-WEB
        "zones": ["2"],
        "private_ips": [],
        "public_ips": [],
        "provider_status": "running",
        "created": web.created_at.isoformat(),
        "provider_type": "microsoft.compute/virtualmachines",
    }
    assert web.attached_to == [os_disk["managedDisk"]["id"]]  # not listed: kept as ARM spells it
    data = records["disk", "data-1"]
    assert data.status == Status.IN_USE
    assert data.metadata == {
        "size_gb": 256,
        "sku": "Premium_LRS",
        "disk_state": "Attached",
        "managed_by": vm["id"],
        "source_id": None,
        "resource_group": "RG-Web",
        "provider_status": "Attached",
        "provider_type": "microsoft.compute/disks",
    }
    assert data.attached_to == [vm["id"]]
    spare = records["disk", "spare"]
    assert (spare.status, spare.metadata["disk_state"]) == (Status.AVAILABLE, "Unattached")
    assert (spare.metadata["sku"], spare.tags) == ("Standard_LRS", {"keep": "yes"})
    logs = records["storage", "acmelogs"]
    assert (logs.status, logs.region, logs.tags) == (
        Status.AVAILABLE,
        "westeurope",
        {"env": "prod"},
    )
    assert logs.metadata == {
        "sku": "Standard_GRS",
        "kind": "StorageV2",
        "resource_group": "rg-default",
        "primary_location": "westeurope",
        "provider_status": "Succeeded",
        "provider_type": "microsoft.storage/storageaccounts",
    }
    vnet = records["network", "vnet-1"]
    assert (vnet.status, vnet.tags) == (Status.AVAILABLE, {})
    assert vnet.metadata == {
        "address_prefixes": ["10.0.0.0/16"],
        "subnets": ["web", "db"],
        "resource_group": "rg-default",
        "provider_status": "Succeeded",
        "provider_type": "microsoft.network/virtualnetworks",
    }
    web_subnet = records["subnet", "web"]
    assert web_subnet.resource_id == f"{vnet.resource_id}/subnets/web"
    assert (web_subnet.region, web_subnet.attached_to) == ("westeurope", [vnet.resource_id])
    assert web_subnet.metadata["address_prefix"] == "10.0.0.0/24"


def test_power_states_map_to_statuses_and_stay_in_metadata(fake):
    expected = {
        "running": Status.RUNNING,
        "stopped": Status.STOPPED,
        "deallocated": Status.STOPPED,
        "starting": Status.PENDING,
        "stopping": Status.STOPPING,
        "deallocating": Status.STOPPING,
    }
    for state in expected:
        fake.add_vm(SUB, name=f"vm-{state}", power_state=state)
    fake.add_disk(SUB, name="reserved", state="Reserved")
    fake.add_disk(SUB, name="uploading", state="ReadyToUpload")

    records = by_name(adapter(fake).list_scope(SUB))

    for state, status in expected.items():
        vm = records["vm", f"vm-{state}"]
        assert (vm.status, vm.metadata["provider_status"]) == (status, state)
    assert records["disk", "reserved"].status == Status.IN_USE
    assert records["disk", "uploading"].status == Status.UNKNOWN


def test_every_page_is_read(fake):
    fake.graph_page_size = 7
    for n in range(20):
        fake.add_vm(SUB, name=f"vm-{n:02}", resource_group=f"rg-{n % 3}")
    for n in range(9):
        fake.add_disk(SUB, name=f"disk-{n}")

    records = adapter(fake).list_scope(SUB)

    vms = [r for r in records if r.type == ResourceType.VM]
    assert sorted(r.name for r in vms) == [f"vm-{n:02}" for n in range(20)]
    assert len({r.resource_id for r in vms}) == 20
    assert all(r.status == Status.RUNNING for r in vms)
    assert len([r for r in records if r.type == ResourceType.DISK]) == 9
    assert fake.requests.count(("POST", GRAPH)) == 5  # 29 rows, 7 a page: one query, paged


def test_a_malformed_row_is_skipped_not_fatal(fake):
    fake.add_vm(SUB, name="web-1")
    vms = "Microsoft.Compute/virtualMachines"
    odd = f"/subscriptions/{SUB}/resourceGroups/rg/providers/{vms}/odd"
    fake.add_raw(SUB, vms, {"name": "ghost", "location": "westeurope", "properties": {}})
    fake.add_raw(SUB, vms, {"id": odd, "properties": "not an object", "tags": ["x"],
                            "zones": "1", "sku": [1], "location": 7})  # fmt: skip
    vnets = "Microsoft.Network/virtualNetworks"
    fake.add_raw(SUB, vnets, {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/{vnets}/v",
        "properties": {"subnets": [{"name": "no-id"}, "text", {"id": 5}]}})  # fmt: skip

    listing = adapter(fake).list_scope(SUB)

    names = sorted((r.type, r.name) for r in listing)
    assert names == [("network", "v"), ("vm", "odd"), ("vm", "web-1")]
    assert (by_name(listing)["vm", "odd"].status, by_name(listing)["vm", "odd"].region) == (
        Status.UNKNOWN,
        "7",
    )
    assert sorted(s.reason for s in listing.skips) == ["no id"] * 4
    assert "virtual machine ghost" in [s.item for s in listing.skips]


def test_throttling_server_errors_and_dropped_connections_are_retried(fake):
    fake.graph_page_size = 3
    for n in range(5):
        fake.add_vm(SUB, name=f"vm-{n}", power_state="stopped" if n % 2 else "running")
    fake.add_disk(SUB, name="disk-1")
    fake.add_storage_account(SUB, name="acmedata")
    fake.add_virtual_network(SUB, name="vnet-1")
    clean = adapter(fake).list_scope(SUB)

    for kind in ("429", "500", "drop"):
        fake.faults.fail_next(kind)
    assert adapter(fake).list_scope(SUB) == clean
    assert fake.faults.injected == 3


def test_errors_that_outlast_the_retries_are_a_transient_cloud_error(fake):
    fake.faults.fail_next("500", count=2)
    with pytest.raises(CloudError) as failure:
        adapter(fake, retries=1).list_scope(SUB)
    assert not failure.value.permanent
    assert failure.value.message == (
        f"Azure could not list the resources of subscription {SUB} (InternalServerError)"
    )


def test_a_skip_token_that_repeats_fails_the_listing(fake):
    fake.graph_page_size = 1
    fake.add_vm(SUB, name="vm-1")
    fake.add_vm(SUB, name="vm-2")
    fake.graph_skip_token_override = "c2FtZQ=="
    with pytest.raises(CloudError) as failure:
        adapter(fake).list_scope(SUB)
    assert failure.value.code == "Paging"
    assert failure.value.message == (
        "Azure gave an unusable token for the next page while trying to list the resources "
        f"of subscription {SUB}"
    )


def test_an_ungranted_subscription_is_a_permanent_cloud_error(fake):
    fake.add_vm(OTHER, name="not-ours")
    with pytest.raises(CloudError) as failure:
        adapter(fake, OTHER).list_scope(OTHER)
    assert failure.value.permanent
    assert failure.value.code == "AccessDenied"
    assert failure.value.message == (
        f"Azure denied the request to list the resources of subscription {OTHER} (AccessDenied)"
    )
    assert SECRET not in failure.value.message
