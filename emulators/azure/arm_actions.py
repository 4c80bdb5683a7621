"""Azure Resource Manager: a VM's power actions (start, powerOff, deallocate, restart) as
long-running operations, the way Compute answers them.

- The action's POST answers 202 with no body, an `Azure-AsyncOperation` URL (the operation's
  status: InProgress, then Succeeded), a `Location` URL (202 while it runs, then 200) and
  `Retry-After: 0`, so a client's poll interval decides how fast it follows.
- While it runs, the VM's power state is the transitional one (starting, stopping,
  deallocating); once the operation is polled to its end it is the final one, visible to the
  next listing and to Resource Graph.
- `operation_polls` is how many polls answer InProgress before the end (1: the SDK polls at
  least twice).
- Deleting a managed disk, a snapshot or a public IP address is a long-running operation
  too (202, the same two URLs, `Retry-After: 0`): the resource says `Deleting` while it runs
  and is gone from the next listing once the operation is polled to its end. A resource that
  does not exist answers 204 (ARM's deletes are idempotent); an attached disk 409
  `OperationNotAllowed`, an associated public IP 400 `PublicIPAddressInUse`, as ARM does.
- Every route takes part in fault injection, and `calls()` counts what was received.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from emulators.azure.state import _SCOPE, AzurePart, _arm, _resource_id, _timestamp
from emulators.base import Request, Response

# The operation of each action: (power state while it runs, power state after).
VM_ACTIONS = {
    "start": ("starting", "running"),
    "powerOff": ("stopping", "stopped"),
    "deallocate": ("deallocating", "deallocated"),
    "restart": ("starting", "running"),
}
# What can be deleted here, as (namespace, type) in lower case.
DELETABLE = {
    ("microsoft.compute", "disks"),
    ("microsoft.compute", "snapshots"),
    ("microsoft.network", "publicipaddresses"),
}
_OPERATIONS = (
    r"/+subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>Microsoft\.(?:Compute|Network))"
    r"/locations/(?P<location>[^/]+)/operations/(?P<op>[^/]+)"
)


@dataclass
class _Operation:
    vm: str  # lower-case VM id
    action: str
    final_state: str
    started: str
    polls_left: int
    done: bool = False
    remove: bool = False  # a delete: the resource goes once the operation ends


class ArmActionsMixin(AzurePart):
    operation_polls = 1

    def _register_action_routes(self) -> None:
        vm = rf"{_SCOPE}/providers/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)"
        self.route("POST", rf"{vm}/(?P<verb>start|powerOff|deallocate|restart)")(self._vm_action)
        self.route("GET", _OPERATIONS)(self._operation)
        resource = rf"{_SCOPE}/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)"
        self.route("DELETE", resource)(self._delete)

    def _delete(self, request: Request) -> Response:
        """Delete a disk, snapshot or public IP address: a long-running operation."""
        sub, rg, name = request.params["sub"], request.params.get("rg"), request.params["name"]
        ns, kind = request.params["ns"], request.params["type"]
        rtype = f"{ns}/{kind}"
        caller = self._authorize(request, sub, f"{rtype}/delete")
        if isinstance(caller, Response):
            return caller
        if rg is None or (ns.lower(), kind.lower()) not in DELETABLE:
            return self.error(405, "MethodNotAllowed", f"DELETE is not allowed on {rtype}")
        rid = _resource_id(sub, rg, rtype, name).lower()
        with self._lock:
            found = self._state.resources.get(rid)
            if found is None:
                return Response(204, b"", _arm(None).headers)
            properties = found.setdefault("properties", {})
            if kind.lower() == "disks" and (found.get("managedBy") or properties.get(
                "diskState") in ("Attached", "Reserved")):  # fmt: skip
                owner = str(found.get("managedBy") or "a virtual machine").rsplit("/", 1)[-1]
                return self.error(
                    409,
                    "OperationNotAllowed",
                    f"Disk {name} is attached to VM {owner}. Detach it before deleting.",
                )
            if kind.lower() == "publicipaddresses" and properties.get("ipConfiguration"):
                config = properties["ipConfiguration"].get("id", "")
                return self.error(
                    400,
                    "PublicIPAddressInUse",
                    f"Public IP address {rid} can not be deleted since it is still allocated "
                    f"to resource {config}. In order to delete the public IP, disassociate/detach "
                    "the Public IP address from the resource.",
                )
            op_id = str(uuid.uuid4())
            self._state.operations[op_id] = _Operation(
                rid, "delete", "", _timestamp(None, "+00:00"), self.operation_polls, remove=True
            )
            properties["provisioningState"] = "Deleting"
            location = found.get("location", "westeurope")
        return Response(202, b"", self._operation_headers(request, sub, ns, location, op_id))

    def _operation_headers(
        self, request: Request, sub: str, namespace: str, location: str, op_id: str
    ) -> dict[str, str]:
        base = f"{self.url}/subscriptions/{sub}/providers/{namespace}/locations/{location}"
        version = request.arg("api-version") or ""
        return {
            **_arm(None).headers,
            "Azure-AsyncOperation": f"{base}/operations/{op_id}?p={op_id}&api-version={version}",
            "Location": f"{base}/operations/{op_id}?p={op_id}&monitor=true&api-version={version}",
            "Retry-After": "0",
            "Content-Type": "text/plain",
        }

    def _vm_action(self, request: Request) -> Response:
        sub, name, verb = request.params["sub"], request.params["name"], request.params["verb"]
        rg = request.params.get("rg")
        rtype = "Microsoft.Compute/virtualMachines"
        caller = self._authorize(request, sub, f"{rtype}/{verb}/action")
        if isinstance(caller, Response):
            return caller
        rid = _resource_id(sub, rg or "", rtype, name).lower()
        with self._lock:
            vm = self._state.resources.get(rid) if rg else None
            if vm is None or rid not in self._state.power:
                return self.error(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            running, final = VM_ACTIONS[verb]
            if verb == "restart" and self._state.power[rid] != "running":
                return self.error(
                    409,
                    "OperationNotAllowed",
                    "Operation 'restart' is not allowed on VM "
                    f"'{name}' since the VM is not running.",
                )
            op_id = str(uuid.uuid4())
            self._state.operations[op_id] = _Operation(
                rid, verb, final, _timestamp(None, "+00:00"), self.operation_polls
            )
            self._state.power[rid] = running
            location = vm["location"]
        headers = self._operation_headers(request, sub, "Microsoft.Compute", location, op_id)
        return Response(202, b"", headers)

    def _operation(self, request: Request) -> Response:
        """The operation's status (Azure-AsyncOperation), or with `monitor=true` its
        Location: 202 while it runs, then 200 with no body (a power action returns nothing)."""
        caller = self._authorize(request, request.params["sub"], f"{request.params['ns']}/read")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            op = self._state.operations.get(request.params["op"])
            if op is None:
                return self.error(404, "NotFound", "The operation was not found.")
            if op.polls_left > 0:
                op.polls_left -= 1
            elif not op.done:
                op.done = True
                if op.remove:
                    self._state.resources.pop(op.vm, None)
                elif op.vm in self._state.power:  # removed meanwhile: nothing to settle
                    self._state.power[op.vm] = op.final_state
        monitor = (request.arg("monitor") or "").lower() == "true"
        if monitor:
            if not op.done:
                again = f"{self.url}{request.path}?{request.raw_query}"
                headers = {**_arm(None).headers, "Retry-After": "0", "Location": again}
                return Response(202, b"", headers)
            return Response(200, b"", _arm(None).headers)
        body: dict[str, Any] = {
            "name": request.params["op"],
            "status": "Succeeded" if op.done else "InProgress",
            "startTime": op.started,
        }
        if op.done:
            body["endTime"] = _timestamp(None, "+00:00")
        headers = {} if op.done else {"Retry-After": "0"}
        return _arm(body, 200, headers)
