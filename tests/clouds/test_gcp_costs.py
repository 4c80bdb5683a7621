"""The GCP adapter's costs: google-cloud-bigquery against the local fake's BigQuery, which
answers our billing-export query from the rows a test adds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from mcloud.clouds.base import CloudError, Endpoints, GcpCredentials
from mcloud.clouds.gcp import GcpAdapter

PROJECT = "acme-prod"
BILLING = "acme-billing"  # the export lives in a project of its own
STANDARD = f"{BILLING}.billing.gcp_billing_export_v1_012345_6789AB_CDEF01"
DETAILED = f"{BILLING}.billing.gcp_billing_export_resource_v1_012345_6789AB_CDEF01"
OCT_1, NOV_1 = date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def key(gcp):
    gcp.faults.retry_after = 0
    gcp.add_project("acme-secret")
    return gcp.add_service_account(PROJECT, projects=[PROJECT, BILLING])


def adapter(gcp, key, table: str = STANDARD) -> GcpAdapter:
    return GcpAdapter(
        GcpCredentials(key_info=key, project_ids=(PROJECT,), billing_table=table),
        Endpoints(gcp_bigquery_endpoint=gcp.url, gcp_token_uri=f"{gcp.url}/token", retries=3),
    )


def usage(day: int, hour: int, service: str, cost: float, **extra) -> dict:
    when = datetime(2026, 10, day, hour, tzinfo=UTC)
    return {"usage_start_time": when, "service": service, "cost": cost, **extra}


def test_it_reads_daily_costs_with_credits_across_pages(gcp, key):
    gcp.add_billing_rows(
        STANDARD,
        [
            usage(1, 0, "Compute Engine", 0.1, region="us-central1", project=PROJECT),
            usage(1, 5, "Compute Engine", 0.2, region="us-central1", project=PROJECT),
            usage(1, 9, "Compute Engine", 1.0, region="us-central1", credits=-0.35),
            usage(1, 3, "Cloud Storage", 0.05, project=PROJECT),  # multi-region: no region
            usage(2, 0, "Compute Engine", 0.0, region="europe-west1", project=PROJECT),
            usage(31, 23, "BigQuery", 2.5, region="us-central1", project=BILLING),
            {"usage_start_time": datetime(2026, 11, 1, tzinfo=UTC), "service": "X", "cost": 1},
        ],
    )
    gcp.page_size = 2

    records = adapter(gcp, key).costs(OCT_1, NOV_1)

    assert [(r.date, r.metadata["project_id"], r.service, r.region, r.amount) for r in records] == [
        (OCT_1, BILLING, "Compute Engine", "us-central1", Decimal("0.65")),  # 1.0 - 0.35
        (OCT_1, PROJECT, "Cloud Storage", "", Decimal("0.05")),
        (OCT_1, PROJECT, "Compute Engine", "us-central1", Decimal("0.3")),  # exact: NUMERIC
        (date(2026, 10, 2), PROJECT, "Compute Engine", "europe-west1", Decimal("0")),
        (date(2026, 10, 31), BILLING, "BigQuery", "us-central1", Decimal("2.5")),
    ]
    assert {(r.currency, r.resource_id) for r in records} == {("USD", "")}  # standard export
    assert all(type(r.amount) is Decimal for r in records)


def test_a_detailed_export_gives_resource_ids(gcp, key):
    vm = f"projects/{PROJECT}/zones/us-central1-a/instances/web-1"
    gcp.add_billing_rows(
        DETAILED,
        [
            usage(1, 0, "Compute Engine", 1.25, region="us-central1", resource=vm),
            usage(1, 1, "Compute Engine", 1.25, region="us-central1", resource=vm),
            usage(1, 1, "Compute Engine", 0.5, region="us-central1"),  # no resource: a SKU fee
        ],
    )

    records = adapter(gcp, key, DETAILED).costs(OCT_1, NOV_1)

    assert [(r.resource_id, r.amount, r.metadata["project_id"]) for r in records] == [
        ("", Decimal("0.5"), BILLING),
        (vm, Decimal("2.5"), PROJECT),
    ]


def test_transient_errors_are_retried(gcp, key):
    gcp.add_billing_rows(STANDARD, [usage(1, 0, "Compute Engine", 1)])
    gcp.faults.fail_next("429")
    gcp.faults.fail_next("500")
    assert [r.amount for r in adapter(gcp, key).costs(OCT_1, NOV_1)] == [Decimal(1)]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("", "No Cloud Billing export table is set"),
        ("acme-billing.billing", "not a valid project.dataset.table"),
        ("acme-billing.billing.t` WHERE TRUE --", "not a valid project.dataset.table"),
    ],
)
def test_a_missing_or_odd_table_name_is_refused_before_any_call(gcp, key, table, message):
    with pytest.raises(CloudError, match=message) as caught:
        adapter(gcp, key, table).costs(OCT_1, NOV_1)
    assert caught.value.permanent
    assert gcp.requests == []


def test_an_unknown_table_is_a_permanent_error(gcp, key):
    gcp.add_billing_rows(STANDARD, [usage(1, 0, "Compute Engine", 1)])
    with pytest.raises(CloudError, match="does not exist") as caught:
        adapter(gcp, key, f"{BILLING}.billing.gcp_billing_export_v1_other").costs(OCT_1, NOV_1)
    assert caught.value.permanent


def test_a_table_the_account_may_not_read_is_a_permanent_error(gcp, key):
    secret = "acme-secret.billing.gcp_billing_export_v1"
    gcp.add_billing_rows(secret, [usage(1, 0, "Compute Engine", 1)])
    with pytest.raises(CloudError, match="GCP denied the request") as caught:
        adapter(gcp, key, secret).costs(OCT_1, NOV_1)
    assert caught.value.permanent


def test_an_empty_period_has_no_costs(gcp, key):
    gcp.add_billing_rows(STANDARD, [usage(1, 0, "Compute Engine", 1)])
    assert adapter(gcp, key).costs(OCT_1, OCT_1) == []


def test_the_sandbox_estate_has_three_months_of_billing_export(gcp):
    """The sandbox's GCP costs, read by the adapter from the detailed export table the
    sandbox describes: every day, Compute Engine where instances run, Cloud Storage, each
    naming its resource as the inventory does."""
    from emulators import estate

    sandbox = estate.build_gcp(gcp, random.Random(2026))
    days = estate.cost_days(date(2026, 11, 27))
    gcp.add_billing_rows(
        sandbox["billing_table"], estate.gcp_billing_rows(gcp, random.Random(1), days)
    )
    reader = GcpAdapter(
        GcpCredentials(
            key_info=sandbox["key"],
            project_ids=tuple(sandbox["project_ids"]),
            billing_table=sandbox["billing_table"],
        ),
        Endpoints(gcp_bigquery_endpoint=gcp.url, gcp_token_uri=f"{gcp.url}/token"),
    )

    records = reader.costs(days[0], days[-1] + timedelta(days=1))

    assert sandbox["billing_table"].startswith(
        "acme-web-prod.billing.gcp_billing_export_resource_v1_"
    )
    assert sorted({r.date for r in records}) == days
    assert {r.metadata["project_id"] for r in records} == set(estate.GCP_PROJECTS)
    compute_regions = {r.region for r in records if r.service == "Compute Engine"}
    assert compute_regions == {"us-central1", "europe-west1", "asia-east1"}
    assert "" in {r.region for r in records if r.service == "Cloud Storage"}  # multi-region
    assert all(r.amount > 0 for r in records)
    billed = {r.resource_id for r in records}
    assert "" not in billed  # machines, disks and buckets: every row names its resource
    running = {
        f"projects/{project}/zones/{i['zone'].rsplit('/', 1)[1]}/instances/{i['name']}"
        for project in estate.GCP_PROJECTS
        for i in gcp.resources(project, "instance")
        if i["status"] == "RUNNING"
    }
    assert running
    assert running <= billed
