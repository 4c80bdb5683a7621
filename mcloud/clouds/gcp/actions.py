"""GCP instance power actions through google-cloud-compute: start, stop, reset (reboot).

Each answers a zone operation (status PENDING, RUNNING, DONE), which the SDK's
`ExtendedOperation.result()` polls through zoneOperations.get until it is DONE; an
operation that ends with an error raises it."""

from __future__ import annotations

import re
from typing import Any

from google.api_core.future.polling import DEFAULT_POLLING

from mcloud.clouds.actions import action_precheck
from mcloud.clouds.base import ActionResult, CloudError, Status, VmAction, vanished
from mcloud.clouds.gcp.errors import translate_errors
from mcloud.clouds.gcp.records_compute import _INSTANCE_STATUSES

_INSTANCE_ID = re.compile(
    r"^projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/instances/(?P<name>[^/]+)$"
)
_SETTLED = {VmAction.START: Status.RUNNING, VmAction.STOP: Status.STOPPED,
            VmAction.REBOOT: Status.RUNNING}  # fmt: skip


def instance_parts(resource_id: str) -> tuple[str, str, str]:
    """(project, zone, name) of an instance's id as the inventory lists it."""
    found = _INSTANCE_ID.match(resource_id)
    if not found:
        raise CloudError(f"{resource_id!r} is not an instance's id.", permanent=True,
                         code="InvalidId")  # fmt: skip
    return found["project"], found["zone"], found["name"]


def gcp_vm_action(
    instances: Any,
    action: str,
    resource_id: str,
    *,
    call_options: dict[str, Any],
    poll_seconds: float | None,
    timeout: float,
) -> ActionResult:
    """Do `action` to the instance with `instances` (an InstancesClient) and wait for its zone
    operation to be DONE (see `VmActions`)."""
    project, zone, name = instance_parts(resource_id)
    what = f"GCP instance {name}"
    where = {"project": project, "zone": zone, "instance": name}
    try:
        with translate_errors(f"read {what}"):
            word = str(instances.get(**where, **call_options).status or "")
    except CloudError as error:
        if error.code == "NotFound":
            raise vanished(what) from None
        raise
    done = action_precheck(action, _INSTANCE_STATUSES.get(word, Status.UNKNOWN), what)
    if done is not None:
        return done
    send = {VmAction.START: instances.start, VmAction.STOP: instances.stop,
            VmAction.REBOOT: instances.reset}[action]  # fmt: skip
    polling = DEFAULT_POLLING.with_timeout(timeout)
    if poll_seconds is not None:
        polling = polling.with_delay(initial=poll_seconds, maximum=max(poll_seconds, 0.01) * 4)
    try:
        with translate_errors(f"{action} {what}"):
            operation = send(**where, timeout=call_options["timeout"], retry=None)
            operation.result(timeout=timeout, polling=polling)
    except CloudError as error:
        if error.code == "NotFound":
            raise vanished(what) from None
        raise
    verb = {VmAction.START: "started", VmAction.STOP: "stopped", VmAction.REBOOT: "reset"}[action]
    return ActionResult(True, f"GCP {verb} {name} (it was {word or 'in an unknown state'}).",
                        _SETTLED[action])  # fmt: skip
