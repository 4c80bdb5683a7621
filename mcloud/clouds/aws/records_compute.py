"""Compute items as records: EC2 instances, Auto Scaling groups, EBS volumes and snapshots.

Each builder takes one item as botocore parsed it (and the region) and returns a record or a
`Skip`; none raises whatever the item holds. Ids are the provider's own (`i-...`, `vol-...`,
`snap-...`; an Auto Scaling group's ARN), and `attached_to` names other resources by the id
their own record has: an instance its volumes, subnet, VPC and security groups; a group its
instances, subnets and classic load balancers; a volume its instances; a snapshot its volume.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mcloud.clouds.aws.normalize import (
    Built,
    arn_parts,
    as_list,
    get,
    ids,
    iso,
    joined,
    tags_of,
    text_or_none,
    word,
)
from mcloud.clouds.base import ResourceType, Status
from mcloud.clouds.records import record_or_skip

_EC2_STATES = {
    "pending": Status.PENDING,
    "running": Status.RUNNING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
    "shutting-down": Status.STOPPING,
    "terminated": Status.TERMINATED,
}
_VOLUME_STATES = {
    "creating": Status.PENDING,
    "available": Status.AVAILABLE,
    "in-use": Status.IN_USE,
    "deleting": Status.DELETING,
    "deleted": Status.TERMINATED,
    "error": Status.ERROR,
}
_SNAPSHOT_STATES = {
    "pending": Status.PENDING,
    "completed": Status.AVAILABLE,
    "error": Status.ERROR,
    "recoverable": Status.AVAILABLE,  # in the Recycle Bin, restorable
    "recovering": Status.PENDING,
}
# A stopped instance's StateTransitionReason: "User initiated (2026-01-01 12:00:00 GMT)"
# (moto writes UTC); a stop by AWS itself may carry no time.
_STOPPED_AT = re.compile(
    r"\(([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}) (?:GMT|UTC)\)"
)


def stopped_at(reason: Any) -> str | None:
    """When a stopped instance stopped, from its StateTransitionReason, in ISO 8601 UTC;
    None when the reason gives no (valid) time."""
    match = _STOPPED_AT.search(reason[:1000]) if isinstance(reason, str) else None
    if match is None:
        return None
    try:
        return datetime.fromisoformat(f"{match[1]}T{match[2]}").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


def instance_record(i: dict[str, Any], region: str) -> Built:
    tags = tags_of(i.get("Tags"))
    state = word(get(i, "State", "Name"))
    instance_type = word(i.get("InstanceType"))
    groups = ids(i.get("SecurityGroups"), "GroupId")
    volumes = [get(m, "Ebs", "VolumeId") for m in as_list(i.get("BlockDeviceMappings"))]
    stopped = stopped_at(i.get("StateTransitionReason")) if state == "stopped" else None
    return record_or_skip(
        kind="instance",
        resource_id=i.get("InstanceId"),
        name=tags.get("Name"),
        type=ResourceType.VM,
        region=region,
        status=_EC2_STATES.get(state, Status.UNKNOWN),
        created_at=i.get("LaunchTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::Instance",
            "instance_type": instance_type or None,
            "private_ip": i.get("PrivateIpAddress"),
            "public_ip": i.get("PublicIpAddress"),
            "vpc_id": i.get("VpcId"),
            "subnet_id": i.get("SubnetId"),
            "security_groups": groups,
            "availability_zone": get(i, "Placement", "AvailabilityZone"),
            "image_id": i.get("ImageId"),
            "platform": i.get("PlatformDetails") or i.get("Platform") or "Linux/UNIX",
            "launch_time": iso(i.get("LaunchTime")),
            "provider_status": state or None,
            **({"stopped_at": stopped} if stopped else {}),
        },
        attached_to=joined(
            volumes, text_or_none(i.get("SubnetId")), groups, text_or_none(i.get("VpcId"))
        ),
    )


def auto_scaling_group_record(g: dict[str, Any], region: str) -> Built:
    """A group is attached to its instances (as a load balancer is to its targets), its
    subnets and its classic load balancers (whose ARNs are made from its own ARN's account)."""
    tags = tags_of(g.get("Tags"))
    status = word(g.get("Status"))
    zones = text_or_none(g.get("VPCZoneIdentifier")) or ""  # "subnet-1,subnet-2"
    subnets = [s.strip() for s in zones.split(",") if s.strip()]
    arn = arn_parts(g.get("AutoScalingGroupARN"))
    classic = [
        f"arn:{arn[1]}:elasticloadbalancing:{arn[3]}:{arn[4]}:loadbalancer/{name}"
        for name in ids(g.get("LoadBalancerNames"))
    ] if arn else []  # fmt: skip
    template = g.get("LaunchTemplate") or get(g, "MixedInstancesPolicy", "LaunchTemplate",
                                              "LaunchTemplateSpecification")  # fmt: skip
    return record_or_skip(
        kind="Auto Scaling group",
        resource_id=g.get("AutoScalingGroupARN"),
        name=g.get("AutoScalingGroupName"),
        type=ResourceType.VM_GROUP,
        region=region,
        # A group being deleted says so; otherwise it has no state of its own.
        status=Status.DELETING if status.lower().startswith("delete") else Status.AVAILABLE,
        created_at=g.get("CreatedTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::AutoScaling::AutoScalingGroup",
            "min_size": g.get("MinSize"),
            "max_size": g.get("MaxSize"),
            "desired_capacity": g.get("DesiredCapacity"),
            "instances": len(g["Instances"]) if isinstance(g.get("Instances"), list) else 0,
            "launch_configuration": g.get("LaunchConfigurationName"),
            "launch_template": get(template, "LaunchTemplateName")
            or get(template, "LaunchTemplateId"),
            "availability_zones": ids(g.get("AvailabilityZones")),
            "target_groups": ids(g.get("TargetGroupARNs")),
            "health_check_type": g.get("HealthCheckType"),
            "provider_status": status or None,
        },
        attached_to=joined(ids(g.get("Instances"), "InstanceId"), subnets, classic),
    )


def volume_record(v: dict[str, Any], region: str) -> Built:
    tags = tags_of(v.get("Tags"))
    state = word(v.get("State"))
    return record_or_skip(
        kind="volume",
        resource_id=v.get("VolumeId"),
        name=tags.get("Name"),
        type=ResourceType.DISK,
        region=region,
        status=_VOLUME_STATES.get(state, Status.UNKNOWN),
        created_at=v.get("CreateTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::Volume",
            "size_gb": v.get("Size"),
            "volume_type": v.get("VolumeType"),
            "encrypted": v.get("Encrypted"),
            "availability_zone": v.get("AvailabilityZone"),
            "snapshot_id": v.get("SnapshotId") or None,
            "provider_status": state or None,
        },
        attached_to=ids(v.get("Attachments"), "InstanceId"),
    )


def snapshot_record(s: dict[str, Any], region: str) -> Built:
    tags = tags_of(s.get("Tags"))
    state = word(s.get("State"))
    volume = s.get("VolumeId")
    # Snapshots copied or made from AMIs name the placeholder volume vol-ffffffff.
    source = volume if isinstance(volume, str) and volume != "vol-ffffffff" else None
    return record_or_skip(
        kind="snapshot",
        resource_id=s.get("SnapshotId"),
        name=tags.get("Name"),
        type=ResourceType.SNAPSHOT,
        region=region,
        status=_SNAPSHOT_STATES.get(state, Status.UNKNOWN),
        created_at=s.get("StartTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::Snapshot",
            "size_gb": s.get("VolumeSize"),
            "volume_id": source,
            "description": s.get("Description"),
            "encrypted": s.get("Encrypted"),
            "storage_tier": s.get("StorageTier"),
            "progress": s.get("Progress"),
            "provider_status": state or None,
        },
        attached_to=joined(source),
    )
