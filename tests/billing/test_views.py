"""The billing page, its CSV, the dashboard's cost tiles and the resource page's cost."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from billing.selectors import billing_settings
from inventory.models import Resource
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account, gcp_account
from tests.inventory.keys import service_account_key

pytestmark = [pytest.mark.django_db]

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-11-20 12:00:00+00:00", tick=False):
        yield


@pytest.fixture
def costs(org, other_org):
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    gcp = gcp_account(org, service_account_key("acme-prod"))
    store(
        aws,
        daily(
            aws,
            date(2026, 10, 1),
            51,
            "10",
            service="EC2",
            region="eu-west-1",
            resource_id="i-0123456789abcdef0",
        )
        + daily(aws, date(2026, 10, 1), 51, "2", service="S3", region="us-east-1"),
    )
    store(
        gcp, daily(gcp, date(2026, 11, 1), 20, "5", service="Compute Engine", region="us-central1")
    )
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    store(theirs, daily(theirs, date(2026, 11, 1), 20, "999", service="Secret Service"))
    return {"aws": aws, "gcp": gcp}


def test_the_billing_page_shows_the_figures(costs, login, vera):
    page = login(vera).get(reverse("billing:overview")).content.decode()
    assert 'id="billing-mtd">340.00 USD' in page  # 20 days x (10 + 2 + 5)
    assert "Secret Service" not in page
    assert "999" not in page
    assert "<svg" in page
    assert "EC2" in page
    assert "2026-11-03 · AWS: 12.00 USD" in page  # each bar has its values as text


def test_the_daily_chart_has_its_figures_as_a_table(costs, login, vera):
    """The stacked bars differ only by colour: every figure is also in a table."""
    page = login(vera).get(reverse("billing:overview")).content.decode()
    assert "the figures are in the table below the chart" in page
    table = re.search(r'<table [^>]*id="cost-chart-table">(.*?)</table>', page, re.S).group(1)
    assert "<caption>Daily cost, November 2026 to date, in USD</caption>" in table
    heads = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', table)
    assert heads == ["Day", "AWS", "GCP", "Other", "Total"]
    row = re.search(r"2026-11-05</th>(.*?)</tr>", table).group(1)
    assert re.findall(r">([\d.,]+)</td>", row) == ["12.00", "5.00", "0.00", "17.00"]
    assert len(re.findall(r'<th scope="row"', table)) == 20  # every day to date


def test_a_breakdown_row_filters_the_chart_and_the_tables(costs, login, vera):
    client = login(vera)
    response = client.get(reverse("billing:overview"), {"service": "S3"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "service: S3" in body
    assert "Compute Engine" not in body
    assert "?service=EC2" in client.get(reverse("billing:overview")).content.decode()


@pytest.mark.parametrize(
    ("period", "days"), [("this_month", 20), ("last_month", 31), ("last_30", 30), ("last_90", 90)]
)
def test_periods(costs, login, vera, period, days):
    response = login(vera).get(reverse("billing:overview"), {"period": period})
    assert len(response.context["chart"]["columns"]) == days


def test_a_custom_range_is_validated(costs, login, vera):
    client = login(vera)
    good = client.get(
        reverse("billing:overview"),
        {"period": "custom", "start": "2026-10-05", "end": "2026-10-07"},
    )
    assert len(good.context["chart"]["columns"]) == 3
    bad = client.get(
        reverse("billing:overview"),
        {"period": "custom", "start": "2026-10-07", "end": "2026-10-05"},
    )
    assert "The end of the range is before its start" in bad.content.decode()


def test_the_csv_holds_the_selection(costs, login, vera):
    response = login(vera).get(reverse("billing:export"), {"provider": "gcp"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 20
    assert {r["service"] for r in rows} == {"Compute Engine"}


def test_top_resources_link_to_the_inventory(costs, login, vera):
    ingest_scope(
        account=costs["aws"],
        scope="eu-west-1",
        records=[
            ResourceRecord(
                resource_id="i-0123456789abcdef0",
                name="web-1",
                type="vm",
                region="eu-west-1",
                status="running",
            )
        ],
    )
    resource = Resource.objects.get()
    page = login(vera).get(reverse("billing:overview")).content.decode()
    assert reverse("inventory:resource_detail", args=[resource.pk]) in page
    detail = login(vera).get(reverse("inventory:resource_detail", args=[resource.pk]))
    assert "Cost this month" in detail.content.decode()
    assert "200.00 USD" in detail.content.decode()  # 20 days x 10


def test_the_dashboard_cost_tiles_read_from_billing(costs, login, vera):
    client = login(vera)
    mtd = client.get(reverse("inventory:dashboard_tile", args=["cost_mtd"]), headers=HTMX)
    assert 'id="stat-mtd">340.00 USD' in mtd.content.decode()
    by_provider = client.get(
        reverse("inventory:dashboard_tile", args=["cost_by_provider"]), headers=HTMX
    ).content.decode()
    assert "240.00 USD" in by_provider
    assert "100.00 USD" in by_provider


def test_the_cost_by_provider_tile_never_drops_or_mixes_currencies(org, login, vera):
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    gcp = gcp_account(org, service_account_key("acme-prod"))
    store(
        aws,
        daily(aws, date(2026, 11, 1), 20, "10")
        + daily(aws, date(2026, 11, 1), 20, "1", service="Support", currency="GBP"),
    )
    store(gcp, daily(gcp, date(2026, 11, 1), 20, "5", currency="EUR"))
    client = login(vera)
    url = reverse("inventory:dashboard_tile", args=["cost_by_provider"])

    body = client.get(url, headers=HTMX).content.decode()
    assert ">0.00 USD<" not in body  # what the EUR and GBP amounts used to show as
    assert re.search(r'data-currency="USD">.*200\.00 USD', body, re.S)
    assert re.search(r'data-currency="EUR">.*GCP.*100\.00 EUR', body, re.S)
    assert re.search(r'data-currency="GBP">.*AWS.*20\.00 GBP', body, re.S)
    assert "no rate to USD" in body

    billing_settings(org).__class__.objects.filter(organization=org).update(rates={"EUR": 1.5})
    body = client.get(url, headers=HTMX).content.decode()
    assert "150.00 USD" in body  # converted with the organization's rate
    assert "EUR" not in body
    assert "20.00 GBP" in body  # still no rate: in its own chart, not added to the dollars
    assert "220.00 USD" not in body


def test_the_billing_page_runs_a_fixed_number_of_queries(
    org, login, vera, django_assert_max_num_queries
):
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    store(aws, daily(aws, date(2026, 11, 1), 5, "1"))
    client = login(vera)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("billing:overview"))
    for n in range(40):
        store(
            aws,
            daily(
                aws,
                date(2026, 9, 1),
                80,
                "1",
                service=f"svc-{n}",
                region=f"r-{n % 7}",
                resource_id=f"res-{n}",
            ),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("billing:overview"), {"period": "last_90"})


def test_it_checks_ownership(costs, login, charlie):
    page = login(charlie).get(reverse("billing:overview")).content.decode()
    assert "EC2" not in page
    assert "Compute Engine" not in page
