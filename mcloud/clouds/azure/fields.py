"""Reading Resource Graph rows, whatever they hold.

A row is the JSON of one resource as Resource Graph returns it (`id`, `name`, `type` in lower
case, `location`, `resourceGroup`, `tags`, `sku`, `kind`, `managedBy`, `zones`, `properties`
as Resource Manager returns them). Nothing here raises on a row of the wrong shape: a step
into something that is not an object is None, a list that is not a list is empty, text that
is not text is None."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mcloud.clouds.base import ResourceRecord, Skip, Status
from mcloud.clouds.records import clean_datetime, clean_text, record_or_skip

_RESOURCE_GROUP = re.compile(r"/resourceGroups/([^/]+)", re.IGNORECASE)

# provisioningState, lower-cased, of resources whose only state it is.
PROVISIONING_STATES = {
    "succeeded": Status.AVAILABLE,
    "creating": Status.PENDING,
    "resolvingdns": Status.PENDING,
    "updating": Status.PENDING,
    "provisioning": Status.PENDING,
    "migrating": Status.PENDING,
    "deleting": Status.DELETING,
    "failed": Status.ERROR,
    "canceled": Status.ERROR,
}


def get(value: Any, *path: str | int) -> Any:
    """value[a][b][c] through objects (str steps) and lists (int steps); None when a step is
    missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int):
            inside = isinstance(value, list) and -len(value) <= step < len(value)
            value = value[step] if inside else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def text(value: Any) -> str | None:
    """Text as sent, or None for anything that is not text (or is blank)."""
    return value if isinstance(value, str) and value.strip() else None


def number(value: Any) -> int | float | None:
    """A number as sent (not a boolean), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def items(value: Any) -> list[Any]:
    """A list as sent, or [] for anything else."""
    return value if isinstance(value, list) else []


def ids(value: Any, key: str = "id") -> list[str]:
    """The `key` of each object of a list of references ([{"id": ...}, ...]) that has one."""
    return [v for v in (get(item, key) for item in items(value)) if text(v)]


def when(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as Azure writes it ("...T10:00:00.1234567Z"), in UTC."""
    if not isinstance(value, str):
        return None
    try:
        return clean_datetime(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def resource_group(resource_id: Any) -> str | None:
    """The resource group as the id spells it (Resource Graph's column is lower case)."""
    found = _RESOURCE_GROUP.search(resource_id if isinstance(resource_id, str) else "")
    return found.group(1) if found else None


def state(value: Any) -> str:
    """A state word, lower-cased, for the status tables ("" for anything else)."""
    return value.strip().lower() if isinstance(value, str) else ""


def gone_or(provisioning: Any, status: str) -> str:
    """Status.DELETING while Resource Manager deletes the resource, else `status`."""
    return Status.DELETING if state(provisioning) == "deleting" else status


def provisioned(row: Any) -> str:
    """The status of a resource whose only state is its provisioning state."""
    return PROVISIONING_STATES.get(state(get(row, "properties", "provisioningState")),
                                   Status.UNKNOWN)  # fmt: skip


def arm_record(
    label: str,
    row: Any,
    resource_type: str,
    status: str,
    /,
    *,
    attached_to: list[str] | None = None,
    created_at: Any = None,
    **metadata: Any,
) -> ResourceRecord | Skip:
    """A record of a row: its id, name, location, tags, resource group and Azure type are
    read the same way for every type; `metadata` adds the type's own details."""
    rid = text(get(row, "id"))
    return record_or_skip(
        kind=label,
        resource_id=rid,
        name=get(row, "name"),
        type=resource_type,
        region=get(row, "location"),
        status=status,
        created_at=created_at,
        tags=get(row, "tags"),
        metadata={
            **metadata,
            "resource_group": resource_group(rid),
            "provider_type": text(get(row, "type")),
        },
        attached_to=attached_to or [],
    )


def made(
    kind: str, item: Any, build: Callable[[Any], ResourceRecord | Skip]
) -> ResourceRecord | Skip:
    """build(item), or a Skip when the build fails on something unforeseen: one item never
    fails its listing."""
    try:
        return build(item)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        ref = get(item, "id")
        return Skip(
            f"unreadable ({error.__class__.__name__})",
            f"{kind} {clean_text(ref if isinstance(ref, str) else '', 200)}",
        )
