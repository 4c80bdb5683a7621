"""Compute Engine v1: projects, instances, disks and networks, with aggregated lists."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import COMPUTE, GcpPart, _ApiError, _compute_time, _Project, _region
from emulators.gcp.network import AUTO_RANGES

# Scopes every aggregated list reports, as the real API lists every zone of the project on every
# page; zones used by added resources are appended to these.
DEFAULT_ZONES = (
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-central1-f",
    "us-east1-b",
    "us-east1-c",
    "us-east1-d",
    "europe-west1-b",
    "europe-west1-c",
    "europe-west1-d",
    "asia-east1-a",
    "asia-east1-b",
)
INSTANCE_STATUSES = frozenset(
    {
        "PROVISIONING",
        "STAGING",
        "RUNNING",
        "STOPPING",
        "STOPPED",
        "SUSPENDING",
        "SUSPENDED",
        "REPAIRING",
        "TERMINATED",
    }
)
STOPPED_STATUSES = frozenset({"TERMINATED", "STOPPED"})
KINDS = ("instance", "disk", "network", "bucket")


class ComputeMixin(GcpPart):
    _buckets: dict[str, tuple[str, dict[str, Any]]]  # name -> (project, json)
    add_subnetwork: Callable[..., dict[str, Any]]

    def add_instance(
        self,
        project: str,
        *,
        zone: str = "us-central1-a",
        name: str,
        machine_type: str = "e2-medium",
        status: str = "RUNNING",
        labels: dict[str, str] | None = None,
        network: str = "default",
        internal_ip: str | None = None,
        external_ip: str | None = None,
        created: datetime | str | None = None,
        network_tags: list[str] | None = None,
        subnetwork: str | None = None,
        boot_disk: str | None = None,
        metadata: dict[str, str] | None = None,
        stopped: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#instance; without external_ip it has no access config, as on GCP.
        `network_tags` are its network tags (`tags.items`, which firewall rules match); its
        subnetwork is the network's name in the zone's region unless named; its boot disk is
        disks/<boot_disk or name> of the zone; `metadata` its metadata items (a managed
        instance group's "created-by"). It runs as the project's default service account.
        A stopped one (TERMINATED) stopped at `stopped` (its lastStopTimestamp; else when
        it was created)."""
        assert status in INSTANCE_STATUSES, status
        with self._lock:
            state = self._project(project)
            if (zone, name) in state.instances:
                raise ValueError(f"instance {name} already exists in {project}/{zone}")
            if internal_ip is None:
                n = state.next_ip
                internal_ip = f"10.{128 + n // 65536}.{n // 256 % 256}.{n % 256}"
                state.next_ip += 1
            zone_url = f"{COMPUTE}/projects/{project}/zones/{zone}"
            nic: dict[str, Any] = {
                "kind": "compute#networkInterface",
                "network": f"{COMPUTE}/projects/{project}/global/networks/{network}",
                "subnetwork": (
                    f"{COMPUTE}/projects/{project}/regions/{_region(zone)}/subnetworks/"
                    f"{subnetwork or network}"
                ),
                "networkIP": internal_ip,
                "name": "nic0",
                "fingerprint": "Q1lhR3q0Y0A=",
                "stackType": "IPV4_ONLY",
            }
            if external_ip:
                nic["accessConfigs"] = [
                    {
                        "kind": "compute#accessConfig",
                        "type": "ONE_TO_ONE_NAT",
                        "name": "External NAT",
                        "natIP": external_ip,
                        "networkTier": "PREMIUM",
                    }
                ]
            timestamp = _compute_time(created)
            data: dict[str, Any] = {
                "kind": "compute#instance",
                "id": self._new_id(),
                "creationTimestamp": timestamp,
                "name": name,
                "tags": {
                    "fingerprint": "42WmSpB8rSM=",
                    **({"items": list(network_tags)} if network_tags else {}),
                },
                "machineType": f"{zone_url}/machineTypes/{machine_type}",
                "status": status,
                "zone": zone_url,
                "canIpForward": False,
                "networkInterfaces": [nic],
                "disks": [
                    {
                        "kind": "compute#attachedDisk",
                        "type": "PERSISTENT",
                        "mode": "READ_WRITE",
                        "source": f"{zone_url}/disks/{boot_disk or name}",
                        "deviceName": boot_disk or name,
                        "index": 0,
                        "boot": True,
                        "autoDelete": True,
                        "interface": "SCSI",
                        "diskSizeGb": "10",
                    }
                ],
                "metadata": {
                    "kind": "compute#metadata",
                    "fingerprint": "cR1TEPVuS0s=",
                    **(
                        {"items": [{"key": k, "value": v} for k, v in metadata.items()]}
                        if metadata
                        else {}
                    ),
                },
                "serviceAccounts": [
                    {
                        "email": state.data["defaultServiceAccount"],
                        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    }
                ],
                "scheduling": {
                    "onHostMaintenance": "MIGRATE",
                    "automaticRestart": True,
                    "preemptible": False,
                    "provisioningModel": "STANDARD",
                },
                "labelFingerprint": "42WmSpB8rSM=",
                "startRestricted": False,
                "deletionProtection": False,
                "fingerprint": "0Hk8A4M9fWg=",
                "selfLink": f"{zone_url}/instances/{name}",
            }
            if labels:
                data["labels"] = dict(labels)
            if status == "RUNNING":
                data["lastStartTimestamp"] = timestamp
            if status in STOPPED_STATUSES:
                data["lastStopTimestamp"] = _compute_time(stopped) if stopped else timestamp
            state.instances[(zone, name)] = data
            return copy.deepcopy(data)

    def add_disk(
        self,
        project: str,
        *,
        zone: str = "us-central1-a",
        name: str,
        size_gb: int = 10,
        disk_type: str = "pd-balanced",
        status: str = "READY",
        users: Iterable[str] = (),
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#disk; `users` are instance names in the same zone or full instance URLs.
        Instances of the fake it names list it among their disks (as a data disk unless it
        is already their boot disk)."""
        with self._lock:
            state = self._project(project)
            if (zone, name) in state.disks:
                raise ValueError(f"disk {name} already exists in {project}/{zone}")
            zone_url = f"{COMPUTE}/projects/{project}/zones/{zone}"
            data: dict[str, Any] = {
                "kind": "compute#disk",
                "id": self._new_id(),
                "creationTimestamp": _compute_time(created),
                "name": name,
                "sizeGb": str(size_gb),  # int64 travels as a JSON string
                "zone": zone_url,
                "status": status,
                "selfLink": f"{zone_url}/disks/{name}",
                "type": f"{zone_url}/diskTypes/{disk_type}",
                "labelFingerprint": "42WmSpB8rSM=",
                "physicalBlockSizeBytes": "4096",
            }
            attached = [
                u if u.startswith("https://") else f"{zone_url}/instances/{u}" for u in users
            ]
            if attached:
                data["users"] = attached
                data["lastAttachTimestamp"] = data["creationTimestamp"]
            for instance in (i for i in state.instances.values() if i["selfLink"] in attached):
                if all(d["source"] != data["selfLink"] for d in instance["disks"]):
                    index = len(instance["disks"])
                    instance["disks"].append({**instance["disks"][0], "source": data["selfLink"],
                        "deviceName": name, "index": index, "boot": False,
                        "diskSizeGb": str(size_gb)})  # fmt: skip
            if labels:
                data["labels"] = dict(labels)
            state.disks[(zone, name)] = data
            return copy.deepcopy(data)

    def add_network(
        self,
        project: str,
        *,
        name: str,
        auto_create_subnetworks: bool = True,
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#network; auto-mode ones have a subnetwork in every known region."""
        with self._lock:
            state = self._project(project)
            if name in state.networks:
                raise ValueError(f"network {name} already exists in {project}")
            base = f"{COMPUTE}/projects/{project}"
            network_id = self._new_id()
            data: dict[str, Any] = {
                "kind": "compute#network",
                "id": network_id,
                "creationTimestamp": _compute_time(created),
                "name": name,
                "selfLink": f"{base}/global/networks/{name}",
                "selfLinkWithId": f"{base}/global/networks/{network_id}",
                "autoCreateSubnetworks": auto_create_subnetworks,
                "routingConfig": {"routingMode": "REGIONAL"},
                "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL",
                "mtu": 1460,
            }
            regions = sorted({_region(z) for z in self._zones(state)})
            if auto_create_subnetworks:
                data["subnetworks"] = [f"{base}/regions/{r}/subnetworks/{name}" for r in regions]
            if labels:
                data["labels"] = dict(labels)
            state.networks[name] = data
            for n, region in enumerate(regions if auto_create_subnetworks else []):
                cidr = f"10.{AUTO_RANGES.get(region, 150 + n)}.0.0/20"
                self.add_subnetwork(project, name=name, region=region, network=name, cidr=cidr,
                                    created=created)  # fmt: skip
            return copy.deepcopy(data)

    def remove(self, project: str, kind: str, name: str) -> None:
        """Delete a resource (instances and disks: in every zone they are in); KeyError if none."""
        assert kind in KINDS, kind
        with self._lock:
            if kind == "bucket":
                if self._buckets.get(name, ("",))[0] != project:
                    raise KeyError(f"bucket {name} not in {project}")
                del self._buckets[name]
                return
            state = self._projects[project]
            if kind == "network":
                del state.networks[name]
                return
            table = state.instances if kind == "instance" else state.disks
            keys = [key for key in table if key[1] == name]
            if not keys:
                raise KeyError(f"{kind} {name} not in {project}")
            for key in keys:
                del table[key]

    def resources(self, project: str, kind: str) -> list[dict[str, Any]]:
        """Copies of a project's instances, disks, networks or buckets, sorted by zone and name."""
        assert kind in KINDS, kind
        with self._lock:
            if kind == "bucket":
                found = [
                    data for _, (owner, data) in sorted(self._buckets.items()) if owner == project
                ]
            else:
                state = self._projects.get(project)
                table: dict[Any, dict[str, Any]] = {}
                if state is not None:
                    table = {"instance": state.instances, "disk": state.disks}.get(
                        kind, state.networks
                    )
                found = [table[key] for key in sorted(table)]
            return copy.deepcopy(found)

    def set_instance_status(
        self, project: str, name: str, status: str, *, when: datetime | str | None = None
    ) -> None:
        """Change an instance's status (e.g. STOPPED -> RUNNING) in every zone it exists in,
        as of `when` (now): a start or a stop stamps lastStartTimestamp or lastStopTimestamp,
        as Compute does; a stopped instance given a `when` has its stop dated back."""
        assert status in INSTANCE_STATUSES, status
        with self._lock:
            found = [i for (_, n), i in self._projects[project].instances.items() if n == name]
            if not found:
                raise KeyError(f"instance {name} not in {project}")
            for instance in found:
                changed, instance["status"] = instance["status"] != status, status
                if status == "RUNNING" and changed:
                    instance["lastStartTimestamp"] = _compute_time(when)
                elif status in STOPPED_STATUSES and (changed or when):
                    instance["lastStopTimestamp"] = _compute_time(when)

    @staticmethod
    def _zones(state: _Project) -> list[str]:
        used = {zone for zone, _ in [*state.instances, *state.disks]}
        return [*DEFAULT_ZONES, *sorted(used - set(DEFAULT_ZONES))]

    # --- Compute Engine v1 ---------------------------------------------------------------
    def _get_project(self, request: Request, email: str) -> Response:
        project = request.params["project"]
        self._check(project, email, "compute.projects.get")
        with self._lock:
            return Response.json(self._projects[project].data)

    def _aggregated(self, request: Request, email: str, kind: str) -> Response:
        """compute#{kind}AggregatedList: each page names every zone, empty ones with a warning."""
        project = request.params["project"]
        plural = f"{kind}s"
        self._check(project, email, f"compute.{plural}.list")
        with self._lock:
            state = self._projects[project]
            table = state.instances if kind == "instance" else state.disks
            rows = [table[key] for key in sorted(table)]
            page, following = self._page(request, rows, f"{project}/aggregated/{plural}")
            scopes: dict[str, dict[str, Any]] = {f"zones/{z}": {} for z in self._zones(state)}
            if kind == "disk":  # regional disks live under regions/ scopes
                scopes |= {f"regions/{r}": {} for r in sorted({_region(z) for z in DEFAULT_ZONES})}
            for item in page:
                scope = "zones/" + item["zone"].rsplit("/", 1)[1]
                scopes[scope].setdefault(plural, []).append(item)
            for scope, body in scopes.items():
                if not body:
                    body["warning"] = _no_results(scope)
            result: dict[str, Any] = {
                "kind": f"compute#{kind}AggregatedList",
                "id": f"projects/{project}/aggregated/{plural}",
                "items": scopes,
                "selfLink": f"{COMPUTE}/projects/{project}/aggregated/{plural}",
            }
            if following:
                result["nextPageToken"] = following
            return Response.json(result)

    def _aggregated_instances(self, request: Request, email: str) -> Response:
        return self._aggregated(request, email, "instance")

    def _aggregated_disks(self, request: Request, email: str) -> Response:
        return self._aggregated(request, email, "disk")

    def _zonal(self, request: Request, email: str, kind: str) -> Response:
        """compute#{kind}List of one zone; 404 for a zone the project does not have."""
        project, zone = request.params["project"], request.params["zone"]
        plural = f"{kind}s"
        self._check(project, email, f"compute.{plural}.list")
        with self._lock:
            state = self._projects[project]
            if zone not in self._zones(state):
                message = f"The resource 'projects/{project}/zones/{zone}' was not found"
                raise _ApiError(self.error(404, "NotFound", message))
            table = state.instances if kind == "instance" else state.disks
            rows = [table[key] for key in sorted(table) if key[0] == zone]
            path = f"projects/{project}/zones/{zone}/{plural}"
            return self._list(request, f"compute#{kind}List", path, rows)

    def _list(self, request: Request, kind: str, path: str, rows: list[Any]) -> Response:
        page, following = self._page(request, rows, path)
        result: dict[str, Any] = {"kind": kind, "id": path, "items": page}
        result["selfLink"] = f"{COMPUTE}/{path}"
        if not page:
            del result["items"]  # Compute leaves out empty item lists
        if following:
            result["nextPageToken"] = following
        return Response.json(result)

    def _zone_instances(self, request: Request, email: str) -> Response:
        return self._zonal(request, email, "instance")

    def _zone_disks(self, request: Request, email: str) -> Response:
        return self._zonal(request, email, "disk")

    def _get_instance(self, request: Request, email: str) -> Response:
        project, zone, name = (request.params[k] for k in ("project", "zone", "name"))
        self._check(project, email, "compute.instances.get")
        with self._lock:
            instance = self._projects[project].instances.get((zone, name))
            if instance is None:
                message = (
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found"
                )
                raise _ApiError(self.error(404, "NotFound", message))
            return Response.json(instance)

    def _list_networks(self, request: Request, email: str) -> Response:
        project = request.params["project"]
        self._check(project, email, "compute.networks.list")
        with self._lock:
            networks = self._projects[project].networks
            rows = [networks[name] for name in sorted(networks)]
            path = f"projects/{project}/global/networks"
            return self._list(request, "compute#networkList", path, rows)

    def _get_network(self, request: Request, email: str) -> Response:
        project, name = request.params["project"], request.params["name"]
        self._check(project, email, "compute.networks.get")
        with self._lock:
            network = self._projects[project].networks.get(name)
            if network is None:
                message = f"The resource 'projects/{project}/global/networks/{name}' was not found"
                raise _ApiError(self.error(404, "NotFound", message))
            return Response.json(network)


def _no_results(scope: str) -> dict[str, Any]:
    return {
        "code": "NO_RESULTS_ON_PAGE",
        "message": f"There are no results for scope '{scope}' on this page.",
        "data": [{"key": "scope", "value": scope}],
    }
