"""Resource Manager v3 (cloudresourcemanager.googleapis.com): the organization's tree of
folders and the projects in it, as the published API description (cloudresourcemanager.v3)
has it and google-cloud-resource-manager's REST transport calls it:

    GET /v3/projects:search?query=parent:folders/123&pageSize=&pageToken=
    GET /v3/folders?parent=organizations/1&pageSize=&pageToken=&showDeleted=

* SearchProjects answers `{"projects": [...], "nextPageToken": ...}`: the projects the caller
  may read (`resourcemanager.projects.get`: here, those its service account was given) that
  match every term of `query`: `parent:<type>s/<id>`, `parent.type:`, `parent.id:`, `id:`
  (or `projectId:`), `name:`/`displayName:` and `state:`; no query, every project it may
  read. Another field is INVALID_ARGUMENT, as on GCP.
* ListFolders answers `{"folders": [...], "nextPageToken": ...}`: the folders directly under
  `parent`, deleted ones (DELETE_REQUESTED) only with `showDeleted=true`.
* Both sorted by name and paged: `pageSize` (default and cap 500, also capped by
  `page_size`, the fake's knob), a token only continuing the request it came from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import GcpPart, _ApiError

RM_MAX_PAGE = 500
_FIELDS = {"parent", "parent.type", "parent.id", "id", "projectid", "name", "displayname",
           "state"}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ResourceManagerMixin(GcpPart):
    _folders: dict[str, dict[str, Any]]  # "folders/123" -> Folder JSON
    _placements: dict[str, dict[str, Any]]  # project id -> {"parent", "state", "labels"}

    def _reset_resource_manager(self) -> None:
        self._folders = {}
        self._placements = {}

    # --- state-setting API -------------------------------------------------------------
    def add_folder(self, folder_id: str, display_name: str, parent: str) -> str:
        """A folder under `parent` ("organizations/1" or "folders/2"): its name."""
        name = f"folders/{folder_id}"
        with self._lock:
            self._folders[name] = {
                "name": name, "parent": parent, "displayName": display_name,
                "state": "ACTIVE", "createTime": _now(), "updateTime": _now(),
                "etag": f'W/"{hashlib.sha256(name.encode()).hexdigest()[:16]}"',
            }  # fmt: skip
        return name

    def place_project(
        self, project_id: str, parent: str, *, state: str = "ACTIVE", labels: dict | None = None
    ) -> None:
        """Put a project (made if new) under `parent`, in `state` (ACTIVE or
        DELETE_REQUESTED, as a project in its 30 days before deletion)."""
        with self._lock:
            self.add_project(project_id)
            self._placements[project_id] = {
                "parent": parent, "state": state, "labels": dict(labels or {})
            }  # fmt: skip

    # --- wire -----------------------------------------------------------------------------
    def _rm_project_json(self, project_id: str) -> dict[str, Any]:
        data = self._projects[project_id].data
        place = self._placements.get(project_id, {})
        return {
            "name": f"projects/{data['id']}", "parent": place.get("parent", ""),
            "projectId": project_id, "state": place.get("state", "ACTIVE"),
            "displayName": data.get("name") or project_id, "createTime": _now(),
            "updateTime": _now(), "etag": f'W/"{data["id"]}"', "labels": place.get("labels", {}),
        }  # fmt: skip

    def _search_projects(self, request: Request, email: str) -> Response:
        terms = self._rm_terms(request.arg("query") or "")
        size = self._rm_page_size(request.arg("pageSize"))
        digest = hashlib.sha256(json.dumps(["p", terms]).encode()).hexdigest()[:16]
        offset = self._rm_offset(request.arg("pageToken"), digest)
        with self._lock:
            account = self._accounts.get(email)
            readable = sorted(account.projects if account else set())
            rows = [
                self._rm_project_json(p)
                for p in readable
                if p in self._projects and _matches(self._rm_project_json(p), terms)
            ]
        rows.sort(key=lambda row: row["name"])
        return _page("projects", rows, offset, size, digest)

    def _list_folders(self, request: Request, email: str) -> Response:
        parent = request.arg("parent") or ""
        if not parent.startswith(("organizations/", "folders/")):
            raise _invalid("Field 'parent' must be organizations/{id} or folders/{id}.")
        deleted = (request.arg("showDeleted") or "").lower() == "true"
        size = self._rm_page_size(request.arg("pageSize"))
        digest = hashlib.sha256(json.dumps(["f", parent, deleted]).encode()).hexdigest()[:16]
        offset = self._rm_offset(request.arg("pageToken"), digest)
        with self._lock:
            rows = [
                dict(folder)
                for name, folder in sorted(self._folders.items())
                if folder["parent"] == parent and (deleted or folder["state"] == "ACTIVE")
            ]
        return _page("folders", rows, offset, size, digest)

    def _rm_terms(self, query: str) -> list[tuple[str, str]]:
        terms = []
        for word in query.split():
            key, sep, value = word.partition(":")
            if not sep:
                key, sep, value = word.partition("=")
            if not sep or key.lower() not in _FIELDS:
                raise _invalid(f"Invalid query: unknown field in '{word}'.")
            terms.append((key.lower(), value))
        return terms

    def _rm_page_size(self, raw: str | None) -> int:
        if raw and not raw.isdigit():
            raise _invalid(f"Invalid value at 'page_size' ({raw})")
        return max(1, min(int(raw or 0) or RM_MAX_PAGE, RM_MAX_PAGE, self.page_size))

    def _rm_offset(self, token: str | None, digest: str) -> int:
        if not token:
            return 0
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            if decoded["q"] == digest:
                return int(decoded["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            pass
        raise _invalid("The page token is not valid for this request.")


def _matches(project: dict[str, Any], terms: list[tuple[str, str]]) -> bool:
    parent_type, _, parent_id = project["parent"].partition("/")
    values = {
        "parent": project["parent"], "parent.type": parent_type.rstrip("s"),
        "parent.id": parent_id, "id": project["projectId"], "projectid": project["projectId"],
        "name": project["displayName"], "displayname": project["displayName"],
        "state": project["state"],
    }  # fmt: skip
    return all(values[key].lower() == value.lower() for key, value in terms)


def _page(key: str, rows: list[dict[str, Any]], offset: int, size: int, digest: str) -> Response:
    body: dict[str, Any] = {}
    if rows[offset : offset + size]:
        body[key] = rows[offset : offset + size]
    if offset + size < len(rows):
        token = json.dumps({"q": digest, "o": offset + size}).encode()
        body["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
    return Response.json(body)


def _invalid(message: str) -> _ApiError:
    body = {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    return _ApiError(Response.json(body, 400))
