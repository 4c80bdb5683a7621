"""Compute Engine v1: an instance's start, stop and reset, each a zone operation as Compute
answers it.

- The action's POST answers a compute#operation with status RUNNING; `zoneOperations.get`
  answers it RUNNING `operation_polls` times, then DONE (with endTime and progress 100);
  `zoneOperations.wait` answers it DONE at once (the real one waits up to two minutes).
- While it runs the instance is STAGING (start) or STOPPING (stop); once the operation is
  DONE it is RUNNING or TERMINATED (Compute's word for stopped), visible to the next listing.
- Starting a running instance and stopping a stopped one are accepted and change nothing,
  as on Compute; resetting one that is not running is refused (400), as on Compute.
- Every route takes part in fault injection, and `calls()` counts what was received.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import COMPUTE, GcpPart, _ApiError, _compute_time

# action -> (status while its operation runs, status after); None: unchanged.
INSTANCE_ACTIONS: dict[str, tuple[str | None, str | None]] = {
    "start": ("STAGING", "RUNNING"),
    "stop": ("STOPPING", "TERMINATED"),
    "reset": (None, None),
}


class OperationsMixin(GcpPart):
    operation_polls = 1
    _operations: dict[str, dict[str, Any]]  # name -> {"data": operation JSON, "polls", ...}

    def _operation_routes(self, p: str) -> list[tuple[str, str, Any]]:
        zone = p + r"/zones/(?P<zone>[^/]+)"
        return [
            ("POST", zone + r"/instances/(?P<name>[^/]+)/(?P<verb>start|stop|reset)",
             self._instance_action),
            ("GET", zone + r"/operations/(?P<op>[^/]+)", self._get_operation),
            ("POST", zone + r"/operations/(?P<op>[^/]+)/wait", self._wait_operation),
            ("GET", p + r"/regions/(?P<region>[^/]+)/operations/(?P<op>[^/]+)",
             self._get_operation),
            ("POST", p + r"/regions/(?P<region>[^/]+)/operations/(?P<op>[^/]+)/wait",
             self._wait_operation),
            ("GET", p + r"/global/operations/(?P<op>[^/]+)", self._get_operation),
            ("POST", p + r"/global/operations/(?P<op>[^/]+)/wait", self._wait_operation),
        ]  # fmt: skip

    def _instance_action(self, request: Request, email: str) -> Response:
        project, zone, name, verb = (request.params[k] for k in ("project", "zone", "name", "verb"))
        self._check(project, email, f"compute.instances.{verb}")
        with self._lock:
            instance = self._projects[project].instances.get((zone, name))
            if instance is None:
                message = (
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found"
                )
                raise _ApiError(self.error(404, "NotFound", message))
            if verb == "reset" and instance["status"] != "RUNNING":
                message = (
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' is not ready"
                )
                raise _ApiError(self.error(400, "Invalid", message, reason="resourceNotReady"))
            running, final = INSTANCE_ACTIONS[verb]
            already = (verb == "start" and instance["status"] == "RUNNING") or (
                verb == "stop" and instance["status"] == "TERMINATED"
            )
            if running and not already:
                instance["status"] = running
            now = _compute_time(datetime.now(UTC))
            op_name = (
                f"operation-{int(datetime.now(UTC).timestamp() * 1000)}-{uuid.uuid4().hex[:12]}"
            )
            zone_url = f"{COMPUTE}/projects/{project}/zones/{zone}"
            data: dict[str, Any] = {
                "kind": "compute#operation",
                "id": self._new_id(),
                "name": op_name,
                "zone": zone_url,
                "operationType": verb,
                "targetLink": instance["selfLink"],
                "targetId": instance["id"],
                "status": "RUNNING",
                "user": email,
                "progress": 0,
                "insertTime": now,
                "startTime": now,
                "selfLink": f"{zone_url}/operations/{op_name}",
            }
            self._operations[op_name] = {
                "data": data, "polls": self.operation_polls, "project": project,
                "key": (zone, name), "final": None if already else final, "place": f"zones/{zone}",
            }  # fmt: skip
            return Response.json(copy.deepcopy(data))

    def _operation(self, request: Request, email: str, *, wait: bool) -> Response:
        """zoneOperations, regionOperations or globalOperations: get (or wait)."""
        project, op = request.params["project"], request.params["op"]
        zone, region = request.params.get("zone"), request.params.get("region")
        place = f"zones/{zone}" if zone else f"regions/{region}" if region else "global"
        kind = "zone" if zone else "region" if region else "global"
        self._check(project, email, f"compute.{kind}Operations.get")
        with self._lock:
            found = self._operations.get(op)
            if found is None or found["project"] != project or found.get("place", place) != place:
                where = f"projects/{project}/{place}/operations/{op}"
                message = f"The resource '{where}' was not found"
                raise _ApiError(self.error(404, "NotFound", message))
            if found["data"]["status"] != "DONE":
                if found["polls"] > 0 and not wait:
                    found["polls"] -= 1
                else:
                    self._finish(found)
            return Response.json(copy.deepcopy(found["data"]))

    def _finish(self, found: dict[str, Any]) -> None:
        data = found["data"]
        data.update(status="DONE", progress=100, endTime=_compute_time(datetime.now(UTC)))
        if "remove" in found:  # a delete: the resource goes now
            found["remove"]()
            return
        instance = self._projects[found["project"]].instances.get(found["key"])
        if instance is not None and found["final"]:
            instance["status"] = found["final"]
            if found["final"] == "RUNNING":
                instance["lastStartTimestamp"] = data["endTime"]
            else:
                instance["lastStopTimestamp"] = data["endTime"]

    def _get_operation(self, request: Request, email: str) -> Response:
        return self._operation(request, email, wait=False)

    def _wait_operation(self, request: Request, email: str) -> Response:
        return self._operation(request, email, wait=True)
