"""Daily costs from the account's Cloud Billing export table in BigQuery: per project, service
and region, and per value of each allocation label key (the export's `labels`).

The table name goes into the SQL text (a table cannot be a query parameter), so it must pass
BILLING_TABLE first; the dates are parameters. Amounts are summed in NUMERIC so that they stay
exact (the export holds FLOAT64)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from google.api_core.retry import Retry
from google.cloud import bigquery

from mcloud.clouds.base import CloudError, CostRecord, TagCostRecord
from mcloud.clouds.gcp.errors import translate_errors

if TYPE_CHECKING:
    from mcloud.clouds.gcp.adapter import GcpAdapter

# "project.dataset.table" of a billing export, checked strictly (see the module docstring).
BILLING_TABLE = re.compile(
    r"(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.\w{1,1024}\.[\w-]{1,1024}", re.ASCII
)
BILLING_QUERY_WAIT = 300.0  # seconds a billing query may run before it is cancelled


def billing_costs(adapter: GcpAdapter, start: date, end: date) -> list[CostRecord]:
    """See GcpAdapter.costs."""
    return _on_table(adapter, start, end, [], _billing_rows)


def billing_tag_costs(
    adapter: GcpAdapter, start: date, end: date, keys: list[str]
) -> list[TagCostRecord]:
    """See GcpAdapter.tag_costs."""
    if not keys:
        return []
    keys_parameter = bigquery.ArrayQueryParameter("keys", "STRING", keys)
    return _on_table(adapter, start, end, [keys_parameter], _tag_rows)


def _on_table[R](
    adapter: GcpAdapter,
    start: date,
    end: date,
    parameters: list[bigquery.ArrayQueryParameter],
    read: Callable[[GcpAdapter, bigquery.Client, str, bigquery.QueryJobConfig], list[R]],
) -> list[R]:
    """`read` on the account's checked export table, with @start and @end (and
    `parameters`) set, its errors as CloudError."""
    table = adapter.credentials.billing_table.strip()
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
    client = adapter.bigquery_client(found["project"])
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("start", "DATE", start),
            bigquery.ScalarQueryParameter("end", "DATE", end),
            *parameters,
        ]
    )
    try:
        with translate_errors(f"read the billing export {table}"):
            return read(adapter, client, table, config)
    except TimeoutError:  # the query outlived BILLING_QUERY_WAIT and was cancelled
        raise CloudError(
            f"GCP did not finish the billing query on {table} in time", code="Timeout"
        ) from None
    finally:
        client.close()


def _billing_rows(
    adapter: GcpAdapter, client: bigquery.Client, table: str, config: bigquery.QueryJobConfig
) -> list[CostRecord]:
    retry, job_retry = _or_none(adapter.bigquery_retry()), _or_none(adapter.bigquery_retry(True))
    schema = client.get_table(table, retry=retry, timeout=adapter.endpoints.timeout).schema
    detailed = any(f.name == "resource" for f in schema)
    rows = client.query_and_wait(
        billing_query(table, detailed=detailed),
        job_config=config,
        api_timeout=adapter.endpoints.timeout,
        wait_timeout=BILLING_QUERY_WAIT,
        retry=retry,
        job_retry=job_retry,
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


def _tag_rows(
    adapter: GcpAdapter, client: bigquery.Client, table: str, config: bigquery.QueryJobConfig
) -> list[TagCostRecord]:
    rows = client.query_and_wait(
        tag_query(table),
        job_config=config,
        api_timeout=adapter.endpoints.timeout,
        wait_timeout=BILLING_QUERY_WAIT,
        retry=_or_none(adapter.bigquery_retry()),
        job_retry=_or_none(adapter.bigquery_retry(True)),
    )
    return [
        TagCostRecord(
            date=row["usage_date"],
            key=row["tag_key"],
            value=row["tag_value"] or "",
            amount=Decimal(str(row["cost"])),
            currency=row["currency"] or "",
        )
        for row in rows
    ]


def _or_none(retry: Retry | None) -> Retry:
    """BigQuery's hints ask for a Retry, but its code takes None for "no retry" (and checks
    for it), which is what an adapter without retries passes."""
    return cast("Retry", retry)


def billing_query(table: str, *, detailed: bool) -> str:
    """Daily sums per project, service and region (and resource, from a detailed export) of
    cost plus credits, in NUMERIC. Days are UTC dates of usage_start_time. `table` must have
    passed BILLING_TABLE."""
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


def tag_query(table: str) -> str:
    """Daily sums of cost plus credits per label key of @keys and its value ("" where the
    row has no such label), in NUMERIC: one scan of the export for every key. `table` must
    have passed BILLING_TABLE."""
    return f"""SELECT
  DATE(usage_start_time) AS usage_date,
  k AS tag_key,
  IFNULL((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = k LIMIT 1), '') AS tag_value,
  currency AS currency,
  SUM(CAST(cost AS NUMERIC))
    + SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)) AS cost
FROM `{table}` CROSS JOIN UNNEST(@keys) AS k
WHERE DATE(usage_start_time) >= @start AND DATE(usage_start_time) < @end
GROUP BY 1, 2, 3, 4"""  # noqa: S608 - table checked
