"""What a resource and a deployment cost, on their pages: the resource page's card (this
month, last month, a 90-day sparkline, or the list-price estimate) and a deployment's cost
this month (the resources in its state and those tagged with it), with fixed query counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from inventory.models import Resource
from tests.billing.costs import daily, store
from tests.inventory import estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-11-20 12:00:00+00:00", tick=False):
        yield


@pytest.fixture
def billed(org, other_org):
    """aws-res-1 billed 10 a day since October 1 (split over two services), aws-res-2 only
    in another organization's bill."""
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 4)
    store(
        acct,
        daily(acct, date(2026, 10, 1), 51, "6", service="EC2", resource_id="aws-res-1")
        + daily(acct, date(2026, 10, 1), 51, "4", service="EBS", resource_id="AWS-RES-1"),
    )
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    store(theirs, daily(theirs, date(2026, 11, 1), 20, "999", resource_id="aws-res-2"))
    return {r.resource_id: r for r in Resource.objects.filter(account=acct)}


def page(client, resource) -> str:
    return client.get(reverse("inventory:resource_detail", args=[resource.pk])).content.decode()


def test_the_resource_page_shows_this_month_last_month_and_90_days(login, vera, billed):
    html = page(login(vera), billed["aws-res-1"])
    month = html.split('id="resource-cost-month">')[1].split("</div>")[0]
    assert month == "200.00 USD"  # November 1 to 20, both services
    assert "Last month: 310.00 USD" in html
    sparkline = html.split('id="resource-cost-sparkline"')[1].split("</svg>")[0]
    assert "510.00 USD in all" in sparkline  # every billed day is within the last 90
    assert len(sparkline.split('points="')[1].split('"')[0].split()) == 90


def test_another_organizations_bill_never_shows(login, vera, billed):
    assert 'id="resource-cost"' not in page(login(vera), billed["aws-res-2"])


def test_an_estimate_is_labelled_as_one(login, vera, billed):
    Resource.objects.filter(pk=billed["aws-res-3"].pk).update(
        monthly_cost=Decimal("7.59"), cost_currency="USD", cost_basis="estimate"
    )
    html = page(login(vera), billed["aws-res-3"])
    assert 'id="resource-cost-month"' not in html  # no bill names it
    assert "7.59 USD" in html
    assert "estimate</span> from list prices" in html


def test_the_resource_page_runs_a_fixed_number_of_queries(
    login, vera, org, billed, django_assert_max_num_queries
):
    client = login(vera)
    with django_assert_max_num_queries(13) as few:
        page(client, billed["aws-res-1"])
    acct = billed["aws-res-1"].account
    store(acct, daily(acct, date(2026, 8, 1), 100, "1", service="EC2", resource_id="aws-res-1"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page(client, billed["aws-res-1"])


def test_a_deployment_shows_what_its_resources_cost_this_month(
    login, vera, alice, org, hello_version, billed, django_assert_max_num_queries
):
    # aws-res-1 in its state; aws-res-2 tagged with it (billed only to another organization).
    deployment = estate.deploy(org, alice, hello_version, "web", "aws-res-1")
    Resource.objects.filter(resource_id="aws-res-2").update(deployment_ref=str(deployment.pk))
    client = login(vera)
    url = reverse("provisioning:deployment_detail", args=[deployment.pk])
    with django_assert_max_num_queries(30) as few:
        html = client.get(url).content.decode()
    card = html.split('id="deployment-cost"')[1].split("</div></div>")[0]
    assert "200.00 USD" in card
    assert "billed to 1 of its 2 resources" in card
    # Month by month: November to date, then October; nothing estimated (no apply yet).
    months = card.split('id="deployment-cost-months"')[1].split("</table>")[0]
    rows = [r.split("</tr>")[0] for r in months.split("<tr>")[2:]]
    assert ["November 2026" in rows[0], "October 2026" in rows[1]] == [True, True]
    assert "(to date)" in rows[0]
    assert "310.00 USD" in rows[1]
    assert len(rows) == 2

    more = estate.account(org, "aws-more")
    estate.fill(more, 200, prefix="more")
    Resource.objects.filter(account=more).update(deployment_ref=str(deployment.pk))
    store(more, daily(more, date(2026, 11, 1), 20, "1", service="S3", resource_id="aws-more-7"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    card = html.split('id="deployment-cost"')[1].split("</div></div>")[0]
    assert "billed to 2 of its 202 resources" in card
