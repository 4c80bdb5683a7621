"""EC2 power actions: start, stop and reboot one instance.

EC2's calls return at once: start and stop answer the instance's new state (pending,
stopping), which the next listing follows; reboot answers nothing and the instance stays
running."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.actions import action_precheck
from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.aws.records_compute import _EC2_STATES
from mcloud.clouds.base import ActionResult, CloudError, Status, VmAction, vanished

_GONE_CODES = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")


def ec2_vm_action(ec2: Any, action: str, instance_id: str) -> ActionResult:
    """Do `action` to `instance_id` with the region's EC2 client (see `VmActions`)."""
    what = f"EC2 instance {instance_id}"
    state = _state(ec2, instance_id, what)
    done = action_precheck(action, _EC2_STATES.get(state, Status.UNKNOWN), what)
    if done is not None:
        return done
    with translate_errors(f"{action} {what}"):
        if action == VmAction.START:
            answer = ec2.start_instances(InstanceIds=[instance_id])["StartingInstances"]
        elif action == VmAction.STOP:
            answer = ec2.stop_instances(InstanceIds=[instance_id])["StoppingInstances"]
        else:
            ec2.reboot_instances(InstanceIds=[instance_id])
            return ActionResult(True, f"EC2 is rebooting {instance_id}.", Status.RUNNING)
    now = str(answer[0].get("CurrentState", {}).get("Name") or "") if answer else ""
    return ActionResult(
        True,
        f"EC2 answered: {instance_id} is {now or 'changing'} (was {state}).",
        _EC2_STATES.get(now, Status.UNKNOWN),
    )


def _state(ec2: Any, instance_id: str, what: str) -> str:
    """The instance's state name; `vanished` when EC2 no longer has it."""
    try:
        with translate_errors(f"read {what}"):
            reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except CloudError as error:
        if error.code in _GONE_CODES:
            raise vanished(what) from None
        raise
    instances = [i for r in reservations for i in r.get("Instances", [])]
    if not instances:
        raise vanished(what)
    return str(instances[0].get("State", {}).get("Name") or "")
