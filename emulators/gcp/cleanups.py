"""Compute Engine v1: reading and deleting a disk, an address and a snapshot, as Compute
answers them.

- `disks.get`, `addresses.get` (regional), `globalAddresses.get` and `snapshots.get` answer
  the stored resource, or 404 when there is none.
- `disks.delete` answers a zone operation, `addresses.delete` a region operation,
  `globalAddresses.delete` and `snapshots.delete` a global operation, each RUNNING
  (`operation_polls` times through its operations.get, then DONE, as the power actions'). While
  it runs the resource says DELETING; once DONE it is gone from the next listing (Compute's
  own and Cloud Asset Inventory's).
- A disk that instances use, and an address in use, are refused (400
  `resourceInUseByAnotherResource`), as on Compute; a resource that does not exist is a 404.
- Every route takes part in fault injection, and `calls()` counts what was received.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import COMPUTE, GcpPart, _ApiError, _compute_time

_ADDRESS = "compute.googleapis.com/Address"
_GLOBAL_ADDRESS = "compute.googleapis.com/GlobalAddress"
_SNAPSHOT = "compute.googleapis.com/Snapshot"


class CleanupsMixin(GcpPart):
    operation_polls: int
    _operations: dict[str, dict[str, Any]]
    asset_data: Callable[[str, str, str], dict[str, Any]]
    remove_asset: Callable[[str, str, str], None]

    def _cleanup_routes(self, p: str) -> list[tuple[str, str, Any]]:
        disk = p + r"/zones/(?P<zone>[^/]+)/disks/(?P<name>[^/]+)"
        address = p + r"/regions/(?P<region>[^/]+)/addresses/(?P<name>[^/]+)"
        global_address = p + r"/global/addresses/(?P<name>[^/]+)"
        snapshot = p + r"/global/snapshots/(?P<name>[^/]+)"
        return [
            ("GET", disk, self._get_disk),
            ("DELETE", disk, self._delete_disk),
            ("GET", address, self._get_address),
            ("DELETE", address, self._delete_address),
            ("GET", global_address, self._get_address),
            ("DELETE", global_address, self._delete_address),
            ("GET", snapshot, self._get_snapshot),
            ("DELETE", snapshot, self._delete_snapshot),
        ]

    # --- disks ------------------------------------------------------------------------------
    def _disk(self, request: Request, email: str, permission: str) -> dict[str, Any]:
        project, zone, name = (request.params[k] for k in ("project", "zone", "name"))
        self._check(project, email, permission)
        disk = self._projects[project].disks.get((zone, name))
        if disk is None:
            raise _ApiError(self._not_found(f"projects/{project}/zones/{zone}/disks/{name}"))
        return disk

    def _get_disk(self, request: Request, email: str) -> Response:
        with self._lock:
            return Response.json(copy.deepcopy(self._disk(request, email, "compute.disks.get")))

    def _delete_disk(self, request: Request, email: str) -> Response:
        project, zone, name = (request.params[k] for k in ("project", "zone", "name"))
        with self._lock:
            disk = self._disk(request, email, "compute.disks.delete")
            if disk.get("users"):
                raise _ApiError(self._in_use(disk["selfLink"], disk["users"][0]))
            state = self._projects[project]

            def remove() -> None:
                state.disks.pop((zone, name), None)

            return self._deletion(project, f"zones/{zone}", email, disk, remove)

    # --- addresses --------------------------------------------------------------------------
    def _address(self, request: Request, email: str, permission: str) -> tuple[str, str]:
        """(asset type, path) of the address the request names; 404 when there is none."""
        project, name = request.params["project"], request.params["name"]
        region = request.params.get("region")
        self._check(project, email, permission)
        where = f"regions/{region}" if region else "global"
        path = f"projects/{project}/{where}/addresses/{name}"
        kind = _ADDRESS if region else _GLOBAL_ADDRESS
        try:
            self.asset_data(project, kind, path)
        except KeyError:
            raise _ApiError(self._not_found(path)) from None
        return kind, path

    def _get_address(self, request: Request, email: str) -> Response:
        with self._lock:
            kind, path = self._address(request, email, "compute.addresses.get")
            project = request.params["project"]
            return Response.json(copy.deepcopy(self.asset_data(project, kind, path)))

    def _delete_address(self, request: Request, email: str) -> Response:
        project, region = request.params["project"], request.params.get("region")
        with self._lock:
            kind, path = self._address(request, email, "compute.addresses.delete")
            data = self.asset_data(project, kind, path)
            if data.get("users") or data.get("status") == "IN_USE":
                users = data.get("users") or ["another resource"]
                raise _ApiError(self._in_use(data["selfLink"], users[0]))
            return self._deletion(
                project, f"regions/{region}" if region else "global", email, data,
                lambda: self.remove_asset(project, kind, path),
            )  # fmt: skip

    # --- snapshots --------------------------------------------------------------------------
    def _snapshot(self, request: Request, email: str, permission: str) -> str:
        project, name = request.params["project"], request.params["name"]
        self._check(project, email, permission)
        path = f"projects/{project}/global/snapshots/{name}"
        try:
            self.asset_data(project, _SNAPSHOT, path)
        except KeyError:
            raise _ApiError(self._not_found(path)) from None
        return path

    def _get_snapshot(self, request: Request, email: str) -> Response:
        with self._lock:
            path = self._snapshot(request, email, "compute.snapshots.get")
            project = request.params["project"]
            return Response.json(copy.deepcopy(self.asset_data(project, _SNAPSHOT, path)))

    def _delete_snapshot(self, request: Request, email: str) -> Response:
        project = request.params["project"]
        with self._lock:
            path = self._snapshot(request, email, "compute.snapshots.delete")
            data = self.asset_data(project, _SNAPSHOT, path)
            return self._deletion(
                project, "global", email, data,
                lambda: self.remove_asset(project, _SNAPSHOT, path),
            )  # fmt: skip

    # --- shared -----------------------------------------------------------------------------
    def _deletion(
        self,
        project: str,
        place: str,
        email: str,
        target: dict[str, Any],
        remove: Callable[[], None],
    ) -> Response:
        """The RUNNING operation of a delete, in `place` ("zones/z", "regions/r", "global")."""
        target["status"] = "DELETING"
        now = _compute_time(datetime.now(UTC))
        op_name = f"operation-{int(datetime.now(UTC).timestamp() * 1000)}-{uuid.uuid4().hex[:12]}"
        place_url = f"{COMPUTE}/projects/{project}/{place}"
        data: dict[str, Any] = {
            "kind": "compute#operation",
            "id": self._new_id(),
            "name": op_name,
            "operationType": "delete",
            "targetLink": target["selfLink"],
            "targetId": target.get("id", ""),
            "status": "RUNNING",
            "user": email,
            "progress": 0,
            "insertTime": now,
            "startTime": now,
            "selfLink": f"{place_url}/operations/{op_name}",
        }
        if place.startswith("zones/"):
            data["zone"] = place_url
        elif place.startswith("regions/"):
            data["region"] = place_url
        self._operations[op_name] = {
            "data": data, "polls": self.operation_polls, "project": project, "key": None,
            "final": None, "place": place, "remove": remove,
        }  # fmt: skip
        return Response.json(copy.deepcopy(data))

    def _not_found(self, path: str) -> Response:
        return self.error(404, "NotFound", f"The resource '{path}' was not found")

    def _in_use(self, link: str, user: str) -> Response:
        path = link.removeprefix(f"{COMPUTE}/")
        word = {"disks": "disk", "addresses": "address"}.get(path.split("/")[-2], "resource")
        message = f"The {word} resource '{path}' is already being used by '{user}'"
        return self.error(400, "Invalid", message, reason="resourceInUseByAnotherResource")
