"""Every Azure type of the inventory, and what each is attached to, through the real Resource
Graph client against the fake holding the sandbox's Azure types (emulators/estate_azure.py)."""

from __future__ import annotations

import pytest

from emulators import estate_azure
from mcloud.clouds.azure import AzureAdapter
from mcloud.clouds.base import AzureCredentials, Endpoints, ResourceType, Status

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SECRET = "the-client-secret"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


@pytest.fixture
def built(azure):
    azure.add_subscription(SUB, "Staging", TENANT)
    azure.add_app(TENANT, CLIENT, SECRET, [SUB])
    azure.add_virtual_network(
        SUB,
        name="vnet-staging-westeurope",
        resource_group="rg-platform-staging",
        address_prefixes=("10.10.0.0/16",),
        subnets=(("default", "10.10.0.0/24"),),
    )
    for n, team in enumerate(("web", "data", "web", "platform", "payments")):
        vm = azure.add_vm(SUB, name=f"{team}-staging-vm{n:02d}", resource_group=f"rg-{team}")
        azure.add_disk(
            SUB,
            name=f"{team}-staging-vm{n:02d}-osdisk",
            resource_group=f"rg-{team}",
            managed_by=vm["id"],
        )
    azure.add_vm(SUB, name="far-away", location="eastus")
    ids = estate_azure.build_types(azure, SUB, "staging", 1)
    adapter = AzureAdapter(
        AzureCredentials(TENANT, CLIENT, SECRET, (SUB,)),
        Endpoints(
            azure_arm_url=azure.base_url,
            azure_authority=azure.authority,
            azure_ca_bundle=azure.ca_bundle,
        ),
    )
    azure.graph_page_size = 25  # several pages: references cross them
    listing = adapter.list_scope(SUB)
    return ids, {r.resource_id: r for r in listing}, listing


def _named(records, name):
    (found,) = [r for r in records.values() if r.name == name]
    return found


def test_every_type_of_the_table_is_listed(built):
    _, records, listing = built
    kinds = {r.type for r in records.values()}
    assert kinds == {
        ResourceType.VM,
        ResourceType.VM_GROUP,
        ResourceType.DISK,
        ResourceType.SNAPSHOT,
        ResourceType.NETWORK,
        ResourceType.SUBNET,
        ResourceType.FIREWALL,
        ResourceType.LOAD_BALANCER,
        ResourceType.IP_ADDRESS,
        ResourceType.NAT_GATEWAY,
        ResourceType.DATABASE,
        ResourceType.NOSQL,
        ResourceType.KUBERNETES,
        ResourceType.FUNCTION,
        ResourceType.QUEUE,
        ResourceType.DNS_ZONE,
    }
    assert listing.skips == []
    databases = sorted(r.name for r in records.values() if r.type == ResourceType.DATABASE)
    assert databases == ["billing", "mysql-acme-staging", "orders", "pg-acme-staging"]  # no master
    assert not any(r.name.endswith("-nic") for r in records.values())  # NICs are read, not listed
    for record in records.values():
        assert record.metadata["provider_type"]


def test_attachments_use_the_ids_the_other_records_have(built):
    _, records, _ = built
    spelled = {rid.lower(): rid for rid in records}
    attached = [a for r in records.values() for a in r.attached_to]
    assert len(attached) > 40
    for ref in attached:
        if ref.lower() in spelled:
            assert ref == spelled[ref.lower()]  # the NICs' upper-case groups resolved


def test_what_each_resource_is_attached_to(built):
    ids, records, _ = built
    subnets = ids["subnets"]
    vnet = subnets["default"].rsplit("/subnets/", 1)[0]
    web = records[ids["web_vms"][0]]
    nsg = _named(records, "nsg-staging-web").resource_id
    assert set(web.attached_to) >= {subnets["default"], vnet, nsg, ids["load_balancer"]}
    assert (web.metadata["private_ips"], web.metadata["public_ips"]) == (["10.10.0.5"], [])
    exposed = _named(records, "data-staging-vm01")  # the first three VMs have public IPs
    address = _named(records, "pip-staging-data-staging-vm01")
    ssh = _named(records, "nsg-staging-ssh").resource_id
    assert set(exposed.attached_to) >= {subnets["app"], vnet, nsg, ssh, address.resource_id}
    assert exposed.metadata["public_ips"] == [address.metadata["ip_address"]]
    assert address.attached_to == [exposed.resource_id]
    assert address.status == Status.IN_USE
    spare = records[ids["spare_ip"]]
    assert (spare.attached_to, spare.status) == ([], Status.AVAILABLE)
    assert records[ids["load_balancer"]].attached_to == ids["web_vms"]
    batch_lb = _named(records, "lb-staging-batch")
    assert (batch_lb.attached_to, batch_lb.metadata["scheme"]) == ([ids["scale_set"]], "internal")
    gateway = _named(records, "agw-staging")
    assert subnets["gateway"] in gateway.attached_to
    assert gateway.status == Status.RUNNING
    assert records[ids["nat_gateway"]].attached_to == [subnets["app"]]
    assert records[subnets["data"]].attached_to == [
        vnet,
        _named(records, "nsg-staging-data").resource_id,
    ]
    for snapshot, disk in zip(ids["snapshots"], ids["source_disks"], strict=True):
        assert records[snapshot].attached_to == [disk]
    pools = [r for r in records.values() if r.metadata.get("node_pool")]
    assert sorted(r.metadata["node_pool"] for r in pools) == ["apps", "system"]
    assert all(ids["cluster"] in r.attached_to for r in pools)
    assert records[ids["cluster"]].attached_to == [subnets["aks"]]
    assert records[ids["postgres"]].attached_to == [subnets["data"]]
    assert _named(records, "cosmos-acme-staging").attached_to == [subnets["data"]]
    assert _named(records, "app-staging-portal").attached_to == [subnets["app"]]
    disk = _named(records, "web-staging-vm00-osdisk")
    assert disk.attached_to == [web.resource_id]
    assert web.attached_to[0] == disk.resource_id  # the VM spells its group in upper case
    assert web.metadata["os_disk_id"] == disk.resource_id.replace("rg-web", "RG-WEB")
    assert disk.status == Status.IN_USE


def test_statuses_and_details_of_the_new_types(built):
    _, records, _ = built
    mysql = _named(records, "mysql-acme-staging")
    assert (mysql.status, mysql.metadata["engine"], mysql.metadata["provider_status"]) == (
        Status.STOPPED,
        "mysql",
        "Stopped",
    )
    thumbs, portal = _named(records, "func-staging-thumbs"), _named(records, "app-staging-portal")
    assert (thumbs.status, thumbs.metadata["app_kind"]) == (Status.STOPPED, "function app")
    assert (portal.status, portal.metadata["app_kind"]) == (Status.RUNNING, "web app")
    orders = _named(records, "orders")
    assert (orders.status, orders.metadata["server"], orders.tags) == (
        Status.RUNNING,
        "sql-acme-staging",
        {"team": "payments"},
    )
    assert orders.created_at is not None
    cluster = _named(records, "aks-staging")
    assert (cluster.status, cluster.metadata["nodes"], cluster.metadata["node_pools"]) == (
        Status.RUNNING,
        3,
        ["system", "apps"],
    )
    bus = _named(records, "sb-acme-staging")
    assert (bus.type, bus.status, bus.metadata["sku"]) == (
        ResourceType.QUEUE,
        Status.AVAILABLE,
        "Standard",
    )
    zone = _named(records, "staging.acme.example")
    assert (zone.region, zone.status, zone.metadata["record_sets"]) == (
        "global",
        Status.AVAILABLE,
        2,
    )
    nsg = _named(records, "nsg-staging-web")
    assert nsg.metadata["inbound_allowed"] == ["443 from *", "80 from *"]
    batch = _named(records, "vmss-staging-batch")
    assert (batch.type, batch.metadata["capacity"]) == (ResourceType.VM_GROUP, 3)
