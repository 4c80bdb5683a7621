"""Costs by allocation tag, imported through the real SDK clients from each provider's own
grouping of its bill by tag, as the emulators answer it: Cost Explorer's TAG groups (in front
of moto), Cost Management's TagKey grouping, the BigQuery billing export's labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from billing.models import BillingSettings, CostData, CostTagDaily
from billing.services.imports import cost_import
from billing.services.settings import allocation_keys_save
from emulators.aws_costs import CostExplorerProxy
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
DAY = TODAY - timedelta(days=2)
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


def tagged(account) -> dict[tuple, Decimal]:
    rows = CostTagDaily.objects.filter(account=account)
    return {(r.date, r.key, r.value, r.currency): r.amount for r in rows}


def choose(org, keys: list[str]) -> None:
    BillingSettings.stored(org)
    BillingSettings.objects.filter(organization=org).update(allocation_keys=keys)


@pytest.fixture
def cost_explorer(aws, settings):
    """Cost Explorer's GetCostAndUsage answered by the sandbox's proxy, moto behind it."""
    proxy = CostExplorerProxy(aws.url)
    proxy.start()
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    proxy.stop()


def test_aws_costs_by_tag_come_from_cost_explorer_tag_groups(cost_explorer, aws, org):
    choose(org, ["team", "env"])
    account = aws_account(org, aws.create_user_key("billing"))
    cost_explorer.add_costs(
        [
            {"date": DAY, "service": "EC2", "region": "us-east-1", "cost": "10",
             "tags": {"team": "web", "env": "prod"}},
            {"date": DAY, "service": "RDS", "region": "us-east-1", "cost": "4",
             "tags": {"team": "data"}},
            {"date": DAY, "service": "CloudWatch", "region": "us-east-1", "cost": "1.5"},
        ]
    )  # fmt: skip

    run = cost_import(account=account, today=TODAY)

    assert run.status == "succeeded", run.error
    assert tagged(account) == {
        (DAY, "team", "web", "USD"): Decimal(10),
        (DAY, "team", "data", "USD"): Decimal(4),
        (DAY, "team", "", "USD"): Decimal("1.5"),  # "team$": untagged
        (DAY, "env", "prod", "USD"): Decimal(10),
        (DAY, "env", "", "USD"): Decimal("5.5"),
    }
    assert sum(CostData.objects.filter(account=account).values_list("amount", flat=True)) == 15.5


def test_azure_costs_by_tag_come_from_a_tagkey_grouping(azure, org):
    choose(org, ["team"])
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    vm = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/"
    azure.add_costs(
        SUB,
        [
            {"date": DAY, "service": "Virtual Machines", "resource_id": vm + "a", "cost": 3,
             "tags": {"Team": "web"}},  # Azure tag names compare without case
            {"date": DAY, "service": "Virtual Machines", "resource_id": vm + "b", "cost": 2,
             "tags": {"team": "web", "env": "prod"}},
            {"date": DAY, "service": "Storage", "resource_id": vm + "c", "cost": 1.25,
             "tags": {"env": "prod"}},
        ],
    )  # fmt: skip
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])

    run = cost_import(account=account, today=TODAY)

    assert run.status == "succeeded", run.error
    assert tagged(account) == {
        (DAY, "team", "web", "USD"): Decimal(5),
        (DAY, "team", "", "USD"): Decimal("1.25"),
    }


def test_gcp_costs_by_label_come_from_the_billing_exports_labels(gcp, org):
    choose(org, ["team", "env"])
    key = gcp.add_service_account("acme-prod")
    table = "acme-prod.billing.gcp_billing_export_v1_0123"
    at = datetime.combine(DAY, datetime.min.time(), UTC)
    gcp.add_billing_rows(
        table,
        [
            {"usage_start_time": at, "service": "Compute Engine", "cost": 2.5, "credits": -0.5,
             "labels": {"team": "web", "env": "prod"}},
            {"usage_start_time": at + timedelta(hours=6), "service": "Compute Engine",
             "cost": 1, "labels": {"team": "web"}},
            {"usage_start_time": at, "service": "Cloud Storage", "cost": 0.75},
        ],
    )  # fmt: skip
    account = gcp_account(org, key)
    account.config["billing_table"] = table
    account.save()

    run = cost_import(account=account, today=TODAY)

    assert run.status == "succeeded", run.error
    assert tagged(account) == {
        (DAY, "team", "web", "USD"): Decimal(3),  # credits included
        (DAY, "team", "", "USD"): Decimal("0.75"),
        (DAY, "env", "prod", "USD"): Decimal(2),
        (DAY, "env", "", "USD"): Decimal("1.75"),
    }


def test_a_reimport_replaces_the_days_it_fetched_and_duplicates_nothing(azure, org, settings):
    settings.BILLING_RESTATE_DAYS = 5
    choose(org, ["team"])
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    vm = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a"
    old = TODAY - timedelta(days=30)
    row = {"service": "Virtual Machines", "resource_id": vm, "tags": {"team": "web"}}
    azure.add_costs(SUB, [{**row, "date": old, "cost": 7}, {**row, "date": DAY, "cost": 4}])
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    first = tagged(account)

    assert cost_import(account=account, today=TODAY).status == "succeeded"
    assert tagged(account) == first  # the same rows, once

    azure.clear_costs(SUB)  # the provider restates the recent day
    azure.add_costs(SUB, [{**row, "date": old, "cost": 7}, {**row, "date": DAY, "cost": 4.5}])
    run = cost_import(account=account, today=TODAY)
    assert run.start == TODAY - timedelta(days=4)  # only the recent days: the key is stored
    assert tagged(account) == {
        (old, "team", "web", "USD"): Decimal(7),
        (DAY, "team", "web", "USD"): Decimal("4.5"),
    }


def test_a_new_key_is_back_filled_and_a_dropped_one_forgotten(azure, org, alice, settings):
    settings.BILLING_RESTATE_DAYS = 5
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    vm = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a"
    old = TODAY - timedelta(days=30)
    azure.add_costs(
        SUB,
        [{"date": old, "service": "Virtual Machines", "resource_id": vm, "cost": 7,
          "tags": {"team": "web", "env": "prod"}}],
    )  # fmt: skip
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    allocation_keys_save(organization=org, keys=["team"], user=alice)
    assert cost_import(account=account, today=TODAY).status == "succeeded"

    allocation_keys_save(organization=org, keys=["env"], user=alice)
    assert cost_import(account=account, today=TODAY).status == "succeeded"

    assert tagged(account) == {(old, "env", "prod", "USD"): Decimal(7)}  # 30 days back
    event = AuditEvent.objects.filter(action="billing.allocation_keys_updated").latest("id")
    assert event.data == {"keys": ["env"], "before": ["team"]}
