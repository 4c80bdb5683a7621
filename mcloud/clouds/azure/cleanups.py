"""Azure clean-ups of waste through the Compute and Network SDKs: delete an unattached managed
disk, delete an unassociated public IP address, delete an old snapshot.

Each reads the resource first (`ResourceCleanups`): gone is a no-op said in words, attached
or associated now is refused, and only then is the delete sent. Each delete is a long-running
operation: ARM answers 202 with an `Azure-AsyncOperation` (and `Location`) URL, which the
SDK's poller follows to its end."""

from __future__ import annotations

import re
from typing import Any

from mcloud.clouds.azure.errors import translate_errors
from mcloud.clouds.base import (
    ActionResult,
    CloudError,
    ResourceType,
    Status,
    already_gone,
    in_use,
)

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<type>Microsoft\.Compute/disks|Microsoft\.Compute/snapshots"
    r"|Microsoft\.Network/publicIPAddresses)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_TYPES = {
    ResourceType.DISK: "microsoft.compute/disks",
    ResourceType.SNAPSHOT: "microsoft.compute/snapshots",
    ResourceType.IP_ADDRESS: "microsoft.network/publicipaddresses",
}
_GONE_CODES = ("ResourceNotFound", "NotFound", "ResourceGroupNotFound")
_WORDS = {
    ResourceType.DISK: "managed disk",
    ResourceType.SNAPSHOT: "snapshot",
    ResourceType.IP_ADDRESS: "public IP address",
}


def cleanup_parts(kind: str, resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of the disk, snapshot or public IP's ARM id."""
    found = _ID.match(resource_id)
    if not found or found["type"].lower() != _TYPES.get(kind):
        raise CloudError(f"{resource_id!r} is not a {kind}'s id that mcloud can remove.",
                         permanent=True, code="InvalidId")  # fmt: skip
    return found["sub"], found["rg"], found["name"]


def azure_cleanup(
    operations: Any, kind: str, resource_id: str, poll_seconds: float | None, timeout: float
) -> ActionResult:
    """Remove the resource with `operations` (the client's `disks`, `snapshots` or
    `public_ip_addresses` of its subscription) and wait for the operation's end."""
    _, group, name = cleanup_parts(kind, resource_id)
    what = f"Azure {_WORDS[kind]} {name}"
    try:
        with translate_errors(f"read {what}"):
            item = operations.get(group, name)
    except CloudError as error:
        if error.code in _GONE_CODES:
            return already_gone(what)
        raise
    if str(getattr(item, "provisioning_state", "") or "").lower() == "deleting":
        return already_gone(what)
    if kind == ResourceType.DISK:
        state = str(getattr(item, "disk_state", "") or "")
        if getattr(item, "managed_by", None) or state in ("Attached", "Reserved"):
            owner = str(getattr(item, "managed_by", "") or "a VM").rsplit("/", 1)[-1]
            raise in_use(what, f"attached to {owner}")
    if kind == ResourceType.IP_ADDRESS:
        config = getattr(item, "ip_configuration", None)
        if config is not None or getattr(item, "nat_gateway", None) is not None:
            parts = str(getattr(config, "id", "") or "a NAT gateway").split("/")
            user = parts[8] if len(parts) > 8 else parts[-1]
            raise in_use(what, f"associated with {user}")
    kwargs: dict[str, Any] = {}
    if poll_seconds is not None:
        kwargs["polling_interval"] = poll_seconds
    with translate_errors(f"delete {what}"):
        operations.begin_delete(group, name, **kwargs).result(timeout=timeout)
    verb = "released" if kind == ResourceType.IP_ADDRESS else "deleted"
    return ActionResult(True, f"Azure {verb} the {_WORDS[kind]} {name}.", Status.TERMINATED)
