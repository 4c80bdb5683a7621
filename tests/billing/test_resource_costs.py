"""Costs per resource, imported through the real SDK clients against the emulators: Cost
Explorer's resource-level data (in front of moto), Cost Management's ResourceId grouping, a
BigQuery detailed export; stored per day (`CostResourceDaily`) and written to the inventory's
"cost / month" (`Resource.monthly_cost`), billed or estimated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from billing.models import CostData, CostResourceDaily, ImportRun
from billing.services.imports import cost_import
from emulators.aws_costs import CostExplorerProxy
from inventory.models import Resource, ResourceTally
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
EC2 = "Amazon Elastic Compute Cloud - Compute"
S3 = "Amazon Simple Storage Service"


@pytest.fixture
def cost_explorer(aws, settings):
    """Cost Explorer answered by the sandbox's proxy (resource-level data too), moto behind."""
    proxy = CostExplorerProxy(aws.url)
    proxy.today = TODAY
    proxy.start()
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    proxy.stop()


def resource(account, resource_id: str, **fields) -> Resource:
    return Resource.objects.create(
        organization=account.organization,
        account=account,
        provider=account.provider,
        resource_id=resource_id,
        name=fields.pop("name", resource_id[-12:]),
        type=fields.pop("type", "vm"),
        region=fields.pop("region", "us-east-1"),
        scope=fields.pop("scope", "us-east-1"),
        status=fields.pop("status", "running"),
        fingerprint="x",
        **fields,
    )


def daily(account) -> dict[tuple[str, date], Decimal]:
    rows = CostResourceDaily.objects.filter(account=account)
    return {(r.resource_id, r.date): r.amount for r in rows}


def test_aws_costs_per_resource_come_from_cost_explorer_resource_level_data(
    cost_explorer, aws, org
):
    account = aws_account(org, aws.create_user_key("billing"))
    vm = resource(account, "i-0abc1234def567890")
    bucket = resource(account, "arn:aws:s3:::acme-logs", type="storage", status="available")
    priced = resource(account, "i-0fff", monthly_estimate=Decimal("7.592"))  # the catalog's
    stopped = resource(account, "i-0eee", status="stopped", monthly_estimate=Decimal("7.592"))
    old = TODAY - timedelta(days=20)  # beyond the 14 days AWS keeps per resource
    rows = []
    for n in range(1, 15):
        day = TODAY - timedelta(days=n)
        rows += [
            {"date": day, "service": EC2, "region": "us-east-1", "cost": "2",
             "resource_id": vm.resource_id},
            {"date": day, "service": S3, "region": "us-east-1", "cost": "0.5",
             "resource_id": "acme-logs"},  # Cost Explorer names a bucket by its name
            {"date": day, "service": "EC2 - Other", "region": "us-east-1", "cost": "1"},
            {"date": day, "service": "Tax", "region": "NoRegion", "cost": "0.3",
             "resource_id": vm.resource_id, "record_type": "Tax"},
        ]  # fmt: skip
    rows.append({"date": old, "service": EC2, "region": "us-east-1", "cost": "9",
                 "resource_id": vm.resource_id})  # fmt: skip
    cost_explorer.add_costs(rows)

    run = cost_import(account=account, today=TODAY)

    assert run.status == ImportRun.State.SUCCEEDED, run.error
    assert run.note == ""
    stored = daily(account)
    assert min(day for _, day in stored) == TODAY - timedelta(days=13)  # 14 days: today too
    assert stored[("i-0abc1234def567890", TODAY - timedelta(days=1))] == Decimal(2)  # no tax
    assert stored[("arn:aws:s3:::acme-logs", TODAY - timedelta(days=1))] == Decimal("0.5")
    assert {rid for rid, _ in stored} == {"i-0abc1234def567890", "arn:aws:s3:::acme-logs"}
    # The bill itself is whole: the service rows hold every cost, the old day's included.
    assert CostData.objects.filter(account=account, date=old).get().amount == Decimal(9)

    for row in (vm, bucket, priced, stopped):
        row.refresh_from_db()
    # 13 full days stored before today, scaled to 30 days.
    assert (vm.monthly_cost, vm.cost_currency, vm.cost_basis) == (Decimal("60.00"), "USD", "billed")
    assert (bucket.monthly_cost, bucket.cost_basis) == (Decimal("15.00"), "billed")
    assert (priced.monthly_cost, priced.cost_basis) == (Decimal("7.59"), "estimate")
    assert (stopped.monthly_cost, stopped.cost_basis) == (Decimal(0), "")
    # The scope's tallies sum them, for the inventory's totals.
    tallied = ResourceTally.objects.filter(account=account, live=True).exclude(cost_basis="")
    assert sorted((t.type, t.cost_basis, t.monthly_cost) for t in tallied) == [
        ("storage", "billed", Decimal("15.00")),
        ("vm", "billed", Decimal("60.00")),
        ("vm", "estimate", Decimal("7.59")),
    ]


def test_without_resource_level_data_the_import_succeeds_and_says_so(cost_explorer, aws, org):
    account = aws_account(org, aws.create_user_key("billing"))
    vm = resource(account, "i-0abc")
    day = TODAY - timedelta(days=2)
    cost_explorer.add_costs(
        [{"date": day, "service": EC2, "region": "us-east-1", "cost": "3", "resource_id": "i-0abc"}]
    )
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    assert daily(account) == {("i-0abc", day): Decimal(3)}

    cost_explorer.resource_level = False
    cost_explorer.add_costs([{"date": day, "service": EC2, "region": "us-east-1", "cost": "1"}])
    run = cost_import(account=account, today=TODAY)

    assert run.status == "succeeded", run.error
    assert "no resource-level data for this account" in run.note
    assert daily(account) == {("i-0abc", day): Decimal(3)}  # kept as it was
    vm.refresh_from_db()
    assert vm.cost_basis == "billed"
    event = AuditEvent.objects.filter(action="costs.imported").order_by("-id").first()
    assert "no resource-level data for this account" in event.data["note"]


def test_azure_costs_per_resource_come_from_the_resource_id_grouping(azure, org):
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    listed = (
        f"/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Web"
    )
    vm = resource(account, listed, region="westeurope", scope=SUB)
    day = TODAY - timedelta(days=2)
    azure.add_costs(
        SUB,
        [
            {"date": day, "service": "Virtual Machines", "resource_id": listed, "cost": 4,
             "location": "westeurope"},
            {"date": day, "service": "Storage", "resource_id": listed, "cost": 1,
             "location": "westeurope"},
        ],
    )  # fmt: skip

    assert cost_import(account=account, today=TODAY).status == "succeeded"

    assert daily(account) == {(listed.lower(), day): Decimal(5)}  # services together
    assert set(CostData.objects.filter(account=account).values_list("region", flat=True)) == {
        "westeurope"
    }
    vm.refresh_from_db()
    assert (vm.monthly_cost, vm.cost_basis) == (Decimal("75.00"), "billed")  # 2 days -> 30

    # A restated day replaces the stored one.
    azure.clear_costs(SUB)
    azure.add_costs(SUB, [{"date": day, "service": "Storage", "resource_id": listed, "cost": 2}])
    cost_import(account=account, today=TODAY)
    assert daily(account) == {(listed.lower(), day): Decimal(2)}


def test_gcp_costs_per_resource_come_from_a_detailed_export(gcp, org):
    key = gcp.add_service_account("acme-prod")
    table = "acme-prod.billing.gcp_billing_export_resource_v1_0123"
    path = "projects/acme-prod/zones/us-central1-a/instances/web-1"
    gcp.add_billing_rows(
        table,
        [
            {"usage_start_time": datetime(2026, 11, 18, 6, tzinfo=UTC), "resource": path,
             "service": "Compute Engine", "region": "us-central1", "cost": 2.5, "credits": -0.5},
            {"usage_start_time": datetime(2026, 11, 18, 12, tzinfo=UTC), "resource": path,
             "service": "Compute Engine", "region": "us-central1", "cost": 2.5},
            {"usage_start_time": datetime(2026, 11, 18, 1, tzinfo=UTC),
             "service": "Cloud Storage", "region": "", "cost": 0.75},
        ],
    )  # fmt: skip
    account = gcp_account(org, key)
    account.config["billing_table"] = table
    account.save()
    vm = resource(account, path, region="us-central1", scope="acme-prod")

    assert cost_import(account=account, today=TODAY).status == "succeeded"

    assert daily(account) == {(path, date(2026, 11, 18)): Decimal("4.5")}
    vm.refresh_from_db()
    assert (vm.monthly_cost, vm.cost_basis) == (Decimal("67.50"), "billed")  # 2 days -> 30


def test_a_member_accounts_resources_get_the_connections_costs(cost_explorer, aws, org):
    connection = aws_account(org, aws.create_user_key("billing"))
    member = aws_account(org, ("unused", "unused"), name="member")
    member.parent = connection
    member.member_id = "210987654321"
    member.save()
    vm = resource(member, "i-0member")
    day = TODAY - timedelta(days=1)
    cost_explorer.add_costs(
        [
            {
                "date": day,
                "service": EC2,
                "region": "us-east-1",
                "cost": "1",
                "resource_id": "i-0member",
            }
        ]
    )
    cost_import(account=connection, today=TODAY)
    vm.refresh_from_db()
    assert (vm.monthly_cost, vm.cost_basis) == (Decimal("30.00"), "billed")
