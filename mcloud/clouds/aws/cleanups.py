"""EC2 clean-ups of waste: delete an unattached volume, release an unassociated Elastic IP,
delete an old snapshot.

Each reads the resource first (`ResourceCleanups`): gone is a no-op said in words, attached
or associated now is refused, and only then is the call sent. EC2's deletes answer at once
(a volume goes through `deleting`), so there is no operation to follow."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.base import (
    ActionResult,
    CloudError,
    ResourceType,
    Status,
    already_gone,
    in_use,
)

_VOLUME_GONE = ("InvalidVolume.NotFound", "InvalidVolume.Malformed")
_ADDRESS_GONE = ("InvalidAllocationID.NotFound", "InvalidAllocationID.Malformed")
_SNAPSHOT_GONE = ("InvalidSnapshot.NotFound", "InvalidSnapshot.Malformed")


def ec2_cleanup(ec2: Any, kind: str, resource_id: str) -> ActionResult:
    """Remove the volume, address (allocation id) or snapshot `resource_id` with the region's
    EC2 client."""
    if kind == ResourceType.DISK:
        return _volume_delete(ec2, resource_id)
    if kind == ResourceType.IP_ADDRESS:
        return _address_release(ec2, resource_id)
    if kind == ResourceType.SNAPSHOT:
        return _snapshot_delete(ec2, resource_id)
    raise CloudError(f"mcloud cannot remove {kind} resources.", permanent=True, code="Unsupported")


def _read(call: Any, key: str, gone: tuple[str, ...], what: str, **ids: Any) -> dict | None:
    """The one item `call` describes, None when EC2 no longer has it."""
    try:
        with translate_errors(f"read {what}"):
            items = call(**ids)[key]
    except CloudError as error:
        if error.code in gone:
            return None
        raise
    return items[0] if items else None


def _volume_delete(ec2: Any, volume_id: str) -> ActionResult:
    what = f"EC2 volume {volume_id}"
    volume = _read(ec2.describe_volumes, "Volumes", _VOLUME_GONE, what, VolumeIds=[volume_id])
    if volume is None or volume.get("State") in ("deleting", "deleted"):
        return already_gone(what)
    attached = [a.get("InstanceId", "") for a in volume.get("Attachments") or []]
    if attached or volume.get("State") == "in-use":
        raise in_use(what, f"attached to {', '.join(filter(None, attached)) or 'an instance'}")
    with translate_errors(f"delete {what}"):
        ec2.delete_volume(VolumeId=volume_id)
    return ActionResult(True, f"EC2 deleted volume {volume_id}.", Status.TERMINATED)


def _address_release(ec2: Any, allocation_id: str) -> ActionResult:
    what = f"Elastic IP {allocation_id}"
    address = _read(
        ec2.describe_addresses, "Addresses", _ADDRESS_GONE, what, AllocationIds=[allocation_id]
    )
    if address is None:
        return already_gone(what)
    if address.get("AssociationId"):
        owner = address.get("InstanceId") or address.get("NetworkInterfaceId") or "a resource"
        raise in_use(what, f"associated with {owner}")
    with translate_errors(f"release {what}"):
        ec2.release_address(AllocationId=allocation_id)
    public = address.get("PublicIp") or allocation_id
    return ActionResult(True, f"EC2 released the Elastic IP {public}.", Status.TERMINATED)


def _snapshot_delete(ec2: Any, snapshot_id: str) -> ActionResult:
    what = f"EC2 snapshot {snapshot_id}"
    found = _read(
        ec2.describe_snapshots, "Snapshots", _SNAPSHOT_GONE, what, SnapshotIds=[snapshot_id]
    )
    if found is None:
        return already_gone(what)
    # A snapshot an AMI uses is refused by EC2 itself (InvalidSnapshot.InUse): said as its
    # message, nothing deleted.
    with translate_errors(f"delete {what}"):
        ec2.delete_snapshot(SnapshotId=snapshot_id)
    return ActionResult(True, f"EC2 deleted snapshot {snapshot_id}.", Status.TERMINATED)
