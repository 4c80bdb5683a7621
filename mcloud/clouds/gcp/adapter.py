"""The GCP adapter: a service-account key, its projects, and the clients that read them (REST
transport, with the endpoints of `Endpoints` when set).

- Signed tokens go to the configured token endpoint (Google's by default), never to one the
  pasted key names.
- Every read is retried with backoff on throttling, server errors, dropped connections and
  timeouts, within `timeout * (retries + 1)`; pagers reuse the same retry for every page.
- A project that Compute says does not exist (deleted) is not a scope any more; one it refuses
  stays one, and its listing fails as a scope error.
- Every client's HTTP session paces its requests and waits out throttling answers
  (`mcloud.clouds.gcp.pacing`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from google.api_core.retry import Retry, if_exception_type
from google.auth.transport.requests import AuthorizedSession
from google.cloud import asset_v1, bigquery, compute_v1
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY as BIGQUERY_JOB_RETRY
from google.cloud.bigquery.retry import DEFAULT_RETRY as BIGQUERY_RETRY
from google.oauth2 import service_account

from mcloud.clouds.base import (
    GOOGLE_TOKEN_URI,
    GOOGLE_UNIVERSE,
    ActionResult,
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    GcpCredentials,
    Listing,
    Member,
    ScopeListing,
    TagCostRecord,
)
from mcloud.clouds.gcp.actions import gcp_vm_action
from mcloud.clouds.gcp.assets import ASSET_PAGE_SIZE
from mcloud.clouds.gcp.cleanups import cleanup_target, gcp_cleanup
from mcloud.clouds.gcp.costs import billing_costs, billing_tag_costs
from mcloud.clouds.gcp.errors import TRANSIENT, translate_errors
from mcloud.clouds.gcp.inventory import list_project
from mcloud.clouds.gcp.pacing import PacedAdapter, paced_session
from mcloud.clouds.gcp.projects import organization_projects

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
COMPUTE_MAX_RESULTS = 500  # the most Compute accepts per page
# The clients an ExtendedOperation of each kind polls through.
_OPERATIONS_CLIENTS = {
    "zone_operations": compute_v1.ZoneOperationsClient,
    "region_operations": compute_v1.RegionOperationsClient,
    "global_operations": compute_v1.GlobalOperationsClient,
}


class GcpAdapter:
    def __init__(self, credentials: GcpCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._google_credentials: service_account.Credentials | None = None

    @property
    def client_email(self) -> str:
        return str(self.credentials.key_info.get("client_email", ""))

    def google_credentials(self) -> service_account.Credentials:
        if self._google_credentials is None:
            info = dict(self.credentials.key_info)
            # Never the key's own: a pasted key must not make mcloud POST signed tokens to an
            # address of its choosing.
            info["token_uri"] = self.endpoints.gcp_token_uri or GOOGLE_TOKEN_URI
            info["universe_domain"] = GOOGLE_UNIVERSE
            with translate_errors("read the service-account key"):
                self._google_credentials = service_account.Credentials.from_service_account_info(
                    info, scopes=SCOPES
                )
        return self._google_credentials

    def _options(self, endpoint: str | None) -> dict[str, Any] | None:
        return {"api_endpoint": endpoint} if endpoint else None

    def _pacing(self) -> PacedAdapter:
        e = self.endpoints
        own_project = str(self.credentials.key_info.get("project_id") or "")
        return PacedAdapter(e.throttle, own_project, e.throttle_patience)

    def _paced(self, client: Any) -> Any:
        """A GAPIC REST client whose session paces its requests (mcloud.clouds.gcp.pacing)."""
        paced_session(client.transport._session, self._pacing())
        return client

    def compute(self, client_class: type) -> Any:
        return self._paced(
            client_class(
                credentials=self.google_credentials(),
                transport="rest",
                client_options=self._options(self.endpoints.gcp_compute_endpoint),
            )
        )

    def asset_client(self) -> asset_v1.AssetServiceClient:
        return self._paced(
            asset_v1.AssetServiceClient(
                credentials=self.google_credentials(),
                transport="rest",
                client_options=self._options(self.endpoints.gcp_asset_endpoint),
            )
        )

    def resource_manager(self, client_class: type) -> Any:
        return self._paced(
            client_class(
                credentials=self.google_credentials(),
                transport="rest",
                client_options=self._options(self.endpoints.gcp_resource_manager_endpoint),
            )
        )

    def retry(self) -> Retry:
        """Throttling and server errors are retried with backoff, within the call timeout."""
        return Retry(
            predicate=if_exception_type(*TRANSIENT),
            initial=0.2,
            maximum=5.0,
            multiplier=2.0,
            timeout=self.endpoints.timeout * (self.endpoints.retries + 1),
        )

    def call_options(self) -> dict[str, Any]:
        return self._call_options()

    def _call_options(self) -> dict[str, Any]:
        """timeout and retry for a call; the pager reuses them for every page."""
        return {
            "timeout": self.endpoints.timeout,
            "retry": self.retry() if self.endpoints.retries else None,
        }

    def terraform_env(self) -> dict[str, str]:
        """The service-account key as Terraform's google provider reads it, on the account's
        first project."""
        projects = self.credentials.project_ids
        return {
            "GOOGLE_CREDENTIALS": json.dumps(self.credentials.key_info),
            "GOOGLE_PROJECT": projects[0] if projects else "",
        }

    def test_connection(self) -> ConnectionResult:
        """Read each project the account covers, and one page of its assets (the inventory
        needs Cloud Asset Inventory's read permission and API too)."""
        if not self.credentials.project_ids and self.credentials.project_parent:
            found = self.members()
            return ConnectionResult(
                message=f"Connected as {self.client_email}, which can see {len(found)} "
                f"project{'s' if len(found) != 1 else ''} under {self.credentials.project_parent}",
                identity=self.client_email,
            )
        projects = self.compute(compute_v1.ProjectsClient)
        names = []
        for project_id in self.credentials.project_ids:
            with translate_errors(f"read project {project_id}"):
                project = projects.get(
                    project=project_id,
                    timeout=self.endpoints.timeout,
                    retry=self.retry() if self.endpoints.retries else None,
                )
            with translate_errors(f"list the resources of project {project_id}"):
                request = asset_v1.ListAssetsRequest(
                    parent=f"projects/{project_id}",
                    asset_types=["compute.googleapis.com/Network"],
                    page_size=1,
                )
                self.asset_client().list_assets(request=request, **self._call_options())
            names.append(project.name)
        return ConnectionResult(
            message=f"Connected as {self.client_email} to {_plural('project', names)}",
            identity=self.client_email,
        )

    def members(self) -> list[Member]:
        """Every project the service account can see under the organization or folder it
        discovers in (mcloud.clouds.gcp.projects), other than those it names itself."""
        own = set(self.credentials.project_ids)
        return [m for m in organization_projects(self) if m.member_id not in own]

    # --- inventory ---------------------------------------------------------------------
    def scope_listing(self) -> ScopeListing:
        """The account's projects, less those Compute says do not exist (deleted)."""
        projects = self.compute(compute_v1.ProjectsClient)
        scopes, gone = [], {}
        for project_id in self.credentials.project_ids:
            try:
                with translate_errors(f"read project {project_id}"):
                    projects.get(project=project_id, **self._call_options())
            except CloudError as error:
                if error.code == "NotFound":
                    gone[project_id] = "no longer exists"
                    continue
                if error.code in ("RefreshError", "MalformedKey", "Unauthenticated"):
                    raise  # the key, not the project: nothing can be listed
            scopes.append(project_id)  # refused or unreachable: its listing will say
        return ScopeListing(scopes, gone=gone)

    def scopes(self) -> list[str]:
        """One scope per project the account covers (and that exists)."""
        return self.scope_listing().scopes

    def list_scope(self, scope: str) -> Listing:
        """Every resource of one project (see mcloud.clouds.gcp.inventory), paged to the end.
        Raises CloudError when any listing of the project fails."""
        return list_project(self, scope)

    def instances(self, project: str) -> Iterator[Any]:
        """The project's instances (compute_v1.Instance), page after page, zone by zone;
        scopes that only carry a warning (NO_RESULTS_ON_PAGE) hold no items.

        google-cloud-compute 1.57 has no `return_partial_success` field on its aggregated-list
        requests, so an unreachable zone fails the whole listing (a transient CloudError)
        instead of arriving as one more warning."""
        request = compute_v1.AggregatedListInstancesRequest(
            project=project, max_results=COMPUTE_MAX_RESULTS
        )
        pager = self.compute(compute_v1.InstancesClient).aggregated_list(
            request=request, **self._call_options()
        )
        for _scope, scoped in pager:
            yield from scoped.instances

    def assets(self, project: str, asset_types: tuple[str, ...]) -> Iterator[asset_v1.Asset]:
        """The project's assets of these types, each with its resource's JSON, page after
        page."""
        request = asset_v1.ListAssetsRequest(
            parent=f"projects/{project}",
            asset_types=list(asset_types),
            content_type=asset_v1.ContentType.RESOURCE,
            page_size=ASSET_PAGE_SIZE,
        )
        yield from self.asset_client().list_assets(request=request, **self._call_options())

    # --- actions -----------------------------------------------------------------------
    def vm_action(self, action: str, resource_id: str, region: str) -> ActionResult:
        """Start, stop or reset an instance, followed to the end of its zone operation
        (`mcloud.clouds.gcp.actions`). Only the read before it is retried: an action sent
        twice is not the same as once."""
        e = self.endpoints
        instances = self.compute(compute_v1.InstancesClient)
        if e.gcp_compute_endpoint:
            # google-cloud-compute 1.57 makes the zone-operations client an ExtendedOperation
            # polls through without the instances client's options (so it would poll
            # compute.googleapis.com): it takes ours, on the configured endpoint.
            operations = instances.transport._extended_operations_services
            operations["zone_operations"] = self.compute(compute_v1.ZoneOperationsClient)
        return gcp_vm_action(
            instances, action, resource_id,
            call_options=self._call_options(), poll_seconds=e.poll_seconds,
            timeout=e.action_timeout,
        )  # fmt: skip

    def cleanup(self, kind: str, resource_id: str, region: str) -> ActionResult:
        """Delete a disk or snapshot, release an address, followed to the end of its zone,
        region or global operation (`mcloud.clouds.gcp.cleanups`)."""
        e = self.endpoints

        def client_of(name: str, operations: str) -> Any:
            client = self.compute(getattr(compute_v1, name))
            if e.gcp_compute_endpoint:  # the operations client on our endpoint (see vm_action)
                wanted = _OPERATIONS_CLIENTS[operations]
                client.transport._extended_operations_services[operations] = self.compute(wanted)
            return client

        return gcp_cleanup(
            cleanup_target(kind, resource_id, client_of), call_options=self._call_options(),
            poll_seconds=e.poll_seconds, timeout=e.action_timeout,
        )  # fmt: skip

    # --- costs -------------------------------------------------------------------------
    def bigquery_client(self, project: str) -> bigquery.Client:
        credentials = self.google_credentials()
        return bigquery.Client(
            project=project,
            credentials=credentials,
            client_options=self._options(self.endpoints.gcp_bigquery_endpoint),
            _http=paced_session(AuthorizedSession(credentials), self._pacing()),
        )

    def bigquery_retry(self, job: bool = False) -> Retry | None:
        """BigQuery's own retry predicates (of API calls, or of whole failed query jobs), on
        this adapter's backoff and overall deadline."""
        if not self.endpoints.retries:
            return None
        base = BIGQUERY_JOB_RETRY if job else BIGQUERY_RETRY
        return base.with_delay(initial=0.2, maximum=5.0, multiplier=2.0).with_timeout(
            self.endpoints.timeout * (self.endpoints.retries + 1)
        )

    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily costs from `start` to `end` (exclusive), one record per day, project, service,
        region (and resource, from a detailed export), read with one grouped query on the
        account's Cloud Billing export table. Credits (discounts, free tier) are included.

        The job runs in the table's project, so the service account needs BigQuery Job User
        there and Data Viewer on the export dataset. The standard export has no `resource`
        column (only the detailed one has); the table's schema decides which query runs."""
        if self.credentials.costs_through_connection:
            return []
        return billing_costs(self, start, end)

    def tag_costs(self, start: date, end: date, keys: list[str]) -> list[TagCostRecord]:
        """Daily costs (credits included) per value of each label key, from the export's
        `labels` (the labels of the resource each row bills), in one query for every key;
        value "" is the cost of rows without the label."""
        return billing_tag_costs(self, start, end, keys)


def _plural(noun: str, names: list[str]) -> str:
    return f"{noun}{'s' if len(names) != 1 else ''} {', '.join(names)}"
