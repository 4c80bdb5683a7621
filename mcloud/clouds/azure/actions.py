"""Azure VM power actions through the Compute SDK: start, stop (deallocate: an Azure VM only
powered off is still billed for its compute), restart.

Each is a long-running operation: ARM answers 202 with an `Azure-AsyncOperation` (and
`Location`) URL, and the SDK's poller follows it to its end. The adapter's `poll_seconds`
is the interval when ARM does not say (azure-core takes `Retry-After: 0` as not said)."""

from __future__ import annotations

import re
from typing import Any

from mcloud.clouds.actions import action_precheck
from mcloud.clouds.azure.errors import translate_errors
from mcloud.clouds.azure.records_compute import POWER_STATES
from mcloud.clouds.base import ActionResult, CloudError, Status, VmAction, vanished

_VM_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_GONE_CODES = ("ResourceNotFound", "NotFound", "ResourceGroupNotFound", "SubscriptionNotFound")
_SETTLED = {VmAction.START: Status.RUNNING, VmAction.STOP: Status.STOPPED,
            VmAction.REBOOT: Status.RUNNING}  # fmt: skip


def vm_parts(resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a VM's ARM id."""
    found = _VM_ID.match(resource_id)
    if not found:
        raise CloudError(f"{resource_id!r} is not a virtual machine's id.", permanent=True,
                         code="InvalidId")  # fmt: skip
    return found["sub"], found["rg"], found["name"]


def azure_vm_action(
    compute: Any, action: str, resource_id: str, poll_seconds: float | None, timeout: float
) -> ActionResult:
    """Do `action` to the VM with `compute` (a ComputeManagementClient of its subscription)
    and wait for the operation's end (see `VmActions`)."""
    _, group, name = vm_parts(resource_id)
    what = f"Azure VM {name}"
    operations = compute.virtual_machines
    power = _power(operations, group, name, what)
    status = POWER_STATES.get(power, Status.UNKNOWN)
    # Powered off but still allocated (billed): stopping deallocates it.
    if not (action == VmAction.STOP and power == "stopped"):
        done = action_precheck(action, status, what)
        if done is not None:
            return done
    begin = {
        VmAction.START: operations.begin_start,
        VmAction.STOP: operations.begin_deallocate,
        VmAction.REBOOT: operations.begin_restart,
    }[action]
    kwargs: dict[str, Any] = {}
    if poll_seconds is not None:
        kwargs["polling_interval"] = poll_seconds
    try:
        with translate_errors(f"{action} {what}"):
            begin(group, name, **kwargs).result(timeout=timeout)
    except CloudError as error:
        if error.code in _GONE_CODES:
            raise vanished(what) from None
        raise
    verb = {VmAction.START: "started", VmAction.STOP: "deallocated",
            VmAction.REBOOT: "restarted"}[action]  # fmt: skip
    return ActionResult(True, f"Azure {verb} {name} (it was {power or 'in an unknown state'}).",
                        _SETTLED[action])  # fmt: skip


def _power(operations: Any, group: str, name: str, what: str) -> str:
    """The x of the VM's "PowerState/x" now; `vanished` when ARM no longer has it."""
    try:
        with translate_errors(f"read {what}"):
            vm = operations.get(group, name, expand="instanceView")
    except CloudError as error:
        if error.code in _GONE_CODES:
            raise vanished(what) from None
        raise
    statuses = getattr(getattr(vm, "instance_view", None), "statuses", None) or []
    for entry in statuses:
        code = str(getattr(entry, "code", "") or "")
        if code.startswith("PowerState/"):
            return code.removeprefix("PowerState/").lower()
    return ""
