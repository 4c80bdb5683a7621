"""What every part of the GCP fake shares: projects, errors, permission checks and paging."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from emulators.base import Request, Response

COMPUTE = "https://www.googleapis.com/compute/v1"
STORAGE = "https://www.googleapis.com/storage/v1"
COMPUTE_MAX_RESULTS = 500  # Compute rejects larger maxResults with HTTP 400
STORAGE_MAX_RESULTS = 1000  # Cloud Storage silently caps larger ones

_REASONS = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    405: "httpMethodNotAllowed",
    409: "alreadyExists",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}


class _ApiError(Exception):
    """Carries an error response out of nested helpers up to the route handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class _Account:
    email: str
    client_id: str
    projects: set[str]
    keys: dict[str, RSAPublicKey] = field(default_factory=dict)  # private_key_id -> public key
    denied: set[str] = field(default_factory=set)  # APIs it may not call ("compute", ...)


@dataclass
class _Asset:
    """A resource that only Cloud Asset Inventory serves here (Compute's own tables and the
    buckets are served by their APIs too): its type, API JSON and location."""

    asset_type: str
    data: dict[str, Any]
    location: str
    update_time: str


@dataclass
class _Project:
    data: dict[str, Any]
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    disks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Cloud Asset Inventory's other resources, by full asset name ("//pubsub.googleapis.com/...").
    assets: dict[str, _Asset] = field(default_factory=dict)
    next_ip: int = 2


def _timestamp(created: datetime | str | None) -> datetime:
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    created = created or datetime.now(UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _compute_time(created: datetime | str | None) -> str:
    """Compute's creationTimestamp: RFC 3339 with milliseconds and a numeric offset."""
    return _timestamp(created).isoformat(timespec="milliseconds")


def _storage_time(created: datetime | str | None) -> str:
    """Cloud Storage's timestamps: RFC 3339 in UTC with milliseconds and a 'Z'."""
    return _timestamp(created).astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _region(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


class GcpPart:
    """The state and helpers every API of GcpFake (auth, Compute, Storage, BigQuery) uses."""

    page_size: int
    url: str
    error: Callable[..., Response]
    _lock: threading.RLock
    _random: random.Random
    _projects: dict[str, _Project]
    _accounts: dict[str, _Account]

    def add_project(
        self, project_id: str, *, name: str | None = None, number: int | str | None = None
    ) -> dict[str, Any]:
        """Register a project (compute#project JSON); adding a known one returns it unchanged."""
        with self._lock:
            if project_id in self._projects:
                return copy.deepcopy(self._projects[project_id].data)
            number = str(number or self._random.randrange(10**11, 10**12))
            data = {
                "kind": "compute#project",
                "id": number,
                "creationTimestamp": _compute_time(None),
                "name": name or project_id,
                "commonInstanceMetadata": {"kind": "compute#metadata", "fingerprint": "xzOeF0s="},
                "defaultServiceAccount": f"{number}-compute@developer.gserviceaccount.com",
                "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
                "defaultNetworkTier": "PREMIUM",
                "selfLink": f"{COMPUTE}/projects/{project_id}",
            }
            self._projects[project_id] = _Project(data)
            return copy.deepcopy(data)

    def remove_project(self, project_id: str) -> None:
        """Delete a project with everything in it: Compute and Storage answer 404 for it."""
        with self._lock:
            del self._projects[project_id]
            buckets: dict[str, tuple[str, dict[str, Any]]] = getattr(self, "_buckets", {})
            for name in [n for n, (owner, _) in buckets.items() if owner == project_id]:
                del buckets[name]

    # --- helpers -----------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(self._random.randrange(10**18, 2**63))

    def _project(self, project: str) -> _Project:
        """The project's state, registering unknown projects (keeps test set-up short)."""
        if project not in self._projects:
            self.add_project(project)
        return self._projects[project]

    def _check(self, project: str, email: str, permission: str, *, storage: bool = False) -> None:
        """404 for unknown projects, 403 when the caller's account may not read this one."""
        with self._lock:
            known = project in self._projects
            account = self._accounts.get(email)  # None if reset() ran mid-request
            allowed = account is not None and project in account.projects
        if not known:
            message = (
                "The requested project was not found."
                if storage
                else f"The resource 'projects/{project}' was not found"
            )
            raise _ApiError(self.error(404, "NotFound", message))
        if not allowed:
            message = (
                f"{email} does not have {permission} access to the Google Cloud project. "
                f"Permission '{permission}' denied on resource (or it may not exist)."
                if storage
                else f"Required '{permission}' permission for 'projects/{project}'"
            )
            raise _ApiError(self.error(403, "Forbidden", message))

    def _page(
        self, request: Request, items: list[Any], scope: str, *, storage: bool = False
    ) -> tuple[list[Any], str | None]:
        """One page of `items` and the token of the next (None on the last page)."""
        raw = request.arg("maxResults") or "0"
        cap = STORAGE_MAX_RESULTS if storage else COMPUTE_MAX_RESULTS
        if not raw.isdigit() or (not storage and int(raw) > cap):
            message = (
                f"Invalid value for field 'maxResults': '{raw}'. "
                f"Must be less than or equal to {cap}"
            )
            raise _ApiError(self.error(400, "Invalid", message))
        size = max(1, min(int(raw) or cap, cap, self.page_size))
        token = request.arg("pageToken")
        offset = 0
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset = int(decoded["o"]) if decoded["s"] == scope else -1
            except (ValueError, KeyError, TypeError, binascii.Error):
                offset = -1
            if offset < 0:
                message = f"Invalid value for field 'pageToken': '{token}'. Invalid page token."
                raise _ApiError(self.error(400, "Invalid", message))
        end = offset + size
        following = None
        if end < len(items):
            following = base64.urlsafe_b64encode(json.dumps({"s": scope, "o": end}).encode())
        return items[offset:end], following.decode() if following else None
