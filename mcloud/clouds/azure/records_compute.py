"""Records of compute rows: virtual machines, scale sets, managed disks and snapshots.

A VM's power state is read from the row Resource Graph returns
(`properties.extended.instanceView.powerState.code`, "PowerState/running"), not from a second
call to Compute: the real service fills it for every VM, and one query then gives the state
and the NICs the VM's attachments are resolved through, in one snapshot of the subscription.
Resource Graph follows Resource Manager within moments of a change, which a scheduled sync
does not notice. A VM without it has Status.UNKNOWN, its provisioning state kept as the
provider's word."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.azure.fields import (
    arm_record,
    flag,
    get,
    gone_or,
    ids,
    items,
    number,
    provisioned,
    state,
    text,
    when,
)
from mcloud.clouds.azure.related import Related, top_level
from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status

# Power states (the x of "PowerState/x"); the word itself stays in metadata.
POWER_STATES = {
    "running": Status.RUNNING,
    "starting": Status.PENDING,
    "stopping": Status.STOPPING,
    "deallocating": Status.STOPPING,
    "stopped": Status.STOPPED,
    "deallocated": Status.STOPPED,
}
DISK_STATES = {
    "attached": Status.IN_USE,
    "reserved": Status.IN_USE,
    "activesas": Status.IN_USE,
    "unattached": Status.AVAILABLE,
}


def _zones(row: Any) -> list[str]:
    return [z for z in items(get(row, "zones")) if text(z)]


def _unique(values: list[str]) -> list[str]:
    """Ids without repeats, however they are spelled, in the order given."""
    seen: set[str] = set()
    unique = []
    for value in values:
        if value.lower() not in seen:
            seen.add(value.lower())
            unique.append(value)
    return unique


def vm_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    code = text(get(p, "extended", "instanceView", "powerState", "code")) or ""
    power = code.removeprefix("PowerState/").lower() if code.startswith("PowerState/") else None
    provisioning = text(get(p, "provisioningState"))
    size = text(get(p, "hardwareProfile", "vmSize"))
    os_disk = get(p, "storageProfile", "osDisk")
    disks = [get(os_disk, "managedDisk", "id")] + [
        get(d, "managedDisk", "id") for d in items(get(p, "storageProfile", "dataDisks"))
    ]
    reached: dict[str, list[str]] = {}
    for nic in ids(get(p, "networkProfile", "networkInterfaces")):
        for key, found in related.network_interface(nic).items():
            reached.setdefault(key, []).extend(found)
    created = when(get(p, "timeCreated"))
    return arm_record(
        "virtual machine",
        row,
        ResourceType.VM,
        gone_or(provisioning, POWER_STATES.get(power or "", Status.UNKNOWN)),
        attached_to=_unique(
            related.ids(disks)
            + [
                i
                for key in ("subnets", "networks", "firewalls", "ip_addresses", "load_balancers")
                for i in reached.get(key, [])
            ]
        ),
        created_at=created,
        vm_size=size,
        os_type=text(get(os_disk, "osType")),
        vm_id=text(get(p, "vmId")),
        os_disk=text(get(os_disk, "name")),
        os_disk_id=text(get(os_disk, "managedDisk", "id")),
        zones=_zones(row),
        private_ips=reached.get("private_ips", []),
        public_ips=reached.get("public_ips", []),
        provider_status=power or provisioning,
        created=created.isoformat() if created else None,
    )


def scale_set_record(row: Any, related: Related) -> ResourceRecord | Skip:
    """A scale set, attached to its subnets, firewalls and load balancers, and to its AKS
    cluster when it is a node pool (AKS keeps pools in the cluster's node resource group)."""
    p = get(row, "properties")
    attached: list[str] = []
    nics = get(p, "virtualMachineProfile", "networkProfile", "networkInterfaceConfigurations")
    for nic in items(nics):
        attached += related.ids([get(nic, "properties", "networkSecurityGroup", "id")])
        for config in items(get(nic, "properties", "ipConfigurations")):
            settings = get(config, "properties")
            attached += related.ids([get(settings, "subnet", "id")])
            pools = ids(get(settings, "loadBalancerBackendAddressPools")) + ids(
                get(settings, "applicationGatewayBackendAddressPools")
            )
            attached += related.ids(top_level(pool) for pool in pools)
    group = (text(get(row, "resourceGroup")) or "").lower()
    pool = text(get(row, "tags", "aks-managed-poolName"))
    cluster = related.node_groups.get(group) if pool else None
    return arm_record(
        "scale set",
        row,
        ResourceType.VM_GROUP,
        provisioned(row),
        attached_to=_unique(attached + related.ids([cluster])),
        created_at=when(get(p, "timeCreated")),
        vm_size=text(get(row, "sku", "name")),
        capacity=number(get(row, "sku", "capacity")),
        orchestration_mode=text(get(p, "orchestrationMode")),
        upgrade_mode=text(get(p, "upgradePolicy", "mode")),
        node_pool=pool,
        zones=_zones(row),
        provider_status=text(get(p, "provisioningState")),
    )


def disk_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    disk_state = text(get(p, "diskState"))
    managed_by = text(get(row, "managedBy"))
    zones = _zones(row)
    return arm_record(
        "disk",
        row,
        ResourceType.DISK,
        gone_or(get(p, "provisioningState"), DISK_STATES.get(state(disk_state), Status.UNKNOWN)),
        attached_to=related.ids([managed_by]),
        created_at=when(get(p, "timeCreated")),
        size_gb=number(get(p, "diskSizeGB")),
        sku=text(get(row, "sku", "name")),
        disk_state=disk_state,
        managed_by=managed_by,
        **({"zones": zones} if zones else {}),
        source_id=text(get(p, "creationData", "sourceResourceId")),
        provider_status=disk_state,
    )


def snapshot_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    source = text(get(p, "creationData", "sourceResourceId"))
    return arm_record(
        "snapshot",
        row,
        ResourceType.SNAPSHOT,
        provisioned(row),
        attached_to=related.ids([source]),
        created_at=when(get(p, "timeCreated")),
        size_gb=number(get(p, "diskSizeGB")),
        sku=text(get(row, "sku", "name")),
        incremental=flag(get(p, "incremental")),
        os_type=text(get(p, "osType")),
        source_id=source,
        provider_status=text(get(p, "provisioningState")),
    )
