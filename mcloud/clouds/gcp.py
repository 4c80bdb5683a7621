"""GCP through google-auth and the google-cloud-* clients (REST transport).

Each listed item becomes a record through a function of its own (`instance_record`, ...) that
never raises (see mcloud.clouds.base). A project that Compute says does not exist (deleted)
is not a scope any more; one it refuses stays one, and its listing fails as a scope error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exc
from google.cloud import bigquery, compute_v1, storage
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY as BIGQUERY_JOB_RETRY
from google.cloud.bigquery.retry import DEFAULT_RETRY as BIGQUERY_RETRY
from google.cloud.storage.retry import DEFAULT_RETRY as STORAGE_RETRY
from google.oauth2 import service_account
from google.protobuf import json_format

from mcloud.clouds.base import (
    GOOGLE_TOKEN_URI,
    GOOGLE_UNIVERSE,
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    GcpCredentials,
    Listing,
    ResourceRecord,
    ResourceType,
    ScopeListing,
    Skip,
    Status,
)
from mcloud.clouds.prices import GCP_HOURLY_USD, hourly_price
from mcloud.clouds.records import clean_datetime, clean_text, record_or_skip

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# Retried with backoff: throttling, server errors, connections dropped or reset on the way,
# and reads that timed out (every Compute call here is a read), as boto3 and azure-core do.
_TRANSIENT = (
    requests.Timeout,
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.ServiceUnavailable,
    gexc.BadGateway,
    gexc.GatewayTimeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    auth_exc.TransportError,
)
COMPUTE_MAX_RESULTS = 500  # the most Compute accepts per page
# "project.dataset.table" of a billing export. Checked strictly because a table name cannot be a
# query parameter: it goes into the SQL text.
BILLING_TABLE = re.compile(
    r"(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.\w{1,1024}\.[\w-]{1,1024}", re.ASCII
)
BILLING_QUERY_WAIT = 300.0  # seconds a billing query may run before it is cancelled
_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")


class GcpAdapter:
    def __init__(self, credentials: GcpCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._google_credentials: service_account.Credentials | None = None

    @property
    def client_email(self) -> str:
        return self.credentials.key_info.get("client_email", "")

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

    def compute(self, client_class: type) -> Any:
        return client_class(
            credentials=self.google_credentials(),
            transport="rest",
            client_options=self._options(self.endpoints.gcp_compute_endpoint),
        )

    def retry(self) -> Retry:
        """Throttling and server errors are retried with backoff, within the call timeout."""
        return Retry(
            predicate=if_exception_type(*_TRANSIENT),
            initial=0.2,
            maximum=5.0,
            multiplier=2.0,
            timeout=self.endpoints.timeout * (self.endpoints.retries + 1),
        )

    def terraform_env(self) -> dict[str, str]:
        """The service-account key as Terraform's google provider reads it, on the account's
        first project."""
        import json

        projects = self.credentials.project_ids
        return {
            "GOOGLE_CREDENTIALS": json.dumps(self.credentials.key_info),
            "GOOGLE_PROJECT": projects[0] if projects else "",
        }

    def test_connection(self) -> ConnectionResult:
        """Read each project the account covers."""
        projects = self.compute(compute_v1.ProjectsClient)
        names = []
        for project_id in self.credentials.project_ids:
            with translate_errors(f"read project {project_id}"):
                project = projects.get(
                    project=project_id,
                    timeout=self.endpoints.timeout,
                    retry=self.retry() if self.endpoints.retries else None,
                )
            names.append(project.name)
        return ConnectionResult(
            message=f"Connected as {self.client_email} to {_plural('project', names)}",
            identity=self.client_email,
        )

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
        """Every instance, disk, network and bucket of one project, paged to the end. Raises
        CloudError when any listing of the project fails."""
        listing = Listing()
        with translate_errors(f"list the instances of project {scope}"):
            request = compute_v1.AggregatedListInstancesRequest(
                project=scope, max_results=COMPUTE_MAX_RESULTS
            )
            for i in self._aggregated(compute_v1.InstancesClient, request, "instances"):
                listing.add(made("instance", i, instance_record, scope))
        with translate_errors(f"list the disks of project {scope}"):
            request = compute_v1.AggregatedListDisksRequest(
                project=scope, max_results=COMPUTE_MAX_RESULTS
            )
            for d in self._aggregated(compute_v1.DisksClient, request, "disks"):
                listing.add(made("disk", d, disk_record, scope))
        with translate_errors(f"list the networks of project {scope}"):
            request = compute_v1.ListNetworksRequest(project=scope, max_results=COMPUTE_MAX_RESULTS)
            pager = self.compute(compute_v1.NetworksClient).list(
                request=request, **self._call_options()
            )
            for n in pager:
                listing.add(made("network", n, network_record, scope))
        with translate_errors(f"list the buckets of project {scope}"):
            for b in self._buckets(scope):
                listing.add(made("bucket", b, bucket_record) if isinstance(b, dict) else
                            Skip("not an object", f"bucket {clean_text(b, 80)}"))  # fmt: skip
        return listing

    def _buckets(self, project: str) -> Iterator[dict[str, Any]]:
        """The project's buckets as the JSON Cloud Storage sent; the iterator fetches the
        following pages, with the same retry. Raw, because the library's Bucket refuses
        (ValueError, for the whole page) a name it does not like."""
        pages = self.storage_client(project).list_buckets(
            timeout=self.endpoints.timeout, retry=self.storage_retry()
        )
        pages.item_to_value = lambda _iterator, item: item
        yield from pages

    def _call_options(self) -> dict[str, Any]:
        """timeout and retry for a Compute call; the pager reuses them for every page."""
        return {
            "timeout": self.endpoints.timeout,
            "retry": self.retry() if self.endpoints.retries else None,
        }

    def _aggregated(self, client_class: type, request: Any, key: str) -> Iterator[Any]:
        """The items of an aggregated list, page after page, zone by zone; scopes that only
        carry a warning (NO_RESULTS_ON_PAGE) hold no items and are skipped.

        google-cloud-compute 1.57 has no `return_partial_success` field on its aggregated-list
        requests, so an unreachable zone fails the whole listing (a transient CloudError)
        instead of arriving as one more warning."""
        pager = self.compute(client_class).aggregated_list(request=request, **self._call_options())
        for _scope, scoped in pager:
            yield from getattr(scoped, key)

    def storage_client(self, project: str) -> storage.Client:
        return storage.Client(
            project=project,
            credentials=self.google_credentials(),
            client_options=self._options(self.endpoints.gcp_storage_endpoint),
        )

    def storage_retry(self) -> Retry | None:
        """Cloud Storage's own retry (429, 5xx, dropped connections), on this adapter's
        backoff and overall deadline."""
        if not self.endpoints.retries:
            return None
        return STORAGE_RETRY.with_delay(initial=0.2, maximum=5.0, multiplier=2.0).with_timeout(
            self.endpoints.timeout * (self.endpoints.retries + 1)
        )

    # --- costs -------------------------------------------------------------------------
    def bigquery_client(self, project: str) -> bigquery.Client:
        return bigquery.Client(
            project=project,
            credentials=self.google_credentials(),
            client_options=self._options(self.endpoints.gcp_bigquery_endpoint),
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
        table = self.credentials.billing_table.strip()
        found = BILLING_TABLE.fullmatch(table)
        if not found:
            message = (
                f"The billing export table {table!r} is not a valid project.dataset.table name"
                if table
                else "No Cloud Billing export table is set for this account"
            )
            raise CloudError(message, permanent=True, code="BillingTable")
        if start >= end:
            return []
        client = self.bigquery_client(found["project"])
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("start", "DATE", start),
                bigquery.ScalarQueryParameter("end", "DATE", end),
            ]
        )
        try:
            with translate_errors(f"read the billing export {table}"):
                return self._billing_rows(client, table, config)
        except TimeoutError:  # the query outlived BILLING_QUERY_WAIT and was cancelled
            raise CloudError(
                f"GCP did not finish the billing query on {table} in time", code="Timeout"
            ) from None
        finally:
            client.close()

    def _billing_rows(
        self, client: bigquery.Client, table: str, config: bigquery.QueryJobConfig
    ) -> list[CostRecord]:
        schema = client.get_table(
            table, retry=self.bigquery_retry(), timeout=self.endpoints.timeout
        ).schema
        detailed = any(f.name == "resource" for f in schema)
        rows = client.query_and_wait(
            _billing_query(table, detailed=detailed),
            job_config=config,
            api_timeout=self.endpoints.timeout,
            wait_timeout=BILLING_QUERY_WAIT,
            retry=self.bigquery_retry(),
            job_retry=self.bigquery_retry(job=True),
        )
        # Iterating fetches the following pages (jobs.getQueryResults), with the same retry.
        return [
            CostRecord(
                date=row["usage_date"],
                service=row["service"] or "",
                amount=Decimal(str(row["cost"])),
                currency=row["currency"] or "",
                region=row["region"],
                resource_id=row.get("resource_id", ""),
                metadata={"project_id": row["project_id"]},
            )
            for row in rows
        ]


GLOBAL_REGION = "global"
_INSTANCE_STATUSES = {
    "RUNNING": Status.RUNNING,
    "PROVISIONING": Status.PENDING,
    "STAGING": Status.PENDING,
    "REPAIRING": Status.PENDING,
    "STOPPING": Status.STOPPING,
    "SUSPENDING": Status.STOPPING,
    "TERMINATED": Status.STOPPED,  # Compute's word for a stopped instance, not a deleted one
    "SUSPENDED": Status.STOPPED,
    "STOPPED": Status.STOPPED,
}
# READY is in_use or available, depending on whether any instance uses the disk.
_DISK_STATUSES = {
    "CREATING": Status.PENDING,
    "RESTORING": Status.PENDING,
    "FAILED": Status.ERROR,
    "DELETING": Status.DELETING,
}
_COMPUTE_PATH = re.compile(r"^.*?/(?=projects/)")


def made(kind: str, item: Any, build: Any, *args: Any) -> ResourceRecord | Skip:
    """build(item, *args), or a Skip when the build fails on something unforeseen: one item
    never fails its listing."""
    try:
        return build(item, *args)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        name = item.get("name") if isinstance(item, dict) else getattr(item, "name", "")
        return Skip(
            f"unreadable ({error.__class__.__name__})",
            f"{kind} {clean_text(name if isinstance(name, str) else '', 200)}",
        )


def instance_record(i: Any, project: str) -> ResourceRecord | Skip:
    """A compute_v1.Instance; its id is built from its zone and name, as Compute's paths are."""
    zone = _last(i.zone)
    machine_type = _last(i.machine_type)
    nic = i.network_interfaces[0] if i.network_interfaces else None
    nat = next((a.nat_i_p for a in nic.access_configs if a.nat_i_p), None) if nic else None
    created = _timestamp(i.creation_timestamp)
    name = clean_text(i.name)
    return record_or_skip(
        kind="instance",
        resource_id=f"projects/{project}/zones/{zone or '-'}/instances/{name}" if name else None,
        name=name,
        type=ResourceType.VM,
        region=_zone_region(zone),
        status=_INSTANCE_STATUSES.get(i.status, Status.UNKNOWN),
        created_at=created,
        tags=dict(i.labels),
        metadata={
            "machine_type": machine_type or None,
            "private_ip": (nic.network_i_p or None) if nic else None,
            "public_ip": nat,
            "network": _path(nic.network) if nic else None,
            "subnetwork": _path(nic.subnetwork) if nic else None,
            "zone": zone or None,
            "network_tags": list(i.tags.items) if i.tags else [],
            "instance_id": str(i.id) if i.id else None,
            "provider_status": i.status or None,
            "cost_per_hour": hourly_price(GCP_HOURLY_USD, machine_type),
            "created": created.isoformat() if created else None,
        },
        where=f"in zone {zone}" if zone else "",
    )


def disk_record(d: Any, project: str) -> ResourceRecord | Skip:
    # Zonal disks name their zone; regional (replicated) disks their region.
    zone = _last(d.zone) if d.zone else None
    region = _zone_region(zone) if zone else _last(d.region)
    where = f"zones/{zone}" if zone else f"regions/{region or '-'}"
    status = _DISK_STATUSES.get(d.status, Status.UNKNOWN)
    if d.status == "READY":
        status = Status.IN_USE if d.users else Status.AVAILABLE
    name = clean_text(d.name)
    return record_or_skip(
        kind="disk",
        resource_id=f"projects/{project}/{where}/disks/{name}" if name else None,
        name=name,
        type=ResourceType.DISK,
        region=region,
        status=status,
        created_at=_timestamp(d.creation_timestamp),
        tags=dict(d.labels),
        metadata={
            "size_gb": int(d.size_gb) if d.size_gb else None,
            "disk_type": _last(d.type_) or None,
            "zone": zone,
            "users": [_path(u) for u in d.users],
            "provider_status": d.status or None,
        },
        where=f"in {where}",
    )


def network_record(n: Any, project: str) -> ResourceRecord | Skip:
    # Auto-mode networks have one subnetwork per region, each named like the network.
    subnetworks = [f"{_last(_parent(s))}/{_last(s)}" for s in n.subnetworks]
    name = clean_text(n.name)
    return record_or_skip(
        kind="network",
        resource_id=f"projects/{project}/global/networks/{name}" if name else None,
        name=name,
        type=ResourceType.NETWORK,
        region=GLOBAL_REGION,
        status=Status.AVAILABLE,
        created_at=_timestamp(n.creation_timestamp),
        metadata={
            "auto_create_subnetworks": n.auto_create_subnetworks,
            "subnetwork_count": len(subnetworks),
            "subnetworks": subnetworks,
            "routing_mode": n.routing_config.routing_mode or None,
            "mtu": n.mtu or None,
            "provider_status": "available",
        },
    )


def bucket_record(b: dict[str, Any]) -> ResourceRecord | Skip:
    """A bucket as Cloud Storage's JSON lists it."""
    name = clean_text(b.get("name"))
    location = b.get("location")
    return record_or_skip(
        kind="bucket",
        resource_id=f"projects/_/buckets/{name}" if name else None,
        name=name,
        type=ResourceType.STORAGE,
        region=location if isinstance(location, str) else None,
        status=Status.AVAILABLE,
        created_at=_timestamp(b.get("timeCreated")),
        tags=b.get("labels"),
        metadata={
            "storage_class": b.get("storageClass"),
            "location_type": b.get("locationType"),
            "provider_status": "available",
        },
    )


def _last(url: str) -> str:
    """The last segment of a resource URL: .../machineTypes/e2-medium -> e2-medium."""
    return url.rstrip("/").rsplit("/", 1)[-1] if url else ""


def _parent(url: str) -> str:
    """.../regions/us-east1/subnetworks/default -> .../regions/us-east1."""
    return url.rstrip("/").rsplit("/", 2)[0] if url else ""


def _path(url: str) -> str | None:
    """A resource URL as its path from "projects/", the form resource ids take here."""
    return _COMPUTE_PATH.sub("", url) if url else None


def _zone_region(zone: str) -> str:
    """us-central1-a -> us-central1 ("" for no zone)."""
    return zone.rsplit("-", 1)[0] if zone else ""


def _timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Compute's creationTimestamp, Storage's timeCreated), in UTC."""
    if not value or not isinstance(value, str):
        return None
    try:
        return clean_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _plural(noun: str, names: list[str]) -> str:
    return f"{noun}{'s' if len(names) != 1 else ''} {', '.join(names)}"


def _billing_query(table: str, *, detailed: bool) -> str:
    """Daily sums per project, service and region (and resource, from a detailed export) of
    cost plus credits, in NUMERIC so that amounts stay exact (the export holds FLOAT64). Days
    are UTC dates of usage_start_time. `table` must have passed BILLING_TABLE."""
    resource = "\n  IFNULL(resource.name, '') AS resource_id," if detailed else ""
    return f"""SELECT
  DATE(usage_start_time) AS usage_date,
  IFNULL(project.id, '') AS project_id,
  service.description AS service,
  IFNULL(location.region, '') AS region,{resource}
  currency AS currency,
  SUM(CAST(cost AS NUMERIC))
    + SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)) AS cost
FROM `{table}`
WHERE DATE(usage_start_time) >= @start AND DATE(usage_start_time) < @end
GROUP BY {", ".join(str(n) for n in range(1, 6 + detailed))}"""  # noqa: S608 - table checked


_REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


def _reason(exc: gexc.GoogleAPICallError) -> str:
    """The API's own message, without the request line the REST transport puts before it."""
    return _REQUEST_PREFIX.sub("", exc.message or "")[:300]


def _oauth_error(exc: auth_exc.RefreshError) -> str:
    """The OAuth error code of the token endpoint's answer ("invalid_grant"), and nothing else
    it said: its words are not ours to show."""
    for arg in exc.args:
        code = arg.get("error") if isinstance(arg, dict) else None
        if isinstance(code, str) and _OAUTH_ERROR.fullmatch(code):
            return code
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    code = first.split(":", 1)[0].strip()
    return code if _OAUTH_ERROR.fullmatch(code) else "refused"


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn google exceptions into display-safe CloudErrors."""
    try:
        yield
    except auth_exc.RefreshError as exc:
        raise CloudError(
            f"GCP rejected the service-account key ({_oauth_error(exc)})",
            permanent=True,
            code="RefreshError",
        ) from None
    except (ValueError, auth_exc.MalformedError) as exc:
        raise CloudError(
            f"The service-account key is not usable ({exc.__class__.__name__})",
            permanent=True,
            code="MalformedKey",
        ) from None
    except gexc.Unauthorized:
        raise CloudError(
            "GCP rejected the service-account key (UNAUTHENTICATED)",
            permanent=True,
            code="Unauthenticated",
        ) from None
    except gexc.Forbidden as exc:
        raise CloudError(
            f"GCP denied the request to {doing} ({_reason(exc)})", permanent=True, code="Forbidden"
        ) from None
    except gexc.NotFound:
        raise CloudError(
            f"GCP could not {doing}: it does not exist", permanent=True, code="NotFound"
        ) from None
    except (gexc.DeadlineExceeded, gexc.RetryError, requests.Timeout):
        raise CloudError(
            f"GCP did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except (requests.ConnectionError, auth_exc.TransportError):
        raise CloudError("GCP could not be reached", code="ConnectionError") from None
    except gexc.GoogleAPICallError as exc:
        raise CloudError(
            f"GCP could not {doing} ({exc.code}: {_reason(exc)})", code=str(exc.code)
        ) from None
    except json_format.Error:
        raise CloudError(
            f"GCP sent an answer that could not be read while trying to {doing}",
            code="Unreadable",
        ) from None
