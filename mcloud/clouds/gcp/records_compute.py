"""Records of machines and their storage: instances (from Compute itself, for their live
status), and from the asset inventory disks, snapshots and managed instance groups.

Each builder takes one item and the project's `Links`, and returns a record or a Skip; it never
raises whatever the item holds (mcloud.clouds.gcp.fields reads every field defensively)."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status
from mcloud.clouds.gcp.assets import AssetItem
from mcloud.clouds.gcp.fields import (
    GLOBAL_REGION,
    Paths,
    compute_place,
    dig,
    iso,
    last,
    number,
    path,
    strings,
    text,
    timestamp,
    zone_region,
)
from mcloud.clouds.gcp.links import Links, instance_id
from mcloud.clouds.records import clean_text, record_or_skip

_INSTANCE_STATUSES = {
    "RUNNING": Status.RUNNING,
    "PROVISIONING": Status.PENDING,
    "STAGING": Status.PENDING,
    "REPAIRING": Status.PENDING,
    "STOPPING": Status.STOPPING,
    "SUSPENDING": Status.STOPPING,
    "TERMINATED": Status.STOPPED,  # Compute's word for a stopped instance, not a deleted one
    "SUSPENDED": Status.STOPPED,
    "STOPPED": Status.STOPPED,
}
# READY is in_use or available, depending on whether any instance uses the disk.
_DISK_STATUSES = {
    "CREATING": Status.PENDING,
    "RESTORING": Status.PENDING,
    "FAILED": Status.ERROR,
    "DELETING": Status.DELETING,
}
_SNAPSHOT_STATUSES = {
    "READY": Status.AVAILABLE,
    "CREATING": Status.PENDING,
    "UPLOADING": Status.PENDING,
    "FAILED": Status.ERROR,
    "DELETING": Status.DELETING,
}


def instance_record(i: Any, project: str, links: Links | None = None) -> ResourceRecord | Skip:
    """A compute_v1.Instance, from Compute's aggregated list: attached to its disks, network
    and subnetwork, the firewall rules that apply to it, the addresses and load balancers
    that use it."""
    links = links or Links(paths=Paths(project))
    zone = last(i.zone)
    machine_type = last(i.machine_type)
    nic = i.network_interfaces[0] if i.network_interfaces else None
    nat = next((a.nat_i_p for a in nic.access_configs if a.nat_i_p), None) if nic else None
    created = timestamp(i.creation_timestamp)
    name = clean_text(i.name)
    rid = instance_id(project, zone, name) if name else None
    status = _INSTANCE_STATUSES.get(i.status, Status.UNKNOWN)
    # When it stopped (or was suspended), as Compute says; only of an instance that is.
    stopped = None
    if status == Status.STOPPED:
        stopped = timestamp(
            i.last_suspended_timestamp if i.status == "SUSPENDED" else i.last_stop_timestamp
        )
    network_tags = list(i.tags.items) if i.tags else []
    accounts = [a.email for a in i.service_accounts]
    networks = dict.fromkeys(links.paths.of(n.network) for n in i.network_interfaces)
    attached = [
        *(links.paths.of(d.source) for d in i.disks),
        *(links.paths.of(n.subnetwork) for n in i.network_interfaces),
        *networks,
        *(rule for net in networks for rule in links.firewalls_of(net, network_tags, accounts)),
        *(links.users.get(rid, []) if rid else []),
        *(links.behind.get(rid, []) if rid else []),
    ]
    return record_or_skip(
        kind="instance",
        resource_id=rid,
        name=name,
        type=ResourceType.VM,
        region=zone_region(zone),
        status=status,
        created_at=created,
        tags=dict(i.labels),
        metadata={
            "machine_type": machine_type or None,
            "private_ip": (nic.network_i_p or None) if nic else None,
            "public_ip": nat,
            "network": path(nic.network) if nic else None,
            "subnetwork": path(nic.subnetwork) if nic else None,
            "zone": zone or None,
            "network_tags": network_tags,
            "instance_id": str(i.id) if i.id else None,
            "provider_status": i.status or None,
            "provider_type": "compute.googleapis.com/Instance",
            "created": iso(created),
            **({"stopped_at": iso(stopped)} if stopped else {}),
        },
        attached_to=attached,
        where=f"in zone {zone}" if zone else "",
    )


def disk_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A zonal or regional (replicated) disk, attached to the instances using it."""
    data = item.data
    region, zone = compute_place(data)
    word = text(data.get("status"))
    users = [links.paths.of(u) for u in strings(data.get("users"))]
    status = _DISK_STATUSES.get(word, Status.UNKNOWN)
    if word == "READY":
        status = Status.IN_USE if users else Status.AVAILABLE
    return record_or_skip(
        kind="disk",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.DISK,
        region=region,
        status=status,
        created_at=timestamp(data.get("creationTimestamp")),
        tags=data.get("labels"),
        metadata={
            "size_gb": number(data.get("sizeGb")),
            "disk_type": last(text(data.get("type"))) or None,
            "zone": zone or None,
            "users": users,
            "source_image": last(text(data.get("sourceImage"))) or None,
            "source_snapshot": links.paths.of(data.get("sourceSnapshot")) or None,
            "provider_status": word or None,
            "provider_type": item.asset_type,
        },
        attached_to=users,
        where=f"in {zone or region}",
    )


def snapshot_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A disk snapshot, attached to its source disk; its region is where it is stored."""
    data = item.data
    word = text(data.get("status"))
    source = links.paths.of(data.get("sourceDisk"))
    locations = strings(data.get("storageLocations"))
    return record_or_skip(
        kind="snapshot",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.SNAPSHOT,
        region=locations[0] if locations else GLOBAL_REGION,
        status=_SNAPSHOT_STATUSES.get(word, Status.UNKNOWN),
        created_at=timestamp(data.get("creationTimestamp")),
        tags=data.get("labels"),
        metadata={
            "size_gb": number(data.get("diskSizeGb")),
            "storage_bytes": number(data.get("storageBytes")),
            "source_disk": source or None,
            "storage_locations": locations,
            "snapshot_type": text(data.get("snapshotType")) or None,
            "auto_created": data.get("autoCreated") is True,
            "provider_status": word or None,
            "provider_type": item.asset_type,
        },
        attached_to=[source],
    )


def group_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A managed instance group: running while it keeps instances, stopped at size 0,
    pending while it changes; attached to the instances it made."""
    data = item.data
    region, zone = compute_place(data)
    size = number(data.get("targetSize"))
    stable = dig(data, "status", "isStable")
    word = "STABLE" if stable is True else "UPDATING" if stable is False else None
    status = Status.RUNNING
    if size == 0:
        status = Status.STOPPED
    elif stable is False:
        status = Status.PENDING
    return record_or_skip(
        kind="instance group",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.VM_GROUP,
        region=region,
        status=status,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "target_size": size,
            "instance_template": last(text(data.get("instanceTemplate"))) or None,
            "base_instance_name": text(data.get("baseInstanceName")) or None,
            "zone": zone or None,
            "instance_group": links.paths.of(data.get("instanceGroup")) or None,
            "provider_status": word,
            "provider_type": item.asset_type,
        },
        attached_to=links.members.get(item.path, []),
    )
