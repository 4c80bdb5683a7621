"""BigQuery's REST API (v2), as google-cloud-bigquery 3.x drives it, answering one kind of query:
the daily grouping of a Cloud Billing export table.

The fake does not implement SQL. Like moto's seeded Cost Explorer results, it holds billing export
rows per table and answers *our billing query*, recognized by its shape:

    gcp.add_billing_rows("acme-prod.billing.gcp_billing_export_v1_0123", [
        {"usage_start_time": datetime(2026, 10, 1, 3, tzinfo=UTC), "service": "Compute Engine",
         "region": "us-central1", "cost": 1.23, "credits": -0.1, "currency": "USD"},
    ])

Contract of a query the fake answers (anything else is answered 400 `invalidQuery`):
- One top-level `SELECT <items> FROM <table> ...`; the table is `project.dataset.table`, with or
  without backticks. Unknown table or dataset: 404 `notFound`; a table in a project the service
  account may not read: 403 `accessDenied` (BigQuery's "or perhaps it does not exist").
- Every SELECT item ends with `AS <alias>` (or is a bare column name); the aliases name output
  columns among `usage_date` (DATE), `project_id`, `service`, `region`, `resource_id`, `currency`,
  `tag_key`, `tag_value` (STRING) and `cost`; `usage_date` and `cost` are required. The answer
  has exactly these columns, in the query's order: one row per distinct value of the non-cost
  columns, with `cost` the sum of each row's cost plus its credits. `cost` is NUMERIC when its
  item mentions NUMERIC (a cast), FLOAT otherwise, as in BigQuery.
- A query by label names `tag_key` and `tag_value` and takes an ARRAY<STRING> parameter `keys`
  (`FROM table CROSS JOIN UNNEST(@keys) AS k`): each row counts once per key, with its label of
  that key as `tag_value` ("" without one). Rows take `labels` ({"team": "web"}).
- The filter is `DATE(usage_start_time) >= @start AND ... < @end` with DATE query parameters
  `start` and `end` (end exclusive); days are UTC, like DATE() of a TIMESTAMP.
- Standard export tables have no `resource` column: a query that names `resource.` on one fails
  with "Unrecognized name: resource", as in BigQuery. A table is detailed (resource-level) when
  added with `detailed=True`, when its name starts with `gcp_billing_export_resource_v1`, or when
  any of its rows names a resource.

Endpoints (all under `/bigquery/v2/projects/{project}`, same bearer tokens as Compute/Storage):
`POST /queries` (jobs.query: `Client.query_and_wait`, and `Client.query(api_method="QUERY")`),
`POST /jobs` (jobs.insert: `Client.query`), `GET /jobs/{id}` (jobs.get: the polling of
`QueryJob.result()`), `POST /jobs/{id}/cancel`, `GET /queries/{id}` (jobs.getQueryResults: every
page after the first), `GET /datasets/{d}/tables/{t}` (tables.get: the export's schema). Jobs
finish at once; rows come in pages of `page_size` (or the request's smaller `maxResults`) with a
`pageToken` while more remain. As in BigQuery, jobs.query answers a failed query with an HTTP
error, while jobs.insert answers 200 with a failed job (`status.errorResult`) whose error
`QueryJob.result()` raises.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from emulators.base import Request, Response
from emulators.gcp.billing_export import (
    DETAILED_PREFIX,
    OUTPUT_TYPES,
    TABLE_NAME,
    BillingTable,
    QueryError,
    billing_row,
    date_parameters,
    export_schema,
    grouped_rows,
    parse_query,
    tag_keys,
)
from emulators.gcp.common import GcpPart, _ApiError

__all__ = ["BIGQUERY_LOCATION", "DETAILED_PREFIX", "OUTPUT_TYPES", "BigQueryMixin"]

BIGQUERY_LOCATION = "US"  # where every fake dataset lives
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
}


@dataclass
class _Job:
    project: str
    job_id: str
    email: str
    configuration: dict[str, Any]
    fields: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[int, str, str] | None = None  # (HTTP status, reason, message)
    created: int = field(default_factory=lambda: int(time.time() * 1000))
    scanned: int = 0

    @property
    def reference(self) -> dict[str, str]:
        return {"projectId": self.project, "jobId": self.job_id, "location": BIGQUERY_LOCATION}


class BigQueryMixin(GcpPart):
    _billing: dict[str, BillingTable]  # "project.dataset.table" -> table
    _jobs: dict[tuple[str, str], _Job]  # (project, job id) -> job

    # --- state-setting API -------------------------------------------------------------
    def add_billing_rows(
        self, table: str, rows: list[dict[str, Any]], *, detailed: bool | None = None
    ) -> None:
        """Billing export rows: usage_start_time (datetime; naive means UTC), service, cost;
        optional region, resource, project (default: the resource's, else the table's),
        credits (a number, or a list of numbers or {"amount": ...}), currency ("USD")."""
        found = TABLE_NAME.fullmatch(table)
        if not found:
            raise ValueError(f"table must be project.dataset.table, not {table!r}")
        checked = [billing_row(row, found["project"]) for row in rows]
        if detailed is False and any(r.resource for r in checked):
            raise ValueError("standard export tables have no resource column")
        with self._lock:
            self._project(found["project"])
            billing = self._billing.setdefault(
                table, BillingTable(found["project"], found["dataset"], found["table"], detailed)
            )
            if detailed is not None:
                billing.detailed = detailed
            billing.rows.extend(checked)

    def clear_billing_rows(self, table: str | None = None) -> None:
        """Forget the rows of one table (it stays, empty), or every table."""
        with self._lock:
            if table is None:
                self._billing.clear()
            elif table in self._billing:
                self._billing[table].rows.clear()

    def _reset_bigquery(self) -> None:
        self._billing = {}
        self._jobs = {}

    def _bigquery_routes(self) -> list[tuple[str, str, Any]]:
        p = r"/bigquery/v2/projects/(?P<project>[^/]+)"
        return [
            ("POST", p + r"/queries", self._jobs_query),
            ("GET", p + r"/queries/(?P<job>[^/]+)", self._get_query_results),
            ("POST", p + r"/jobs", self._jobs_insert),
            ("GET", p + r"/jobs/(?P<job>[^/]+)", self._jobs_get),
            ("POST", p + r"/jobs/(?P<job>[^/]+)/cancel", self._jobs_cancel),
            ("GET", p + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)", self._get_table),
        ]

    # --- wire ---------------------------------------------------------------------------
    def _bq_error(self, status: int, reason: str, message: str) -> _ApiError:
        extra = {"status": _STATUS.get(status, "UNKNOWN")}
        return _ApiError(self.error(status, reason, message, reason=reason, extra=extra))

    def _may_create_jobs(self, project: str, email: str) -> None:
        with self._lock:
            known = project in self._projects
            account = self._accounts.get(email)
            allowed = account is not None and project in account.projects
        if not known:
            raise self._bq_error(404, "notFound", f"Not found: Project {project}")
        if not allowed:
            raise self._bq_error(
                403,
                "accessDenied",
                f"Access Denied: Project {project}: User does not have bigquery.jobs.create "
                f"permission in project {project}.",
            )

    def _jobs_query(self, request: Request, email: str) -> Response:
        """jobs.query: run at once and answer the first page, or the query's error."""
        project = request.params["project"]
        self._may_create_jobs(project, email)
        body = request.json() or {}
        job = self._new_job(project, email, _query_config(body))
        if job.error:
            raise self._bq_error(*job.error)
        size = _int(body.get("maxResults"), "maxResults")
        page = self._results(job, size=size, token=None, start=None)
        return Response.json(
            {"kind": "bigquery#queryResponse", **page, "queryId": f"q_{job.job_id}"}
        )

    def _jobs_insert(self, request: Request, email: str) -> Response:
        """jobs.insert: a job that is DONE at once, failed or not."""
        project = request.params["project"]
        self._may_create_jobs(project, email)
        body = request.json() or {}
        job_id = (body.get("jobReference") or {}).get("jobId") or None
        with self._lock:
            if job_id and (project, job_id) in self._jobs:
                raise self._bq_error(
                    409, "duplicate", f"Already Exists: Job {project}:{BIGQUERY_LOCATION}.{job_id}"
                )
        query = (body.get("configuration") or {}).get("query")
        if not query:
            raise self._bq_error(400, "invalid", "The fake runs query jobs only.")
        job = self._new_job(project, email, query, job_id)
        return Response.json(self._job_json(job))

    def _jobs_get(self, request: Request, email: str) -> Response:
        return Response.json(self._job_json(self._job(request, email)))

    def _jobs_cancel(self, request: Request, email: str) -> Response:
        job = self._job(request, email)
        return Response.json({"kind": "bigquery#jobCancelResponse", "job": self._job_json(job)})

    def _get_query_results(self, request: Request, email: str) -> Response:
        """jobs.getQueryResults: a page of a finished job, or the error of a failed one."""
        job = self._job(request, email)
        if job.error:
            raise self._bq_error(*job.error)
        page = self._results(
            job,
            size=_int(request.arg("maxResults"), "maxResults"),
            token=request.arg("pageToken"),
            start=_int(request.arg("startIndex"), "startIndex"),
        )
        answer = {"kind": "bigquery#getQueryResultsResponse", "etag": job.job_id[-12:], **page}
        wanted = {f.split("(")[0].split("/")[0] for f in (request.arg("fields") or "").split(",")}
        if wanted - {""}:  # a partial response, as `fields=` asks
            answer = {k: v for k, v in answer.items() if k in wanted}
        return Response.json(answer)

    def _get_table(self, request: Request, email: str) -> Response:
        """tables.get: the export table's schema (with `resource` only if it is detailed)."""
        project, dataset, name = (request.params[k] for k in ("project", "dataset", "table"))
        billing = self._readable_table(f"{project}.{dataset}.{name}", email)
        with self._lock:
            count, detailed = len(billing.rows), billing.is_detailed
        reference = {"projectId": project, "datasetId": dataset, "tableId": name}
        return Response.json(
            {
                "kind": "bigquery#table",
                "id": f"{project}:{dataset}.{name}",
                "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}"
                f"/datasets/{dataset}/tables/{name}",
                "tableReference": reference,
                "schema": {"fields": export_schema(detailed)},
                "timePartitioning": {"type": "DAY"},
                "numRows": str(count),
                "numBytes": str(count * 600),
                "creationTime": "1767225600000",
                "type": "TABLE",
                "location": BIGQUERY_LOCATION,
            }
        )

    # --- jobs ---------------------------------------------------------------------------
    def _job(self, request: Request, email: str) -> _Job:
        project, job_id = request.params["project"], request.params["job"]
        self._may_create_jobs(project, email)
        location = request.arg("location")
        with self._lock:
            job = self._jobs.get((project, job_id))
        if job is None or (location and location.upper() != BIGQUERY_LOCATION):
            where = location or BIGQUERY_LOCATION
            raise self._bq_error(404, "notFound", f"Not found: Job {project}:{where}.{job_id}")
        return job

    def _new_job(
        self, project: str, email: str, config: dict[str, Any], job_id: str | None = None
    ) -> _Job:
        job = _Job(project, job_id or f"job_{secrets.token_hex(14)}", email, {"query": config})
        try:
            job.fields, job.rows, job.scanned = self._answer(config, email)
        except QueryError as exc:
            job.error = exc.error
        with self._lock:
            self._jobs[project, job.job_id] = job
        return job

    def _job_json(self, job: _Job) -> dict[str, Any]:
        status: dict[str, Any] = {"state": "DONE"}
        if job.error:
            _, reason, message = job.error
            status["errorResult"] = {"reason": reason, "message": message}
            status["errors"] = [{"reason": reason, "message": message}]
        query_stats = {
            "totalBytesProcessed": str(job.scanned),
            "totalBytesBilled": str(max(job.scanned, 10 * 2**20) if job.scanned else 0),
            "cacheHit": False,
            "statementType": "SELECT",
            "totalSlotMs": "120",
        }
        return {
            "kind": "bigquery#job",
            "etag": job.job_id[-12:],
            "id": f"{job.project}:{BIGQUERY_LOCATION}.{job.job_id}",
            "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/projects/{job.project}"
            f"/jobs/{job.job_id}?location={BIGQUERY_LOCATION}",
            "user_email": job.email,
            "configuration": {**job.configuration, "jobType": "QUERY"},
            "jobReference": job.reference,
            "statistics": {
                "creationTime": str(job.created),
                "startTime": str(job.created + 5),
                "endTime": str(job.created + 120),
                "totalBytesProcessed": str(job.scanned),
                "query": query_stats,
            },
            "status": status,
        }

    def _results(
        self, job: _Job, *, size: int | None, token: str | None, start: int | None
    ) -> dict[str, Any]:
        """One page of a job's rows: at most `page_size` (or `size`, if smaller), from the
        page token's offset (or `start`). maxResults=0 answers only the job's state."""
        offset = start or 0
        if token:
            offset = _decode_page_token(token, job.job_id)
            if offset is None:
                raise self._bq_error(400, "invalid", f"Invalid page token: {token}")
        limit = max(1, self.page_size) if size is None else min(size, max(1, self.page_size))
        page = job.rows[offset : offset + limit]
        answer: dict[str, Any] = {
            "schema": {"fields": job.fields},
            "jobReference": job.reference,
            "totalRows": str(len(job.rows)),
            "totalBytesProcessed": str(job.scanned),
            "jobComplete": True,
            "cacheHit": False,
        }
        if limit:
            answer["rows"] = page
            if offset + limit < len(job.rows):
                answer["pageToken"] = _encode_page_token(job.job_id, offset + limit)
        return answer

    # --- the billing query --------------------------------------------------------------
    def _readable_table(self, name: str, email: str) -> BillingTable:
        found = TABLE_NAME.fullmatch(name)
        if not found:
            raise self._bq_error(400, "invalid", f"Invalid table name: {name}")
        project, dataset, table = found.groups()
        with self._lock:
            account = self._accounts.get(email)
            allowed = account is not None and project in account.projects
            billing = self._billing.get(name)
            datasets = {(t.project, t.dataset) for t in self._billing.values()}
        if not allowed:
            raise self._bq_error(
                403,
                "accessDenied",
                f"Access Denied: Table {project}:{dataset}.{table}: User does not have permission "
                f"to query table {project}:{dataset}.{table}, or perhaps it does not exist.",
            )
        if (project, dataset) not in datasets:
            raise self._bq_error(404, "notFound", f"Not found: Dataset {project}:{dataset}")
        if billing is None:
            raise self._bq_error(
                404,
                "notFound",
                f"Not found: Table {project}:{dataset}.{table} was not found in location "
                f"{BIGQUERY_LOCATION}",
            )
        return billing

    def _answer(
        self, config: dict[str, Any], email: str
    ) -> tuple[list[dict[str, str]], list[dict[str, Any]], int]:
        """(schema fields, wire rows, bytes scanned) of our billing query; QueryError when
        BigQuery would refuse it (or when it is not a query this fake answers)."""
        if config.get("useLegacySql"):
            raise QueryError(400, "invalidQuery", "Query parameters cannot be used in legacy SQL")
        sql = str(config.get("query") or "")
        columns, table_name = parse_query(sql)
        try:
            billing = self._readable_table(table_name, email)
        except _ApiError as exc:
            error = json.loads(exc.response.body)["error"]
            reason = error["errors"][0]["reason"]
            raise QueryError(exc.response.status, reason, error["message"]) from None
        with self._lock:
            detailed, rows = billing.is_detailed, list(billing.rows)
        if not detailed and (found := re.search(r"\bresource\s*\.", sql, re.IGNORECASE)):
            line = sql.count("\n", 0, found.start()) + 1
            column = found.start() - (sql.rfind("\n", 0, found.start()) + 1) + 1
            raise QueryError(
                400, "invalidQuery", f"Unrecognized name: resource at [{line}:{column}]"
            )
        parameters = config.get("queryParameters") or []
        start, end = date_parameters(parameters)
        by_label = bool({"tag_key", "tag_value"} & columns.keys())
        if by_label and not {"tag_key", "tag_value"} <= columns.keys():
            raise QueryError(400, "invalidQuery", "The fake needs tag_key and tag_value together.")
        keys = tag_keys(parameters) if by_label else None
        fields = [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in columns.items()]
        return fields, grouped_rows(rows, columns, start, end, keys), len(rows) * 600


def _query_config(body: dict[str, Any]) -> dict[str, Any]:
    """A jobs.query request as the query configuration of the job it creates."""
    keys = ("query", "useLegacySql", "parameterMode", "queryParameters", "defaultDataset")
    return {k: body[k] for k in keys if k in body}


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        raise _ApiError(
            Response.json(
                {"error": {"code": 400, "message": f"Invalid value for {name}: {value}"}}, 400
            )
        ) from None


def _encode_page_token(job_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"j": job_id, "o": offset}).encode()).decode()


def _decode_page_token(token: str, job_id: str) -> int | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(decoded["o"]) if decoded["j"] == job_id else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
