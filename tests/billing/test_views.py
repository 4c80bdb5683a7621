"""The billing page, its CSV, the dashboard's cost tiles and the resource page's cost."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from billing.models import BillingSettings
from inventory.models import Resource
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account, azure_account, gcp_account
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


def test_the_summary_cards_follow_the_htmx_filters(costs, login, vera):
    client = login(vera)
    body = client.get(reverse("billing:overview"), {"service": "S3"}, headers=HTMX)
    body = body.content.decode()
    # The cards sit outside #results: they come back out of band, narrowed like the rest.
    assert '<div class="row g-3 mb-3" id="billing-summary" hx-swap-oob="true">' in body
    assert 'id="billing-mtd">40.00 USD' in body  # 20 days x 2
    assert 'id="billing-last">40.00 USD' in body  # October 1..20 x 2
    gcp = client.get(reverse("billing:overview"), {"provider": "gcp"}, headers=HTMX)
    assert 'id="billing-mtd">100.00 USD' in gcp.content.decode()
    page = client.get(reverse("billing:overview"), {"service": "S3"}).content.decode()
    assert page.count('id="billing-summary"') == 1
    assert "hx-swap-oob" not in page


@pytest.mark.parametrize(
    ("period", "days"), [("this_month", 20), ("last_month", 31), ("last_30", 30), ("last_90", 90)]
)
def test_periods(costs, login, vera, period, days):
    response = login(vera).get(reverse("billing:overview"), {"period": period})
    assert len(response.context["chart"]["rows"]) == days


def test_a_custom_range_is_validated(costs, login, vera):
    client = login(vera)
    good = client.get(
        reverse("billing:overview"),
        {"period": "custom", "start": "2026-10-05", "end": "2026-10-07"},
    )
    assert len(good.context["chart"]["rows"]) == 3
    svg = good.content.decode().split('<svg class="cost-chart"')[1].split("</svg>")[0]
    days_with_costs = sum(1 for _, _, total in good.context["chart"]["rows"] if total)
    assert svg.count("<rect ") >= days_with_costs > 0
    assert "<title>2026-10-05 · " in svg  # every bar names its day, group and amount
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
    assert 'id="resource-cost-month">200.00 USD' in detail.content.decode()  # 20 days x 10


def test_top_resources_follow_the_service_and_region_filters(costs, login, vera):
    gcp = costs["gcp"]
    store(
        gcp,
        daily(gcp, date(2026, 11, 1), 20, "5", service="Compute Engine", region="us-central1",
              resource_id="projects/acme-prod/instances/api")
        + daily(gcp, date(2026, 11, 1), 20, "1", service="Cloud Storage", region="us-central1",
                resource_id="projects/acme-prod/buckets/logs"),
    )  # fmt: skip
    client = login(vera)

    def top(**filters: str) -> list[str]:
        response = client.get(reverse("billing:overview"), filters, headers=HTMX)
        groups = response.context["top"]
        assert {g["currency"] for g in groups} <= {"USD"}
        return [row["resource_id"] for g in groups for row in g["rows"]]

    everything = ["i-0123456789abcdef0", "projects/acme-prod/instances/api",
                  "projects/acme-prod/buckets/logs"]  # fmt: skip
    assert top() == everything
    assert top(service="Cloud Storage") == ["projects/acme-prod/buckets/logs"]
    assert top(region="eu-west-1") == ["i-0123456789abcdef0"]
    assert top(region="us-east-1") == []  # S3 there has no resource-level costs
    page = client.get(reverse("billing:overview"), {"service": "Cloud Storage"}).content.decode()
    assert "i-0123456789abcdef0" not in page
    assert "buckets/logs" in page


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

    BillingSettings.objects.update_or_create(organization=org, defaults={"rates": {"EUR": 1.5}})
    body = client.get(url, headers=HTMX).content.decode()
    assert "150.00 USD" in body  # converted with the organization's rate
    assert "EUR" not in body
    assert "20.00 GBP" in body  # still no rate: in its own chart, not added to the dollars
    assert "220.00 USD" not in body


def test_the_billing_page_runs_a_fixed_number_of_queries(
    org, login, vera, django_assert_max_num_queries
):
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    # A resource's cost from the start, so that both pages list top resources.
    store(aws, daily(aws, date(2026, 11, 1), 5, "1", resource_id="res-first"))
    client = login(vera)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("billing:overview"), {"period": "last_90"})
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


def test_the_dashboard_shows_a_budget_alert_until_it_is_acknowledged(
    costs, org, login, bob, charlie, other_org
):
    from billing.models import Budget, BudgetAlert
    from billing.services.budgets import budgets_evaluate

    Budget.objects.create(organization=org, name="Cloud spend", amount=500,
                          thresholds=[50])  # fmt: skip
    theirs = Budget.objects.create(organization=other_org, name="Their spend", amount=1,
                                   thresholds=[50])  # fmt: skip
    budgets_evaluate(organization=org)  # 340 of 500: past 50%
    budgets_evaluate(organization=other_org)
    tile = reverse("inventory:dashboard_tile", args=["budget_alerts"])
    client = login(bob)
    body = client.get(tile, headers=HTMX).content.decode()
    assert "Cloud spend" in body
    assert "Their spend" not in body
    alert = BudgetAlert.objects.get(budget__name="Cloud spend")

    response = client.post(reverse("billing:alert_ack", args=[alert.pk]), {"next": "home"})
    assert response["Location"] == reverse("home")
    body = client.get(tile, headers=HTMX).content.decode()
    assert "Cloud spend" not in body
    assert "No budget alert." in body
    assert login(charlie).get(tile, headers=HTMX).content.decode().count("Their spend") == 1
    assert theirs.alerts.get().acknowledged_at is None


@pytest.mark.parametrize("by", ["provider", "account", "service", "region"])
def test_breakdown_tables_sort_by_each_column(costs, org, login, vera, by):
    client = login(vera)
    other = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="aws-archive")
    store(other, daily(other, date(2026, 11, 1), 20, "0.5", service="Glacier", region="sa-east-1"))
    tiny = azure_account(org, "t", "c", "s", ["sub"])
    store(tiny, daily(tiny, date(2026, 11, 1), 1, "0.1", service="Bandwidth", region="brazilsouth"))

    def table(sort: str | None) -> dict:
        params = {f"sort_{by}": sort} if sort else {}
        response = client.get(reverse("billing:overview"), params, headers=HTMX)
        return next(t for t in response.context["tables"] if t["by"] == by)

    default = table(None)
    amounts = [row["total"] for row in default["rows"]]
    assert len(amounts) >= 3
    assert amounts == sorted(amounts, reverse=True)  # most expensive first
    assert [r["total"] for r in table("amount")["rows"]] == sorted(amounts)
    labels = [str(row["label"]).lower() for row in default["rows"]]
    assert labels != sorted(labels)  # so that sorting by name is seen
    assert [str(r["label"]).lower() for r in table("name")["rows"]] == sorted(labels)
    assert [str(r["label"]).lower() for r in table("-name")["rows"]] == sorted(labels, reverse=True)
    # Each header toggles its own column's direction and keeps the other tables' sorts.
    assert table("name")["sort_links"]["-name"].endswith(f"sort_{by}=-name")
    page = client.get(reverse("billing:overview"), {f"sort_{by}": "name"}).content.decode()
    assert f'href="?sort_{by}=-name">Name</a>' in page
    assert f'href="?sort_{by}=-amount">Cost</a>' in page


def test_a_bar_filters_the_page_to_its_series(costs, login, vera):
    client = login(vera)

    def chart(**query: str) -> str:
        page = client.get(reverse("billing:overview"), query).content.decode()
        return page.split('<svg class="cost-chart"')[1].split("</svg>")[0]

    by_provider = chart()
    assert '<a href="?provider=aws"><rect ' in by_provider
    assert '<a href="?provider=gcp"><rect ' in by_provider
    assert "AWS: 12.00 USD (click to filter)</title>" in by_provider
    by_service = chart(group="service", period="last_30")
    assert '<a href="?period=last_30&amp;group=service&amp;service=EC2"><rect ' in by_service


def test_the_cost_tile_draws_the_last_30_days(costs, login, vera):
    tile = login(vera).get(reverse("inventory:dashboard_tile", args=["cost_mtd"]), headers=HTMX)
    svg = re.search(r'<svg class="sparkline".*?</svg>', tile.content.decode(), re.S).group(0)
    # October 22 to November 20: AWS's 12 a day throughout, GCP's 5 a day from November 1;
    # nothing of the other organization's 999 a day.
    assert "since Oct 22: 460.00 USD in all, 17.00 on the dearest day" in svg
    heights = [float(p.split(",")[1]) for p in re.search(r'points="([^"]+)"', svg)[1].split()]
    assert len(heights) == 30
    assert len(set(heights[:10])) == 1
    assert heights[0] == pytest.approx(2 + 24 - 24 * 12 / 17, abs=0.01)
    assert set(heights[10:]) == {2.0}  # the dearest days at the top
