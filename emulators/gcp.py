"""A wire-faithful fake of the Google Cloud APIs the real SDK clients talk to.

    fake = GcpFake().start()
    key = fake.add_service_account("acme-prod")          # a service-account JSON key dict
    fake.add_instance("acme-prod", name="web-1", external_ip="34.1.2.3")
    creds = service_account.Credentials.from_service_account_info(key, scopes=[CLOUD_PLATFORM])
    compute_v1.InstancesClient(
        credentials=creds, client_options={"api_endpoint": fake.url}, transport="rest"
    ).aggregated_list(project="acme-prod")

Served over plain http: google-auth and the GAPIC REST transports accept an `http://` endpoint, so
no certificate needs to be trusted (unlike azure-core, which refuses bearer tokens without TLS).

It speaks three APIs, each the way the real service does, so code tested against it needs no
special cases:

* OAuth 2.0 (`POST /token`): the JWT-bearer grant google-auth sends when refreshing service
  account credentials; the assertion's RS256 signature is checked against the account's key.
* Compute Engine v1 (`/compute/v1/...`): projects, aggregated and zonal instance lists, aggregated
  disks, global networks, with real paging (`maxResults`, `pageToken`, `nextPageToken`) and the
  `NO_RESULTS_ON_PAGE` warnings of aggregated lists.
* Cloud Storage JSON API (`/storage/v1/b`): bucket lists and gets.

The GAPIC clients (google-cloud-compute) call `with_always_use_jwt_access(True)` on service account
credentials and send a *self-signed JWT* as the bearer token instead of calling the token endpoint,
even with a custom `api_endpoint`; google-cloud-storage does call the token endpoint. Both kinds
of bearer token are therefore accepted, and both stop working once the key is revoked.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from emulators.base import FakeServer, Handler, Request, Response

COMPUTE = "https://www.googleapis.com/compute/v1"
STORAGE = "https://www.googleapis.com/storage/v1"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
COMPUTE_MAX_RESULTS = 500  # Compute rejects larger maxResults with HTTP 400
STORAGE_MAX_RESULTS = 1000  # Cloud Storage silently caps larger ones

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
MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
DUAL_REGIONS = frozenset({"NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"})
KINDS = ("instance", "disk", "network", "bucket")

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
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


class _ApiError(Exception):
    """Carries an error response out of nested helpers up to the route handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class _JwtError(Exception):
    """A JWT that Google would refuse; the message is Google's error_description."""


@dataclass
class _Account:
    email: str
    client_id: str
    projects: set[str]
    keys: dict[str, RSAPublicKey] = field(default_factory=dict)  # private_key_id -> public key


@dataclass
class _Project:
    data: dict[str, Any]
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    disks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
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


class GcpFake(FakeServer):
    """Fake OAuth, Compute Engine v1 and Cloud Storage endpoints on one plain-http port."""

    def __init__(self, *, port: int = 0, name: str = "gcp-fake", seed: int = 0) -> None:
        super().__init__(tls=False, port=port, name=name)
        self.page_size: int = 500
        self._seed = seed
        self._lock = threading.RLock()
        self._reset_state()
        self.route("POST", r"/token", faults=False)(self._token)
        p = r"/compute/v1/projects/(?P<project>[^/]+)"
        compute: list[tuple[str, Callable[[Request, str], Response]]] = [
            (p, self._get_project),
            (p + r"/aggregated/instances", self._aggregated_instances),
            (p + r"/aggregated/disks", self._aggregated_disks),
            (p + r"/zones/(?P<zone>[^/]+)/instances", self._zone_instances),
            (p + r"/zones/(?P<zone>[^/]+)/instances/(?P<name>[^/]+)", self._get_instance),
            (p + r"/zones/(?P<zone>[^/]+)/disks", self._zone_disks),
            (p + r"/global/networks", self._list_networks),
            (p + r"/global/networks/(?P<name>[^/]+)", self._get_network),
        ]
        for pattern, handler in compute:
            self.route("GET", pattern)(self._authenticated("compute", handler))
        self.route("GET", r"/storage/v1/b")(self._authenticated("storage", self._list_buckets))
        self.route("GET", r"/storage/v1/b/(?P<bucket>[^/]+)")(
            self._authenticated("storage", self._get_bucket)
        )

    def _reset_state(self) -> None:
        with self._lock:
            self._random = random.Random(self._seed)
            self._projects: dict[str, _Project] = {}
            self._accounts: dict[str, _Account] = {}
            self._tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expires at)
            self._buckets: dict[str, tuple[str, dict[str, Any]]] = {}  # name -> (project, json)

    # --- state-setting API -------------------------------------------------------------
    def reset(self) -> None:
        """Forget every project, account, token, resource and logged request; clear faults."""
        self._reset_state()
        self.faults.clear()
        self.requests.clear()
        self.page_size = 500

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

    def add_service_account(
        self, project_id: str, *, email: str | None = None, projects: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A new key for a (new or known) service account, as the JSON key file Google issues.

        The account may read `projects` (default: its own project). Call after start(): the key's
        token_uri points at this server.
        """
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        allowed = set(projects) if projects is not None else {project_id}
        with self._lock:
            for project in {project_id, *allowed}:
                self.add_project(project)
            email = email or f"sa-{len(self._accounts) + 1}@{project_id}.iam.gserviceaccount.com"
            account = self._accounts.get(email)
            if account is None:
                client_id = str(self._random.randrange(10**20, 10**21))
                account = self._accounts[email] = _Account(email, client_id, set())
            account.projects |= allowed
            key_id = f"{self._random.getrandbits(160):040x}"
            account.keys[key_id] = private.public_key()
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": account.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                f"https://www.googleapis.com/robot/v1/metadata/x509/{quote(email, safe='')}"
            ),
            "universe_domain": "googleapis.com",
        }

    def revoke_key(self, client_email: str, *, tokens: bool = False) -> None:
        """Delete the account's keys: new grants and self-signed JWTs fail from now on.

        Access tokens already issued stay valid until they expire, as at Google; pass
        tokens=True to drop them too.
        """
        with self._lock:
            self._accounts[client_email].keys.clear()
            if tokens:
                self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client_email}

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
    ) -> dict[str, Any]:
        """A compute#instance; without external_ip it has no access config, as on GCP."""
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
                    f"{COMPUTE}/projects/{project}/regions/{_region(zone)}/subnetworks/{network}"
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
                "tags": {"fingerprint": "42WmSpB8rSM="},
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
                        "source": f"{zone_url}/disks/{name}",
                        "deviceName": name,
                        "index": 0,
                        "boot": True,
                        "autoDelete": True,
                        "interface": "SCSI",
                        "diskSizeGb": "10",
                    }
                ],
                "metadata": {"kind": "compute#metadata", "fingerprint": "cR1TEPVuS0s="},
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
        """A compute#disk; `users` are instance names in the same zone or full instance URLs."""
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
        """A compute#network; auto-mode ones list a subnetwork in every known region."""
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
            if auto_create_subnetworks:
                regions = sorted({_region(z) for z in self._zones(state)})
                data["subnetworks"] = [f"{base}/regions/{r}/subnetworks/{name}" for r in regions]
            if labels:
                data["labels"] = dict(labels)
            state.networks[name] = data
            return copy.deepcopy(data)

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

    def set_instance_status(self, project: str, name: str, status: str) -> None:
        """Change an instance's status (e.g. STOPPED -> RUNNING) in every zone it exists in."""
        assert status in INSTANCE_STATUSES, status
        with self._lock:
            found = [i for (_, n), i in self._projects[project].instances.items() if n == name]
            if not found:
                raise KeyError(f"instance {name} not in {project}")
            for instance in found:
                instance["status"] = status

    # --- helpers -----------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(self._random.randrange(10**18, 2**63))

    def _project(self, project: str) -> _Project:
        """The project's state, registering unknown projects (keeps test set-up short)."""
        if project not in self._projects:
            self.add_project(project)
        return self._projects[project]

    @staticmethod
    def _zones(state: _Project) -> list[str]:
        used = {zone for zone, _ in [*state.instances, *state.disks]}
        return [*DEFAULT_ZONES, *sorted(used - set(DEFAULT_ZONES))]

    def error(
        self,
        status: int,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        """Google's JSON error body (Compute and Storage share it); api_core maps it by status."""
        item = {"message": message, "domain": "global", "reason": reason or _REASONS.get(status)}
        body: dict[str, Any] = {"code": status, "message": message, "errors": [item]}
        body.update(extra or {})
        return Response.json({"error": body}, status)

    def _unauthenticated(self, service: str, why: str) -> _ApiError:
        return _ApiError(
            self.error(
                401,
                "Unauthenticated",
                _UNAUTHENTICATED,
                extra={
                    "status": "UNAUTHENTICATED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": why,
                            "domain": "googleapis.com",
                            "metadata": {"service": f"{service}.googleapis.com"},
                        }
                    ],
                },
            )
        )

    def _verify_jwt(self, token: str, audiences: set[str]) -> dict[str, Any]:
        """The claims of an RS256 JWT signed by a live key of a registered account."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise _JwtError("Invalid JWT Signature.") from exc
        with self._lock:
            account = self._accounts.get(str(claims.get("iss")))
            key = account.keys.get(str(header.get("kid"))) if account else None
        if account is None:
            raise _JwtError("Invalid grant: account not found")
        if key is None:
            raise _JwtError("Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "iat", "exp"]},
                leeway=60,
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
            raise _JwtError(_SHORT_LIVED) from exc
        except jwt.InvalidTokenError as exc:
            raise _JwtError("Invalid JWT Signature.") from exc
        if claims["exp"] - claims["iat"] > TOKEN_LIFETIME:
            raise _JwtError(_SHORT_LIVED)
        if "aud" in claims and claims["aud"] not in audiences:
            raise _JwtError("Invalid JWT: Failed audience check.")
        return claims

    def _principal(self, request: Request, service: str) -> str:
        """The service account's email behind the bearer token, or a 401 _ApiError."""
        token = request.bearer_token
        if not token:
            raise self._unauthenticated(service, "CREDENTIALS_MISSING")
        with self._lock:
            issued = self._tokens.get(token)
        if issued:
            if issued[1] < time.time():
                raise self._unauthenticated(service, "ACCESS_TOKEN_EXPIRED")
            return issued[0]
        # A self-signed JWT (AIP-4111): aud is the service, or absent with a scope claim.
        try:
            claims = self._verify_jwt(token, {f"https://{service}.googleapis.com/"})
        except _JwtError as exc:
            raise self._unauthenticated(service, "ACCESS_TOKEN_TYPE_UNSUPPORTED") from exc
        if claims.get("sub", claims["iss"]) != claims["iss"] or not (
            claims.get("aud") or claims.get("scope")
        ):
            raise self._unauthenticated(service, "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        return str(claims["iss"])

    def _authenticated(self, service: str, handler: Callable[[Request, str], Response]) -> Handler:
        """Wrap a handler so it runs only for a valid bearer token, with the caller's email."""

        def run(request: Request) -> Response:
            try:
                return handler(request, self._principal(request, service))
            except _ApiError as exc:
                return exc.response

        return run

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

    # --- OAuth ---------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        """The JWT-bearer grant of google.oauth2.service_account.Credentials.refresh()."""
        form = request.form()
        if form.get("grant_type") != JWT_GRANT:
            return _oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        if not form.get("assertion"):
            return _oauth_error("invalid_request", "Missing required parameter: assertion")
        audiences = {f"{self.url}/token", "https://oauth2.googleapis.com/token"}
        try:
            claims = self._verify_jwt(form["assertion"], audiences)
        except _JwtError as exc:
            return _oauth_error("invalid_grant", str(exc))
        if "aud" not in claims:
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        token = "ya29.c." + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (str(claims["iss"]), time.time() + TOKEN_LIFETIME)
        body = {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        return Response.json(body)

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


def _no_results(scope: str) -> dict[str, Any]:
    return {
        "code": "NO_RESULTS_ON_PAGE",
        "message": f"There are no results for scope '{scope}' on this page.",
        "data": [{"key": "scope", "value": scope}],
    }


def _oauth_error(error: str, description: str) -> Response:
    """RFC 6749 error body; google-auth raises RefreshError with both fields in the message."""
    return Response.json({"error": error, "error_description": description}, 400)
