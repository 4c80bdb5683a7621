"""The Cloud Storage JSON API: buckets."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.common import STORAGE, GcpPart, _ApiError, _storage_time

MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
DUAL_REGIONS = frozenset({"NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"})


class StorageMixin(GcpPart):
    _buckets: dict[str, tuple[str, dict[str, Any]]]  # name -> (project, json)

    def add_bucket(
        self,
        project: str,
        *,
        name: str,
        location: str = "US-CENTRAL1",
        storage_class: str = "STANDARD",
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A storage#bucket; bucket names are global across projects, as on GCS."""
        with self._lock:
            number = self._project(project).data["id"]
            if name in self._buckets:
                raise ValueError(f"bucket {name} already exists")
            location = location.upper()
            if location in MULTI_REGIONS:
                location_type = "multi-region"
            else:
                location_type = "dual-region" if location in DUAL_REGIONS else "region"
            timestamp = _storage_time(created)
            data: dict[str, Any] = {
                "kind": "storage#bucket",
                "selfLink": f"{STORAGE}/b/{name}",
                "id": name,
                "name": name,
                "projectNumber": number,
                "generation": self._new_id(),
                "metageneration": "1",
                "location": location,
                "storageClass": storage_class,
                "etag": "CAE=",
                "timeCreated": timestamp,
                "updated": timestamp,
                "softDeletePolicy": {
                    "retentionDurationSeconds": "604800",
                    "effectiveTime": timestamp,
                },
                "iamConfiguration": {
                    "bucketPolicyOnly": {"enabled": False},
                    "uniformBucketLevelAccess": {"enabled": False},
                    "publicAccessPrevention": "inherited",
                },
                "locationType": location_type,
                "rpo": "DEFAULT",
            }
            if labels:
                data["labels"] = dict(labels)
            self._buckets[name] = (project, data)
            return copy.deepcopy(data)

    # --- Cloud Storage JSON API ----------------------------------------------------------
    def _bucket_json(self, data: dict[str, Any], projection: str | None) -> dict[str, Any]:
        """projection=full adds the owner and ACLs that the default noAcl leaves out."""
        if projection != "full":
            return data
        number = data["projectNumber"]
        roles = (("owners", "OWNER"), ("editors", "OWNER"), ("viewers", "READER"))
        acl = [{"entity": f"project-{team}-{number}", "role": role} for team, role in roles]
        return {
            **data,
            "owner": {"entity": f"project-owners-{number}"},
            "acl": [{"kind": "storage#bucketAccessControl", **entry} for entry in acl],
            "defaultObjectAcl": [{"kind": "storage#objectAccessControl", **e} for e in acl],
        }

    def _list_buckets(self, request: Request, email: str) -> Response:
        project = request.arg("project")
        if not project:
            raise _ApiError(
                self.error(400, "Required", "Required parameter: project", reason="required")
            )
        self._check(project, email, "storage.buckets.list", storage=True)
        prefix = request.arg("prefix") or ""
        with self._lock:
            rows = [
                self._bucket_json(data, request.arg("projection"))
                for name, (owner, data) in sorted(self._buckets.items())
                if owner == project and name.startswith(prefix)
            ]
            page, following = self._page(request, rows, f"b/{project}/{prefix}", storage=True)
            result: dict[str, Any] = {"kind": "storage#buckets", "items": page}
            if not page:
                del result["items"]
            if following:
                result["nextPageToken"] = following
            return Response.json(result)

    def _get_bucket(self, request: Request, email: str) -> Response:
        name = request.params["bucket"]
        with self._lock:
            owner, data = self._buckets.get(name, ("", {}))
            account = self._accounts.get(email)
            allowed = account is not None and owner in account.projects
        if not data:
            raise _ApiError(self.error(404, "NotFound", "The specified bucket does not exist."))
        if not allowed:
            message = (
                f"{email} does not have storage.buckets.get access to the Google Cloud Storage "
                "bucket. Permission 'storage.buckets.get' denied on resource (or it may not exist)."
            )
            raise _ApiError(self.error(403, "Forbidden", message))
        with self._lock:
            return Response.json(self._bucket_json(data, request.arg("projection")))
