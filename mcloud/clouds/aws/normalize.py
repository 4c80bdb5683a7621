"""Reading items as botocore parsed them, whatever they hold: the helpers every record
builder (`records_*`) uses. None of them raises on an unexpected value; `made` turns a
builder's unforeseen failure into a `Skip`, so one item never fails its listing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from mcloud.clouds.base import ResourceRecord, Skip
from mcloud.clouds.records import clean_text

Built = ResourceRecord | Skip


def tags_of(tag_list: Any) -> dict[str, str]:
    """AWS's [{"Key": k, "Value": v}] as {k: v}; entries without a key are dropped."""
    if not isinstance(tag_list, list):
        return {}
    return {
        t["Key"]: t.get("Value") or ""
        for t in tag_list
        if isinstance(t, dict) and isinstance(t.get("Key"), str)
    }


def tag_map(tags: Any) -> dict[str, str]:
    """A {key: value} tag mapping (EKS, Lambda, SQS) with text keys only."""
    if not isinstance(tags, dict):
        return {}
    return {k: v if isinstance(v, str) else "" for k, v in tags.items() if isinstance(k, str)}


def iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def epoch(value: Any) -> datetime | None:
    """Seconds since 1970 as text or a number (SQS's timestamps), or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def integer(value: Any) -> int | None:
    """A count sent as text ("12"), or None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < 2**63 else None


def get(item: Any, *path: str) -> Any:
    """item[a][b]..., or None as soon as a step is missing or not a mapping."""
    for key in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def word(value: Any) -> str:
    """A provider's status word as text ("" when it sent none)."""
    return clean_text(value, 64)


def text_or_none(value: Any) -> str | None:
    """A string field as it came, or None when it is not a string."""
    return value if isinstance(value, str) else None


def as_list(value: Any) -> list[Any]:
    """A list field as it came, or [] when it is anything else."""
    return value if isinstance(value, list) else []


def ids(items: Any, key: str | None = None) -> list[str]:
    """The string ids of a list: the items themselves, or each mapping's `key`."""
    if not isinstance(items, list):
        return []
    found = (i.get(key) if isinstance(i, dict) else None for i in items) if key else iter(items)
    return [i for i in found if isinstance(i, str) and i]


def joined(*groups: Iterable[str | None] | str | None) -> list[str]:
    """Ids from several places, in order, without empties (record_or_skip drops repeats)."""
    out: list[str] = []
    for group in groups:
        if isinstance(group, str):
            group = [group]
        for value in group or ():
            if isinstance(value, str) and value:
                out.append(value)
    return out


def arn_parts(arn: Any) -> list[str] | None:
    """arn:partition:service:region:account:resource as its six parts, or None."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def made(kind: str, item: Any, build: Callable[..., Built], *args: Any) -> Built:
    """build(item, *args), or a Skip when the item is not even an object or the build fails
    on something unforeseen: one item never fails its listing."""
    if not isinstance(item, dict):
        return Skip("not an object", f"{kind} {clean_text(item, 80)}")
    try:
        return build(item, *args)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        ref = next((item.get(k) for k in ID_KEYS if isinstance(item.get(k), str)), "")
        return Skip(f"unreadable ({error.__class__.__name__})", f"{kind} {clean_text(ref, 200)}")


# Where each kind of item keeps its id (or name), for a skip to say which item it was.
ID_KEYS = (
    "InstanceId",
    "AutoScalingGroupARN",
    "VolumeId",
    "SnapshotId",
    "SubnetId",
    "GroupId",
    "VpcId",
    "LoadBalancerArn",
    "AllocationId",
    "NatGatewayId",
    "DBInstanceArn",
    "DBClusterArn",
    "TableArn",
    "arn",
    "nodegroupArn",
    "FunctionArn",
    "QueueArn",
    "TopicArn",
    "Id",
    "LoadBalancerName",
    "Name",
    "TableName",
)
