"""GCP clean-ups of waste through google-cloud-compute: delete an unattached disk (a zone
operation), release an unused address (`addresses.delete`, a region operation; a global
address's, a global operation), delete an old snapshot (a global operation).

Each reads the resource first (`ResourceCleanups`): gone is a no-op said in words, in use now
is refused, and only then is the delete sent, once (no retry: a delete sent twice is not the
same as once), and its operation followed to DONE."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.api_core.future.polling import DEFAULT_POLLING

from mcloud.clouds.base import (
    ActionResult,
    CloudError,
    ResourceType,
    Status,
    already_gone,
    in_use,
)
from mcloud.clouds.gcp.errors import translate_errors

_PATHS = {
    ResourceType.DISK: re.compile(
        r"^projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)$"
    ),
    ResourceType.IP_ADDRESS: re.compile(
        r"^projects/(?P<project>[^/]+)/(?:regions/(?P<region>[^/]+)|global)"
        r"/addresses/(?P<address>[^/]+)$"
    ),
    ResourceType.SNAPSHOT: re.compile(
        r"^projects/(?P<project>[^/]+)/global/snapshots/(?P<snapshot>[^/]+)$"
    ),
}


@dataclass(frozen=True)
class Target:
    """What a clean-up works on: the client (with its operations client on the configured
    endpoint), the request's fields, and the resource in words."""

    client: Any
    where: dict[str, str]
    what: str
    verb: str  # "deleted", "released"


def cleanup_target(kind: str, resource_id: str, client_of: Callable[[str, str], Any]) -> Target:
    """The target of `resource_id` (as listed); `client_of(client class name, operations
    kind)` makes the client."""
    pattern = _PATHS.get(kind)
    found = pattern.match(resource_id) if pattern else None
    if found is None:
        raise CloudError(f"{resource_id!r} is not a {kind}'s id that mcloud can remove.",
                         permanent=True, code="InvalidId")  # fmt: skip
    where = {k: v for k, v in found.groupdict().items() if v}
    if kind == ResourceType.DISK:
        return Target(client_of("DisksClient", "zone_operations"), where,
                      f"GCP disk {where['disk']}", "deleted")  # fmt: skip
    if kind == ResourceType.SNAPSHOT:
        return Target(client_of("SnapshotsClient", "global_operations"), where,
                      f"GCP snapshot {where['snapshot']}", "deleted")  # fmt: skip
    if "region" in where:
        client = client_of("AddressesClient", "region_operations")
    else:
        client = client_of("GlobalAddressesClient", "global_operations")
    return Target(client, where, f"GCP address {where['address']}", "released")


def gcp_cleanup(
    target: Target, *, call_options: dict[str, Any], poll_seconds: float | None, timeout: float
) -> ActionResult:
    """Remove the target and wait for its operation to be DONE (see `ResourceCleanups`)."""
    try:
        with translate_errors(f"read {target.what}"):
            item = target.client.get(**target.where, **call_options)
    except CloudError as error:
        if error.code == "NotFound":
            return already_gone(target.what)
        raise
    if str(getattr(item, "status", "") or "") == "DELETING":
        return already_gone(target.what)
    users = list(getattr(item, "users", None) or [])
    if users or str(getattr(item, "status", "") or "") == "IN_USE":
        user = users[0].rsplit("/", 1)[-1] if users else "another resource"
        raise in_use(target.what, f"used by {user}")
    polling = DEFAULT_POLLING.with_timeout(timeout)
    if poll_seconds is not None:
        polling = polling.with_delay(initial=poll_seconds, maximum=max(poll_seconds, 0.01) * 4)
    try:
        with translate_errors(f"remove {target.what}"):
            operation = target.client.delete(
                **target.where, timeout=call_options["timeout"], retry=None
            )
            operation.result(timeout=timeout, polling=polling)
    except CloudError as error:
        if error.code == "NotFound":  # removed by someone else meanwhile
            return already_gone(target.what)
        raise
    return ActionResult(True, f"GCP {target.verb} {target.what.removeprefix('GCP ')}.",
                        Status.TERMINATED)  # fmt: skip
