"""The GCP fake's BigQuery, driven only through google-cloud-bigquery, as the adapter drives it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.cloud import bigquery
from google.oauth2 import service_account

from emulators.gcp import GcpFake

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
PROJECT = "acme-billing"
STANDARD = f"{PROJECT}.billing.gcp_billing_export_v1_012345_6789AB_CDEF01"
DETAILED = f"{PROJECT}.billing.gcp_billing_export_resource_v1_012345_6789AB_CDEF01"
UTC = dt.UTC


def billing_query(table: str, *, resource: bool = False, numeric: bool = True) -> str:
    cost = "CAST(cost AS NUMERIC)" if numeric else "cost"
    credit = "CAST(c.amount AS NUMERIC)" if numeric else "c.amount"
    return f"""SELECT
  DATE(usage_start_time) AS usage_date,
  service.description AS service,
  IFNULL(location.region, '') AS region,{" resource.name AS resource_id," if resource else ""}
  currency,
  SUM({cost}) + SUM(IFNULL((SELECT SUM({credit}) FROM UNNEST(credits) AS c), 0)) AS cost
FROM `{table}`
WHERE DATE(usage_start_time) >= @start AND DATE(usage_start_time) < @end
GROUP BY 1, 2, 3, 4{", 5" if resource else ""}"""  # noqa: S608 - a test's own table names


def period(start: dt.date, end: dt.date) -> bigquery.QueryJobConfig:
    return bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("start", "DATE", start),
            bigquery.ScalarQueryParameter("end", "DATE", end),
        ]
    )


OCTOBER = period(dt.date(2026, 10, 1), dt.date(2026, 11, 1))


@pytest.fixture
def fake(gcp_server: GcpFake) -> GcpFake:
    gcp_server.reset()
    gcp_server.faults.retry_after = 0
    return gcp_server


@pytest.fixture
def key(fake: GcpFake) -> dict[str, Any]:
    fake.add_project("acme-secret")
    return fake.add_service_account(PROJECT)


def client(fake: GcpFake, key: dict[str, Any], project: str = PROJECT) -> bigquery.Client:
    credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    return bigquery.Client(
        project=project, credentials=credentials, client_options={"api_endpoint": fake.url}
    )


def operations(fake: GcpFake) -> list[str]:
    """The BigQuery calls the fake received, by their API names."""
    names = {
        ("POST", "queries"): "jobs.query",
        ("GET", "queries"): "jobs.getQueryResults",
        ("POST", "jobs"): "jobs.insert",
        ("GET", "jobs"): "jobs.get",
        ("GET", "tables"): "tables.get",
    }
    calls = []
    for method, path in fake.requests:
        parts = path.split("/")
        if parts[1:3] == ["bigquery", "v2"]:
            collection = parts[-1] if method == "POST" else parts[-2]
            calls.append(names.get((method, collection), f"{method} {path}"))
    return calls


def usage(day: int, hour: int, service: str, cost: float, **extra: Any) -> dict[str, Any]:
    when = dt.datetime(2026, 10, day, hour, tzinfo=UTC)
    return {"usage_start_time": when, "service": service, "cost": cost, **extra}


def october(fake: GcpFake) -> None:
    fake.add_billing_rows(
        STANDARD,
        [
            usage(1, 0, "Compute Engine", 0.1, region="us-central1", credits=-0.02),
            usage(1, 1, "Compute Engine", 0.2, region="us-central1", credits=[{"amount": -0.01}]),
            usage(1, 1, "Compute Engine", 5.0, region="europe-west1"),
            usage(1, 2, "Cloud Storage", 0.3),  # a global row: no region
            usage(2, 0, "Compute Engine", 1.0, region="us-central1"),
            # 01:30 on Oct 3 in UTC+2 is 23:30 on Oct 2 in UTC: BigQuery's DATE() says Oct 2.
            {
                "usage_start_time": dt.datetime(
                    2026, 10, 3, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))
                ),
                "service": "Compute Engine",
                "region": "us-central1",
                "cost": 2.5,
            },
            usage(31, 23, "Cloud Storage", 9.0),
            {
                "usage_start_time": dt.datetime(2026, 11, 1, 0, tzinfo=UTC),
                "service": "Cloud Storage",
                "cost": 100,
            },
        ],
    )


EXPECTED = [
    (dt.date(2026, 10, 1), "Cloud Storage", "", "USD", Decimal("0.3")),
    (dt.date(2026, 10, 1), "Compute Engine", "europe-west1", "USD", Decimal("5")),
    (dt.date(2026, 10, 1), "Compute Engine", "us-central1", "USD", Decimal("0.27")),
    (dt.date(2026, 10, 2), "Compute Engine", "us-central1", "USD", Decimal("3.5")),
    (dt.date(2026, 10, 31), "Cloud Storage", "", "USD", Decimal("9")),
]


def test_query_and_wait_answers_the_daily_grouping_page_by_page(fake, key) -> None:
    october(fake)
    fake.page_size = 2
    fake.requests.clear()

    rows = list(client(fake, key).query_and_wait(billing_query(STANDARD), job_config=OCTOBER))

    assert [tuple(r.values()) for r in rows] == EXPECTED
    assert all(isinstance(r["cost"], Decimal) for r in rows)  # NUMERIC: exact
    # jobs.query (the first page), jobs.get (QueryJob.result()), then one call per other page.
    assert operations(fake) == ["jobs.query", "jobs.get"] + ["jobs.getQueryResults"] * 2


def test_client_query_result_runs_a_job_and_pages_through_get_query_results(fake, key) -> None:
    october(fake)
    fake.page_size = 3
    bq = client(fake, key)
    fake.requests.clear()

    job = bq.query(billing_query(STANDARD), job_config=OCTOBER)
    rows = list(job.result())

    assert [tuple(r.values()) for r in rows] == EXPECTED
    assert job.state == "DONE"
    # jobs.insert, getQueryResults with maxResults=0 (waiting), then one per page of 3 rows.
    assert operations(fake) == ["jobs.insert"] + ["jobs.getQueryResults"] * 3
    assert bq.get_job(job.job_id).state == "DONE"


def test_a_float_cost_comes_back_as_a_float_sum(fake, key) -> None:
    fake.add_billing_rows(
        STANDARD, [usage(1, 0, "Compute Engine", 0.1), usage(1, 1, "Compute Engine", 0.2)]
    )
    rows = list(
        client(fake, key).query_and_wait(billing_query(STANDARD, numeric=False), job_config=OCTOBER)
    )
    assert rows[0]["cost"] == pytest.approx(0.3)
    assert isinstance(rows[0]["cost"], float)


def test_the_detailed_export_has_resources_and_the_standard_one_does_not(fake, key) -> None:
    vm = "projects/acme-web/zones/us-central1-a/instances/web-1"
    fake.add_billing_rows(
        DETAILED, [usage(1, h, "Compute Engine", 1.5, resource=vm) for h in range(4)]
    )
    fake.add_billing_rows(STANDARD, [usage(1, 0, "Compute Engine", 1.5)])
    bq = client(fake, key)

    assert "resource" in [f.name for f in bq.get_table(DETAILED).schema]
    assert "resource" not in [f.name for f in bq.get_table(STANDARD).schema]
    rows = list(bq.query_and_wait(billing_query(DETAILED, resource=True), job_config=OCTOBER))
    assert [(r["resource_id"], r["cost"]) for r in rows] == [(vm, Decimal(6))]
    with pytest.raises(api.BadRequest, match=r"Unrecognized name: resource at \[4:"):
        bq.query_and_wait(billing_query(STANDARD, resource=True), job_config=OCTOBER)
    with pytest.raises(ValueError, match="no resource column"):
        fake.add_billing_rows(STANDARD, [usage(1, 0, "X", 1, resource=vm)], detailed=False)


@pytest.mark.parametrize("api_method", ["QUERY", "INSERT"])
def test_unknown_tables_and_datasets_are_not_found(fake, key, api_method) -> None:
    october(fake)
    bq = client(fake, key)
    for table, message in (
        (f"{PROJECT}.billing.nope", f"Not found: Table {PROJECT}:billing.nope"),
        (f"{PROJECT}.elsewhere.nope", f"Not found: Dataset {PROJECT}:elsewhere"),
    ):
        with pytest.raises(api.NotFound, match=message):
            bq.query(billing_query(table), job_config=OCTOBER, api_method=api_method).result()
    with pytest.raises(api.NotFound):
        bq.get_table(f"{PROJECT}.billing.nope")


def test_a_project_the_account_may_not_read_is_forbidden(fake, key) -> None:
    secret = "acme-secret.billing.gcp_billing_export_v1"
    fake.add_billing_rows(secret, [usage(1, 0, "Compute Engine", 1)])
    with pytest.raises(api.Forbidden, match=r"bigquery\.jobs\.create permission"):
        client(fake, key, "acme-secret").query_and_wait(billing_query(secret), job_config=OCTOBER)
    with pytest.raises(api.Forbidden, match="does not have permission to query table"):
        client(fake, key).query_and_wait(billing_query(secret), job_config=OCTOBER)


def test_queries_outside_the_contract_are_invalid(fake, key) -> None:
    october(fake)
    bq = client(fake, key)
    query = billing_query(STANDARD)
    start_only = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("start", "DATE", dt.date(2026, 10, 1))]
    )
    with pytest.raises(api.BadRequest, match="Query parameter 'end' not found"):
        bq.query_and_wait(query, job_config=start_only)
    with pytest.raises(api.BadRequest, match="cannot answer the column"):
        bq.query_and_wait(query.replace("AS service", ""), job_config=OCTOBER)
    with pytest.raises(api.BadRequest, match="@start and < @end"):
        bq.query_and_wait(query.replace("< @end", "<= @end"), job_config=OCTOBER)


def test_transient_errors_are_retried_by_the_client(fake, key) -> None:
    october(fake)
    fake.faults.fail_next("500")
    fake.faults.fail_next("429")
    rows = list(client(fake, key).query_and_wait(billing_query(STANDARD), job_config=OCTOBER))
    assert [tuple(r.values()) for r in rows] == EXPECTED
    assert fake.faults.injected == 2


def test_a_query_by_label_counts_each_row_once_per_key_and_needs_the_keys(fake, key) -> None:
    from mcloud.clouds.gcp.costs import tag_query

    fake.add_billing_rows(
        STANDARD,
        [
            usage(1, 0, "Compute Engine", 2.0, labels={"team": "web", "env": "prod"}),
            usage(1, 6, "Compute Engine", 1.0, labels={"team": "web"}, credits=-0.25),
            usage(1, 1, "Cloud Storage", 0.5),
        ],
    )
    bq = client(fake, key)
    keys = bigquery.ArrayQueryParameter("keys", "STRING", ["team", "env"])
    config = bigquery.QueryJobConfig(query_parameters=[*OCTOBER.query_parameters, keys])
    rows = bq.query_and_wait(tag_query(STANDARD), job_config=config)
    assert sorted((r["tag_key"], r["tag_value"], r["cost"]) for r in rows) == [
        ("env", "", Decimal("1.25")),
        ("env", "prod", Decimal("2")),
        ("team", "", Decimal("0.5")),
        ("team", "web", Decimal("2.75")),
    ]
    with pytest.raises(api.BadRequest, match="Query parameter 'keys' not found"):
        bq.query_and_wait(tag_query(STANDARD), job_config=OCTOBER)
