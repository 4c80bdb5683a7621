"""Cloud Asset Inventory v1 (cloudasset.googleapis.com): ListAssets over a project, as the
published API description (cloudasset.v1) has it and google-cloud-asset's REST transport calls it:

    GET /v1/projects/{project}/assets?assetTypes=...&contentType=RESOURCE&pageSize=&pageToken=

answers a ListAssetsResponse, `{"assets": [...], "readTime": ..., "nextPageToken": ...}`:

* every asset of the project (named by id or number) whose type `assetTypes` asks for, each
  entry a type or a regular expression over the supported types; an entry that names none is
  INVALID_ARGUMENT, as on GCP. No `assetTypes`: every type.
* sorted by name and paged: `pageSize` 1 to 1000 (default 100; also capped by `page_size`, the
  fake's knob), a `nextPageToken` while more follow; a token only continues the request it
  came from (else INVALID_ARGUMENT).
* with contentType RESOURCE (1, as the SDK sends enums, or the name) each asset carries
  `resource`: the service's own JSON as `data`, its location, parent (the project, by number)
  and discovery document. Without a content type only name, type, ancestors and update time;
  the policy content types find nothing (the fake holds no policies).
* a caller without access to the project gets PERMISSION_DENIED, for a project that does not
  exist too (GCP does not say which).

The assets are the project's Compute instances, disks and networks and its buckets (the very
objects the Compute and Storage APIs serve), and what `add_asset` stored: see
emulators.gcp.network, .fleet and .services.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import COMPUTE, GcpPart, _ApiError, _Asset, _Project

ASSET_MAX_PAGE = 1000
ASSET_DEFAULT_PAGE = 100
_COMPUTE_DOC = "https://www.googleapis.com/discovery/v1/apis/compute/v1/rest"
# asset type -> (service host, version, discovery name, discovery document) of its `resource`.
ASSET_KINDS: dict[str, tuple[str, str, str, str]] = {
    **{
        f"compute.googleapis.com/{kind}": ("compute.googleapis.com", "v1", name, _COMPUTE_DOC)
        for kind, name in (
            ("Instance", "Instance"),
            ("Disk", "Disk"),
            ("RegionDisk", "Disk"),
            ("Snapshot", "Snapshot"),
            ("InstanceGroupManager", "InstanceGroupManager"),
            ("Network", "Network"),
            ("Subnetwork", "Subnetwork"),
            ("Firewall", "Firewall"),
            ("Address", "Address"),
            ("GlobalAddress", "Address"),
            ("Router", "Router"),
            ("ForwardingRule", "ForwardingRule"),
            ("GlobalForwardingRule", "ForwardingRule"),
            ("BackendService", "BackendService"),
            ("RegionBackendService", "BackendService"),
            ("UrlMap", "UrlMap"),
            ("TargetHttpProxy", "TargetHttpProxy"),
            ("TargetHttpsProxy", "TargetHttpsProxy"),
            ("TargetTcpProxy", "TargetTcpProxy"),
            ("TargetSslProxy", "TargetSslProxy"),
            ("TargetPool", "TargetPool"),
        )
    },
    "storage.googleapis.com/Bucket": (
        "storage.googleapis.com", "v1", "Bucket",
        "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
    ),
    "sqladmin.googleapis.com/Instance": (
        "cloudsql.googleapis.com", "v1beta4", "DatabaseInstance",
        "https://www.googleapis.com/discovery/v1/apis/sqladmin/v1beta4/rest",
    ),
    "firestore.googleapis.com/Database": (
        "firestore.googleapis.com", "v1", "GoogleFirestoreAdminV1Database",
        "https://firestore.googleapis.com/$discovery/rest",
    ),
    "container.googleapis.com/Cluster": (
        "container.googleapis.com", "v1", "Cluster",
        "https://container.googleapis.com/$discovery/rest",
    ),
    "container.googleapis.com/NodePool": (
        "container.googleapis.com", "v1", "NodePool",
        "https://container.googleapis.com/$discovery/rest",
    ),
    "cloudfunctions.googleapis.com/Function": (
        "cloudfunctions.googleapis.com", "v2", "Function",
        "https://cloudfunctions.googleapis.com/$discovery/rest",
    ),
    "run.googleapis.com/Service": (
        "run.googleapis.com", "v1", "Service", "https://run.googleapis.com/$discovery/rest"
    ),
    "pubsub.googleapis.com/Topic": (
        "pubsub.googleapis.com", "v1", "Topic", "https://pubsub.googleapis.com/$discovery/rest"
    ),
    "dns.googleapis.com/ManagedZone": (
        "dns.googleapis.com", "v1", "ManagedZone", "https://dns.googleapis.com/$discovery/rest"
    ),
}  # fmt: skip
_CONTENT_TYPES = {
    "0": "", "CONTENT_TYPE_UNSPECIFIED": "", "1": "RESOURCE", "RESOURCE": "RESOURCE",
    "2": "IAM_POLICY", "IAM_POLICY": "IAM_POLICY", "4": "ORG_POLICY", "ORG_POLICY": "ORG_POLICY",
    "5": "ACCESS_POLICY", "ACCESS_POLICY": "ACCESS_POLICY", "6": "OS_INVENTORY",
    "OS_INVENTORY": "OS_INVENTORY", "7": "RELATIONSHIP", "RELATIONSHIP": "RELATIONSHIP",
}  # fmt: skip


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AssetMixin(GcpPart):
    _buckets: dict[str, tuple[str, dict[str, Any]]]  # name -> (project, json)

    def add_asset(
        self, project: str, asset_type: str, path: str, data: dict[str, Any], *, location: str
    ) -> dict[str, Any]:
        """Store a resource that Cloud Asset Inventory lists as `asset_type`, named
        `//<service>/<path>`, with its API JSON `data`. Returns a copy of `data`."""
        assert asset_type in ASSET_KINDS, asset_type
        name = f"//{ASSET_KINDS[asset_type][0]}/{path}"
        with self._lock:
            state = self._project(project)
            if name in state.assets:
                raise ValueError(f"{name} already exists")
            now = _rfc3339(datetime.now(UTC))
            state.assets[name] = _Asset(asset_type, copy.deepcopy(data), location, now)
            return copy.deepcopy(data)

    def asset_data(self, project: str, asset_type: str, path: str) -> dict[str, Any]:
        """The live JSON of a stored asset (not a copy: for builders that link resources)."""
        name = f"//{ASSET_KINDS[asset_type][0]}/{path}"
        with self._lock:
            return self._projects[project].assets[name].data

    def remove_asset(self, project: str, asset_type: str, path: str) -> None:
        """Delete a stored asset; KeyError if there is none."""
        with self._lock:
            del self._projects[project].assets[f"//{ASSET_KINDS[asset_type][0]}/{path}"]

    def assets(self, project: str, asset_type: str) -> list[dict[str, Any]]:
        """Copies of the JSON of a project's assets of one type, by name."""
        with self._lock:
            state = self._projects.get(project)
            if state is None:
                return []
            found = [a for a in self._project_assets(project, state) if a[1] == asset_type]
            return [copy.deepcopy(a[2]) for a in sorted(found, key=lambda a: a[0])]

    # --- Cloud Asset API v1 --------------------------------------------------------------
    def _asset_error(self, status: int, state: str, message: str) -> _ApiError:
        return _ApiError(self.error(status, state, message, extra={"status": state}))

    def _list_assets(self, request: Request, email: str) -> Response:
        project = self._asset_project(request.params["parent_id"], email)
        types = self._asset_types(request.query.get("assetTypes", []))
        raw_content = request.arg("contentType") or "0"
        if raw_content not in _CONTENT_TYPES:
            raise self._asset_error(
                400, "INVALID_ARGUMENT", f"Invalid value at 'content_type' ({raw_content})"
            )
        content = _CONTENT_TYPES[raw_content]
        size = self._asset_page_size(request.arg("pageSize"))
        query = json.dumps([project, sorted(types), content])
        digest = hashlib.sha256(query.encode()).hexdigest()[:16]
        offset = self._asset_offset(request.arg("pageToken"), digest)
        with self._lock:
            state = self._projects[project]
            number = str(state.data["id"])
            rows = sorted(
                (a for a in self._project_assets(project, state) if a[1] in types),
                key=lambda a: a[0],
            )
            if content not in ("", "RESOURCE"):
                rows = []  # no IAM, org or access policies, OS inventories or relationships here
            page = rows[offset : offset + size]
            assets = [self._asset_json(row, number, content == "RESOURCE") for row in page]
        result: dict[str, Any] = {"readTime": _rfc3339(datetime.now(UTC))}
        if assets:
            result["assets"] = assets
        if offset + size < len(rows):
            token = json.dumps({"q": digest, "o": offset + size}).encode()
            result["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
        return Response.json(result)

    def _asset_project(self, parent_id: str, email: str) -> str:
        """The project id of `projects/<id or number>`, if the caller may list its assets."""
        with self._lock:
            project = parent_id if parent_id in self._projects else next(
                (p for p, s in self._projects.items() if str(s.data["id"]) == parent_id), None
            )  # fmt: skip
            account = self._accounts.get(email)
            allowed = project is not None and account is not None and project in account.projects
        if project is None or not allowed:
            raise self._asset_error(
                403,
                "PERMISSION_DENIED",
                f"Permission 'cloudasset.assets.listResource' denied on resource "
                f"'projects/{parent_id}' (or it may not exist).",
            )
        return project

    def _asset_types(self, requested: list[str]) -> set[str]:
        """The supported types `requested` names: exactly, or as regular expressions."""
        if not requested:
            return set(ASSET_KINDS)
        found: set[str] = set()
        for entry in requested:
            if entry in ASSET_KINDS:
                found.add(entry)
                continue
            try:
                pattern = re.compile(entry)
            except re.error:
                pattern = None
            matched = {t for t in ASSET_KINDS if pattern and pattern.fullmatch(t)}
            if not matched:
                raise self._asset_error(
                    400,
                    "INVALID_ARGUMENT",
                    f"Invalid asset type: {entry}. It is not a supported asset type and does "
                    "not match any as a regular expression.",
                )
            found |= matched
        return found

    def _asset_page_size(self, raw: str | None) -> int:
        value = raw or "0"
        if not value.lstrip("-").isdigit() or int(value) < 0 or int(value) > ASSET_MAX_PAGE:
            raise self._asset_error(
                400,
                "INVALID_ARGUMENT",
                f"page_size must be between 0 and {ASSET_MAX_PAGE}, got {value}.",
            )
        return max(1, min(int(value) or ASSET_DEFAULT_PAGE, self.page_size))

    def _asset_offset(self, token: str | None, digest: str) -> int:
        if not token:
            return 0
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            if decoded["q"] == digest and int(decoded["o"]) >= 0:
                return int(decoded["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            pass
        raise self._asset_error(400, "INVALID_ARGUMENT", f"Invalid page_token: {token}")

    def _project_assets(
        self, project: str, state: _Project
    ) -> list[tuple[str, str, dict[str, Any], str, str]]:
        """(name, type, data, location, update time) of every asset of a project."""
        rows: list[tuple[str, str, dict[str, Any], str, str]] = []
        compute = [
            *(("Instance", i, _last(i["zone"])) for i in state.instances.values()),
            *(("Disk", d, _last(d["zone"])) for d in state.disks.values()),
            *(("Network", n, "global") for n in state.networks.values()),
        ]
        for kind, data, location in compute:
            path = data["selfLink"].removeprefix(f"{COMPUTE}/")
            created = data["creationTimestamp"]
            rows.append((f"//compute.googleapis.com/{path}", f"compute.googleapis.com/{kind}",
                         data, location, created))  # fmt: skip
        for name, (owner, data) in self._buckets.items():
            if owner == project:
                rows.append((f"//storage.googleapis.com/{name}", "storage.googleapis.com/Bucket",
                             data, data["location"].lower(), data["updated"]))  # fmt: skip
        for name, asset in state.assets.items():
            rows.append((name, asset.asset_type, asset.data, asset.location, asset.update_time))
        return rows

    @staticmethod
    def _asset_json(
        row: tuple[str, str, dict[str, Any], str, str], number: str, resource: bool
    ) -> dict[str, Any]:
        name, asset_type, data, location, updated = row
        asset: dict[str, Any] = {
            "name": name,
            "assetType": asset_type,
            "ancestors": [f"projects/{number}"],
            "updateTime": _as_rfc3339(updated),
        }
        if resource:
            _, version, discovery_name, document = ASSET_KINDS[asset_type]
            asset["resource"] = {
                "version": version,
                "discoveryDocumentUri": document,
                "discoveryName": discovery_name,
                "parent": f"//cloudresourcemanager.googleapis.com/projects/{number}",
                "data": copy.deepcopy(data),
                "location": location,
            }
        return asset


def _last(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _as_rfc3339(value: str) -> str:
    """Compute's "+00:00" offsets as the asset API's "Z"."""
    try:
        return _rfc3339(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return value
