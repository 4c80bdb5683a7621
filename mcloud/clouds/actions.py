"""What every adapter decides before it acts on a VM, from the VM's status as the provider
says it now: whether the action would change nothing (a no-op, said in words), cannot apply
(a permanent CloudError) or is sent. One table for every provider, so "start a running VM"
means the same everywhere."""

from __future__ import annotations

from mcloud.clouds.base import (
    GONE_STATUSES,
    ActionResult,
    CloudError,
    Status,
    VmAction,
    vanished,
)

# (action, status) -> what it already is: the action is a no-op.
_ALREADY = {
    (VmAction.START, Status.RUNNING): "already running",
    (VmAction.START, Status.PENDING): "already starting",
    (VmAction.STOP, Status.STOPPED): "already stopped",
    (VmAction.STOP, Status.STOPPING): "already stopping",
}
# (action, status) -> why it cannot be done now.
_REFUSED = {
    (VmAction.START, Status.STOPPING): "is stopping: start it once it has stopped",
    (VmAction.STOP, Status.PENDING): "is starting: stop it once it runs",
    (VmAction.REBOOT, Status.STOPPED): "is stopped: start it instead",
    (VmAction.REBOOT, Status.STOPPING): "is stopping: start it once it has stopped",
    (VmAction.REBOOT, Status.PENDING): "is starting already",
}


def action_precheck(action: str, status: str, what: str) -> ActionResult | None:
    """A no-op result when `what` (the VM, in words) is already as `action` asks, None when
    the action is to be sent; raises CloudError when it cannot be (gone, or a state the
    action does not apply to)."""
    if action not in (VmAction.START, VmAction.STOP, VmAction.REBOOT):
        raise CloudError(f"Unknown action {action!r}.", permanent=True, code="UnknownAction")
    if status in GONE_STATUSES:
        raise vanished(what)
    if (action, status) in _ALREADY:
        return ActionResult(
            changed=False, message=f"Nothing to do: {what} is {_ALREADY[action, status]}.",
            status=status,
        )  # fmt: skip
    if (action, status) in _REFUSED:
        raise CloudError(
            f"Cannot {action} {what}: it {_REFUSED[action, status]}.",
            permanent=True,
            code="InvalidState",
        )
    return None
