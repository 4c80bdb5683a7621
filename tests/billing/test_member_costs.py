"""An AWS organization's consolidated bill split among its member accounts: imported through
boto3 from Cost Explorer grouped by LINKED_ACCOUNT (the sandbox's Cost Explorer in front of
moto, whose AWS Organizations discovery finds the members), each member's share on its own
account, the rest on the connection, named; nothing counted twice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import boto3
import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    Anomaly,
    BillingSettings,
    Budget,
    BudgetAlert,
    CostDaily,
    CostData,
    CostTagDaily,
)
from billing.selectors import CostFilters, breakdown, cost_summary
from billing.services.imports import cost_import
from emulators.aws_costs import CostExplorerProxy
from inventory.account_adapters import external_id_for
from inventory.models import CloudAccount
from inventory.services.members import account_members_discover
from mcloud.clouds.base import CostRecord
from tests.billing.costs import store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
DAY = TODAY - timedelta(days=2)
STRAY = "410987654321"  # an account of the bill that discovery has not found


@pytest.fixture
def cost_explorer(aws, settings):
    """Cost Explorer's GetCostAndUsage answered by the sandbox's proxy, moto behind it."""
    proxy = CostExplorerProxy(aws.url)
    proxy.start()
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    proxy.stop()


@pytest.fixture
def organization(aws, org):
    """The management account (moto's) with two member accounts and a connection to it that
    discovers them."""
    root = aws.organization_create()
    external_id = external_id_for(org)
    web = aws.member_create("web", parent_id=root, external_id=external_id)
    data = aws.member_create("data", parent_id=root, external_id=external_id)
    connection = aws_account(
        org, aws.create_user_key("billing"), name="aws-org", discover_members=True
    )
    return {"connection": connection, "web": web, "data": data}


def bill(web: str, data: str) -> list[dict]:
    """40 days of the organization's bill: the management account's EC2, the web member's EC2
    (with a spike on DAY) and tax, the data member's tagged RDS, an undiscovered account's S3."""
    rows = []
    for n in range(40):
        day = TODAY - timedelta(days=n)
        rows += [
            {"date": day, "service": "EC2", "region": "us-east-1", "cost": "10"},
            {"date": day, "service": "EC2", "region": "eu-west-1", "account": web,
             "cost": "60" if day == DAY else "4"},
            {"date": day, "service": "Tax", "region": "NoRegion", "account": web, "cost": "0.5"},
            {"date": day, "service": "RDS", "region": "us-east-1", "account": data, "cost": "3",
             "tags": {"team": "data"}},
            {"date": day, "service": "S3", "region": "us-east-1", "account": STRAY, "cost": "2"},
        ]  # fmt: skip
    return rows


def totals(account: CloudAccount) -> dict[tuple[str, str, str], Decimal]:
    """The account's daily costs of DAY by (service, region, member id)."""
    rows = CostDaily.objects.filter(account=account, date=DAY)
    return {(r.service, r.region, r.member_id): r.amount for r in rows}


def everything(org) -> dict[tuple, Decimal]:
    """Every stored daily cost of the organization, whichever account holds it."""
    rows = CostDaily.objects.filter(organization=org)
    return {(r.account_id, r.member_id, r.date, r.service, r.region): r.amount for r in rows}


def test_the_fake_answers_a_linked_account_grouping_as_cost_explorer_does(cost_explorer, aws):
    cost_explorer.account_names = {"210987654321": "web"}
    cost_explorer.add_costs(
        [
            {"date": DAY, "service": "EC2", "region": "us-east-1", "cost": "10"},
            {"date": DAY, "service": "EC2", "region": "eu-west-1", "cost": "4",
             "account": "210987654321"},
        ]
    )  # fmt: skip
    key = aws.create_user_key("reader")
    ce = boto3.client("ce", region_name="us-east-1", endpoint_url=cost_explorer.url,
                      aws_access_key_id=key[0], aws_secret_access_key=key[1])  # fmt: skip
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": f"{DAY}", "End": f"{TODAY}"},
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                 {"Type": "DIMENSION", "Key": "SERVICE"}],
        Filter={"Not": {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}}},
    )  # fmt: skip

    assert answer["GroupDefinitions"] == [
        {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
        {"Type": "DIMENSION", "Key": "SERVICE"},
    ]
    assert [g["Keys"] for g in answer["ResultsByTime"][0]["Groups"]] == [["210987654321", "EC2"]]
    assert answer["ResultsByTime"][1]["Groups"] == []
    assert answer["DimensionValueAttributes"] == [
        {"Value": "210987654321", "Attributes": {"description": "web"}}
    ]


def test_each_member_gets_its_share_of_the_bill_and_nothing_counts_twice(
    cost_explorer, organization, org, other_org
):
    connection, web_id, data_id = (organization[k] for k in ("connection", "web", "data"))
    account_members_discover(account=connection)
    web = CloudAccount.objects.get(parent=connection, member_id=web_id)
    data = CloudAccount.objects.get(parent=connection, member_id=data_id)
    # Another organization's connection found an account of the same id as the stray one.
    elsewhere = aws_account(other_org, ("AKIAOTHEROTHEROTHER0", "x"), name="theirs")
    theirs = CloudAccount.objects.create(organization=other_org, parent=elsewhere,
                                         provider="aws", name="theirs / x", member_id=STRAY,
                                         secrets={})  # fmt: skip
    BillingSettings.stored(org)
    BillingSettings.objects.filter(organization=org).update(allocation_keys=["team"])
    budget = Budget.objects.create(organization=org, account=web, name="web", amount=50,
                                   thresholds=[100])  # fmt: skip
    cost_explorer.add_costs(bill(web_id, data_id))

    run = cost_import(account=connection, today=TODAY)

    assert run.status == "succeeded", run.error
    assert totals(connection) == {
        ("EC2", "us-east-1", ""): Decimal(10),
        ("S3", "us-east-1", STRAY): Decimal(2),  # not discovered: kept, named
    }
    assert totals(web) == {("EC2", "eu-west-1", ""): Decimal(60), ("Tax", "", ""): Decimal("0.5")}
    assert totals(data) == {("RDS", "us-east-1", ""): Decimal(3)}
    # The organization's total is the bill's: every cost on one account only.
    stored = sum(everything(org).values())
    assert stored == sum(Decimal(r["cost"]) for r in bill(web_id, data_id) if r["date"] <= TODAY)
    assert not CostData.objects.filter(account=theirs).exists()
    assert not CostDaily.objects.filter(organization=other_org).exists()
    # Costs by tag are split the same way.
    tags = CostTagDaily.objects.filter(date=DAY, key="team")
    assert {(r.account_id, r.member_id, r.value): r.amount for r in tags} == {
        (connection.pk, "", ""): Decimal(10),
        (connection.pk, STRAY, ""): Decimal(2),
        (web.pk, "", ""): Decimal("60.5"),
        (data.pk, "", "data"): Decimal(3),
    }
    # A budget of the member, its anomaly, its figures and the breakdown by account.
    assert BudgetAlert.objects.get(budget=budget).threshold == 100
    assert Anomaly.objects.filter(account=web, day=DAY, service="EC2").exists()
    assert not Anomaly.objects.filter(account=connection).exists()
    month = cost_summary(organization=org, today=TODAY, filters=CostFilters(account=data.pk))
    assert month.month_to_date.amounts == {"USD": Decimal(3 * 20)}
    rows = breakdown(organization=org, start=DAY, end=TODAY - timedelta(days=1), by="account",
                     filters=CostFilters(), currency="USD", rates={})  # fmt: skip
    assert {(r["key"], r["label"]): r["total"] for r in rows} == {
        (connection.pk, "aws-org"): Decimal(10),
        (connection.pk, f"aws-org: account {STRAY} (not discovered)"): Decimal(2),
        (web.pk, web.name): Decimal("60.5"),
        (data.pk, data.name): Decimal(3),
    }


def test_a_reimport_replaces_and_costs_follow_discovery_and_exclusion(
    cost_explorer, organization, org, aws
):
    connection, web_id, data_id = (organization[k] for k in ("connection", "web", "data"))
    cost_explorer.add_costs(bill(web_id, data_id))
    assert cost_import(account=connection, today=TODAY).status == "succeeded"
    first = everything(org)  # nothing discovered yet: all of it on the connection, named
    assert {member for _, member, *_ in first} == {"", web_id, data_id, STRAY}
    assert set(CostDaily.objects.values_list("account_id", flat=True)) == {connection.pk}

    account_members_discover(account=connection)  # found: past days move to the members too
    web = CloudAccount.objects.get(parent=connection, member_id=web_id)
    assert cost_import(account=connection, today=TODAY).status == "succeeded"
    assert not CostDaily.objects.filter(member_id__in=[web_id, data_id]).exists()
    assert CostDaily.objects.filter(account=web).count() == 2 * 40
    again = everything(org)
    assert sum(again.values()) == sum(first.values())  # moved, not copied

    cost_import(account=connection, today=TODAY)  # the same bill: the same rows
    assert everything(org) == again

    web.enabled = False  # excluded: its costs go back to the connection, named
    web.save()
    cost_explorer.clear_costs()  # and AWS restated a day
    restated = [r if r["date"] != DAY or r.get("account") != web_id or r["service"] != "EC2"
                else {**r, "cost": "7"} for r in bill(web_id, data_id)]  # fmt: skip
    cost_explorer.add_costs(restated)
    assert cost_import(account=connection, today=TODAY).status == "succeeded"
    assert not CostDaily.objects.filter(account=web).exists()
    assert totals(connection)[("EC2", "eu-west-1", web_id)] == Decimal(7)
    assert sum(everything(org).values()) == sum(first.values()) - 60 + 7
    rows = breakdown(organization=org, start=DAY, end=TODAY, by="account",
                     filters=CostFilters(), currency="USD", rates={})  # fmt: skip
    assert f"aws-org: account {web_id} (excluded)" in {r["label"] for r in rows}


def test_billing_and_account_pages_show_member_costs_in_the_same_number_of_queries(
    org, login, vera, django_assert_max_num_queries
):
    connection = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="aws-org")
    web = CloudAccount.objects.create(organization=org, parent=connection, provider="aws",
                                      name="aws-org / web", member_id="210987654321",
                                      secrets={})  # fmt: skip
    today = timezone.localdate()
    store(connection, [CostRecord(today, "EC2", Decimal(1), "USD", "us-east-1")])
    client = login(vera)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("billing:overview"), {"period": "last_90"})

    records = [
        CostRecord(today - timedelta(days=n), f"svc-{n}", Decimal(1), "USD", "us-east-1",
                   member_id=member)
        for n in range(30)
        for member in ("", "210987654321", STRAY, f"5109876543{n:02}")
    ]  # fmt: skip
    store(connection, records)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("billing:overview"), {"period": "last_90"}).content.decode()

    assert f"aws-org: account {STRAY} (not discovered)" in page
    assert "aws-org / web" in page
    assert CostDaily.objects.filter(account=web).count() == 30
    days = min(today.day, 30)  # this month's days among the 30 stored
    member_page = client.get(reverse("inventory:account_detail", args=[web.pk])).content.decode()
    assert f'id="account-cost-month">{days:,.2f} USD<' in member_page
    assert "its share of aws-org's consolidated bill" in member_page
    own = client.get(reverse("inventory:account_detail", args=[connection.pk])).content.decode()
    assert f'id="account-cost-month">{days * 3:,.2f} USD<' in own  # its own and two held
    assert f"Of which {days * 2:,.2f} USD is the cost of accounts" in own
