"""The sandbox's Azure types beyond VMs, disks, storage accounts and networks, in one
subscription of the estate (emulators.estate builds those first): a handful of each, attached
as a real team's would be.

Each VM names its OS disk (emulators.estate makes the disks after the VMs). In the
subscription's West Europe network: subnets for apps, data, AKS and the gateway; a
network security group on the default, app and data subnets; NICs for the region's VMs (three
with public IPs), a public load balancer in front of the web VMs, an internal one in front of
a scale set, an application gateway, a NAT gateway for the app subnet and a spare public IP;
snapshots of three OS disks; an AKS cluster (its two node pools are scale sets); an SQL
server with two databases, a PostgreSQL and a MySQL flexible server, a Cosmos DB account, two
function apps and a web app, a Service Bus namespace and a DNS zone. In one subscription
of the sandbox, examples for the waste finder: a load balancer with an empty backend pool
(`idle_load_balancer`) and an old snapshot of a deleted disk (`orphan_snapshot`).

Deterministic: no random draws, so the rest of the estate keeps its names and shapes."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from emulators.azure import AzureFake

VNETS = "Microsoft.Network/virtualNetworks"
VMS = "Microsoft.Compute/virtualMachines"


def build_types(azure: AzureFake, sub: str, env: str, index: int) -> dict[str, Any]:
    """Every further type in subscription `sub` (the estate's `index`-th, for `env`); returns
    the ids a test may look for."""
    group, data_group = f"rg-platform-{env}", f"rg-data-{env}"
    vnet = next(v for v in azure.resources(sub, VNETS) if v["location"] == "westeurope")
    base = ipaddress.ip_network(vnet["properties"]["addressSpace"]["addressPrefixes"][0])
    subnets = {s["name"]: s["id"] for s in vnet["properties"]["subnets"]}
    for n, name in enumerate(("app", "data", "aks", "gateway"), start=1):
        prefix = 22 if name == "aks" else 24
        subnets[name] = azure.add_subnet(vnet["id"], name, _block(base, n * 4, prefix))["id"]
    web_nsg = azure.add_network_security_group(
        sub,
        name=f"nsg-{env}-web",
        resource_group=group,
        rules=[("https", 300, 443), ("http", 310, 80)],
        subnet_ids=[subnets["default"], subnets["app"]],
    )["id"]
    azure.add_network_security_group(
        sub,
        name=f"nsg-{env}-data",
        resource_group=group,
        rules=[("postgres", 300, 5432)],
        subnet_ids=[subnets["data"]],
    )
    ssh_nsg = azure.add_network_security_group(
        sub, name=f"nsg-{env}-ssh", resource_group=group, rules=[("ssh", 300, 22)]
    )["id"]

    def public_ip(name: str, n: int) -> str:
        address = f"20.{50 + index}.{n}.{10 + n}"
        return azure.add_public_ip(
            sub,
            name=f"pip-{env}-{name}",
            address=address,
            resource_group=group,
            dns_label=f"acme-{env}-{name}",
        )["id"]

    vms = [v for v in azure.resources(sub, VMS) if v["location"] == "westeurope"]
    for n, vm in enumerate(vms):
        azure.attach_network(
            vm["id"],
            subnet_id=subnets["default" if n % 2 else "app"],
            public_ip_id=public_ip(vm["name"], n) if n < 3 else None,
            nsg_id=ssh_nsg if n < 3 else None,
        )
    web = [v["id"] for v in vms if v["name"].startswith("web-")]
    batch = azure.add_scale_set(
        sub,
        name=f"vmss-{env}-batch",
        resource_group=group,
        capacity=3,
        subnet_id=subnets["app"],
        nsg_id=web_nsg,
    )["id"]
    load_balancer = azure.add_load_balancer(
        sub,
        name=f"lb-{env}-web",
        resource_group=group,
        public_ip_id=public_ip("lb", 20),
        backend_vm_ids=web,
    )["id"]
    azure.add_load_balancer(
        sub,
        name=f"lb-{env}-batch",
        resource_group=group,
        subnet_id=subnets["app"],
        backend_scale_set_ids=[batch],
    )
    azure.add_application_gateway(
        sub,
        name=f"agw-{env}",
        resource_group=group,
        subnet_id=subnets["gateway"],
        public_ip_id=public_ip("agw", 21),
        backend_vm_ids=[v["id"] for v in vms[3:5]],
    )
    nat = azure.add_nat_gateway(
        sub,
        name=f"nat-{env}",
        resource_group=group,
        public_ip_ids=[public_ip("nat", 22)],
        subnet_ids=[subnets["app"]],
    )["id"]
    spare_ip = public_ip("spare", 23)  # kept after its VM went: the waste finder's kind

    for disk in azure.resources(sub, "Microsoft.Compute/disks"):
        if disk.get("managedBy") and disk["name"].endswith("-osdisk"):
            azure.attach_disk(disk["managedBy"], disk["id"])  # the VM names its OS disk
    disks = sorted(
        d["id"] for d in azure.resources(sub, "Microsoft.Compute/disks") if d.get("managedBy")
    )[:3]
    snapshots = [
        azure.add_snapshot(
            sub,
            name=f"{disk.rsplit('/', 1)[1]}-snap",
            source_disk_id=disk,
            resource_group=f"rg-backup-{env}",
        )["id"]
        for disk in disks
    ]
    cluster = azure.add_aks_cluster(
        sub,
        name=f"aks-{env}",
        resource_group=group,
        subnet_id=subnets["aks"],
        pools=(("system", 2), ("apps", 3 if env == "prod" else 1)),
        tags={"env": env, "team": "platform"},
    )["id"]
    for database in ("orders", "billing"):
        azure.add_sql_database(
            sub,
            server=f"sql-acme-{env}",
            name=database,
            resource_group=data_group,
            tags={"team": "payments"},
        )
    postgres = azure.add_flexible_server(
        sub,
        engine="postgres",
        name=f"pg-acme-{env}",
        resource_group=data_group,
        subnet_id=subnets["data"],
        tags={"team": "data"},
    )["id"]
    azure.add_flexible_server(
        sub,
        engine="mysql",
        name=f"mysql-acme-{env}",
        resource_group=data_group,
        state="Ready" if env == "prod" else "Stopped",
        tags={"team": "web"},
    )
    azure.add_cosmos_account(
        sub,
        name=f"cosmos-acme-{env}",
        resource_group=data_group,
        subnet_ids=[subnets["data"]],
        tags={"team": "data"},
    )
    for name, function in (
        (f"func-{env}-ingest", True),
        (f"func-{env}-thumbs", True),
        (f"app-{env}-portal", False),
    ):
        azure.add_web_app(
            sub,
            name=name,
            function=function,
            resource_group=f"rg-web-{env}",
            subnet_id=None if function else subnets["app"],
            state="Stopped" if env != "prod" and name.endswith("thumbs") else "Running",
            tags={"env": env, "team": "web"},
        )
    azure.add_service_bus_namespace(
        sub, name=f"sb-acme-{env}", resource_group=group, tags={"team": "payments"}
    )
    zone = "acme.example" if env == "prod" else f"{env}.acme.example"
    azure.add_dns_zone(sub, name=zone, resource_group=group)
    return {
        "subnets": subnets,
        "web_vms": web,
        "scale_set": batch,
        "load_balancer": load_balancer,
        "nat_gateway": nat,
        "spare_ip": spare_ip,
        "snapshots": snapshots,
        "source_disks": disks,
        "cluster": cluster,
        "postgres": postgres,
    }


def idle_load_balancer(azure: AzureFake, sub: str, env: str, subnet_id: str) -> str:
    """An internal load balancer kept after the VMs of its backend pool were removed (the
    pool is empty), in `subnet_id`. Returns its id."""
    return azure.add_load_balancer(
        sub,
        name=f"lb-{env}-legacy-api",
        resource_group=f"rg-platform-{env}",
        subnet_id=subnet_id,
        tags={"env": env, "team": "web"},
    )["id"]


def orphan_snapshot(azure: AzureFake, sub: str, env: str, *, days: int = 200) -> str:
    """The last snapshot of a reporting VM's data disk, taken `days` ago; the disk was
    deleted with its VM since. Returns its id."""
    group = f"rg-data-{env}"
    disks = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/disks"
    return azure.add_snapshot(
        sub,
        name=f"reports-{env}-vm-data-final",
        source_disk_id=f"{disks}/reports-{env}-vm-data",
        resource_group=f"rg-backup-{env}",
        size_gb=256,
        tags={"team": "data"},
        created=dt.datetime.now(dt.UTC) - dt.timedelta(days=days),
    )["id"]


def _block(network: ipaddress.IPv4Network | ipaddress.IPv6Network, n: int, prefix: int) -> str:
    """The n-th /24 of `network` as a block of `prefix` bits."""
    first = network.network_address + n * 256
    return str(ipaddress.ip_network(f"{first}/{prefix}", strict=False))
