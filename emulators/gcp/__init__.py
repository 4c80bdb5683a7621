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

It speaks six APIs, each the way the real service does, so code tested against it needs no
special cases:

* OAuth 2.0 (`POST /token`): the JWT-bearer grant google-auth sends when refreshing service
  account credentials; the assertion's RS256 signature is checked against the account's key.
* Compute Engine v1 (`/compute/v1/...`): projects, aggregated and zonal instance lists, aggregated
  disks, global networks, with real paging (`maxResults`, `pageToken`, `nextPageToken`) and the
  `NO_RESULTS_ON_PAGE` warnings of aggregated lists; an instance's start, stop and reset
  as zone operations (`emulators.gcp.operations`); a disk's, address's and snapshot's get and
  delete, as zone, region and global operations (`emulators.gcp.cleanups`).
* Cloud Storage JSON API (`/storage/v1/b`): bucket lists and gets.
* Cloud Asset Inventory v1 (`/v1/projects/{project}/assets`): ListAssets over every resource
  above and the ones only it serves here (subnetworks, firewalls, addresses, Cloud NAT, load
  balancers, snapshots, managed instance groups, GKE, Cloud SQL, Firestore, Cloud Functions,
  Cloud Run, Pub/Sub, Cloud DNS; see `emulators.gcp.asset` and the modules it names).
* Resource Manager v3 (`/v3/projects:search`, `/v3/folders`): the organization's folders and
  the projects the caller may read in them (see `emulators.gcp.resource_manager`).
* BigQuery v2 (`/bigquery/v2/...`): the jobs and tables calls of google-cloud-bigquery, answering
  the daily grouping of a Cloud Billing export table added with `add_billing_rows` (see
  `emulators.gcp.bigquery` for the query contract).

The GAPIC clients (google-cloud-compute) call `with_always_use_jwt_access(True)` on service account
credentials and send a *self-signed JWT* as the bearer token instead of calling the token endpoint,
even with a custom `api_endpoint`; google-cloud-storage does call the token endpoint. Both kinds
of bearer token are therefore accepted, and both stop working once the key is revoked.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from emulators.base import FakeServer, Request, Response
from emulators.gcp.asset import ASSET_KINDS, AssetMixin
from emulators.gcp.auth import JWT_GRANT, TOKEN_LIFETIME, AuthMixin
from emulators.gcp.bigquery import BIGQUERY_LOCATION, BigQueryMixin
from emulators.gcp.cleanups import CleanupsMixin
from emulators.gcp.common import (
    _REASONS,
    COMPUTE,
    COMPUTE_MAX_RESULTS,
    STORAGE,
    STORAGE_MAX_RESULTS,
    _Account,
    _Project,
)
from emulators.gcp.compute import DEFAULT_ZONES, INSTANCE_STATUSES, KINDS, ComputeMixin
from emulators.gcp.fleet import FleetMixin
from emulators.gcp.network import NetworkMixin
from emulators.gcp.operations import INSTANCE_ACTIONS, OperationsMixin
from emulators.gcp.resource_manager import ResourceManagerMixin
from emulators.gcp.services import ServicesMixin
from emulators.gcp.storage import DUAL_REGIONS, MULTI_REGIONS, StorageMixin

__all__ = [
    "ASSET_KINDS",
    "BIGQUERY_LOCATION",
    "COMPUTE",
    "COMPUTE_MAX_RESULTS",
    "DEFAULT_ZONES",
    "DUAL_REGIONS",
    "INSTANCE_ACTIONS",
    "INSTANCE_STATUSES",
    "JWT_GRANT",
    "KINDS",
    "MULTI_REGIONS",
    "STORAGE",
    "STORAGE_MAX_RESULTS",
    "TOKEN_LIFETIME",
    "GcpFake",
]


class GcpFake(
    AuthMixin,
    ComputeMixin,
    OperationsMixin,
    CleanupsMixin,
    NetworkMixin,
    FleetMixin,
    ServicesMixin,
    StorageMixin,
    AssetMixin,
    ResourceManagerMixin,
    BigQueryMixin,
    FakeServer,
):
    """Fake OAuth, Compute Engine v1, Cloud Storage, Cloud Asset Inventory and BigQuery
    endpoints on one plain-http port."""

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
        for method, pattern, handler in self._operation_routes(p) + self._cleanup_routes(p):
            self.route(method, pattern)(self._authenticated("compute", handler))
        self.route("GET", r"/storage/v1/b")(self._authenticated("storage", self._list_buckets))
        self.route("GET", r"/storage/v1/b/(?P<bucket>[^/]+)")(
            self._authenticated("storage", self._get_bucket)
        )
        self.route("GET", r"/v1/projects/(?P<parent_id>[^/:]+)/assets")(
            self._authenticated("cloudasset", self._list_assets)
        )
        self.route("GET", r"/v3/projects:search")(
            self._authenticated("cloudresourcemanager", self._search_projects)
        )
        self.route("GET", r"/v3/folders")(
            self._authenticated("cloudresourcemanager", self._list_folders)
        )
        for method, pattern, handler in self._bigquery_routes():
            self.route(method, pattern)(self._authenticated("bigquery", handler))

    def _reset_state(self) -> None:
        with self._lock:
            self._random = random.Random(self._seed)
            self._projects: dict[str, _Project] = {}
            self._accounts: dict[str, _Account] = {}
            self._tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expires at)
            self._buckets: dict[str, tuple[str, dict[str, Any]]] = {}  # name -> (project, json)
            self._operations = {}
            self._reset_bigquery()
            self._reset_resource_manager()

    # --- state-setting API -------------------------------------------------------------
    def reset(self) -> None:
        """Forget every project, account, token, resource and logged request; clear faults."""
        self._reset_state()
        self.faults.clear()
        self.requests.clear()
        self.request_times.clear()
        self.page_size = 500
        self.operation_polls = 1

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
