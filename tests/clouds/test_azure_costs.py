"""The Azure adapter's costs: azure-mgmt-costmanagement against the local ARM fake."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from mcloud.clouds.azure import AzureAdapter
from mcloud.clouds.base import AzureCredentials, CloudError, Endpoints

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SECRET = "the-client-secret"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
STAGING = "aaaaaaaa-0000-0000-0000-000000000003"
OTHER = "aaaaaaaa-0000-0000-0000-000000000002"  # exists, but not granted to the app
OCT_1 = date(2026, 10, 1)


@pytest.fixture
def fake(azure):
    azure.faults.retry_after = 0
    for sub, name in ((SUB, "Production"), (STAGING, "Staging"), (OTHER, "Someone else's")):
        azure.add_subscription(sub, name, TENANT)
    azure.add_app(TENANT, CLIENT, SECRET, [SUB, STAGING])
    return azure


def adapter(fake, *subscriptions: str) -> AzureAdapter:
    return AzureAdapter(
        AzureCredentials(TENANT, CLIENT, SECRET, subscriptions or (SUB,)),
        Endpoints(
            azure_arm_url=fake.base_url,
            azure_authority=fake.authority,
            azure_ca_bundle=fake.ca_bundle,
            retries=2,
        ),
    )


def vm_id(sub: str, name: str) -> str:
    return (
        f"/subscriptions/{sub}/resourceGroups/RG-Web/providers/Microsoft.Compute/"
        f"virtualMachines/{name}"
    )


def test_it_reads_daily_costs_per_service_and_resource_across_pages(fake):
    web, db = vm_id(SUB, "web-1"), vm_id(SUB, "db-1")
    fake.add_costs(
        SUB,
        [
            {"date": OCT_1, "service": "Virtual Machines", "resource_id": web, "cost": 10.25},
            {"date": OCT_1, "service": "Virtual Machines", "resource_id": web, "cost": 2.25},
            {
                "date": OCT_1,
                "service": "Virtual Machines",
                "resource_id": db,
                "cost": 0.1,
                "location": "northeurope",
            },
            {
                "date": OCT_1,
                "service": "Storage",
                "resource_id": db + "-disk",
                "cost": 1.5,
                "location": "northeurope",
            },
            {"date": date(2026, 10, 2), "service": "Storage", "resource_id": web, "cost": 0},
            {"date": date(2026, 10, 3), "service": "Storage", "resource_id": web, "cost": 3},
            {"date": date(2026, 9, 30), "service": "Storage", "resource_id": web, "cost": 7},
        ],
    )
    fake.add_costs(
        STAGING,
        [{"date": OCT_1, "service": "Bandwidth", "resource_id": vm_id(STAGING, "s"), "cost": 1}],
    )
    fake.cost_page_size = 2

    records = adapter(fake, SUB, STAGING).costs(OCT_1, date(2026, 10, 3))  # Oct 3 excluded

    assert [(r.date, r.service, r.resource_id, r.amount) for r in records] == [
        (OCT_1, "Storage", (db + "-disk").lower(), Decimal("1.5")),
        (OCT_1, "Virtual Machines", db.lower(), Decimal("0.1")),
        (OCT_1, "Virtual Machines", web.lower(), Decimal("12.5")),
        (date(2026, 10, 2), "Storage", web.lower(), Decimal("0.0")),
        (OCT_1, "Bandwidth", vm_id(STAGING, "s").lower(), Decimal("1.0")),
    ]
    assert [r.metadata["subscription_id"] for r in records] == [SUB] * 4 + [STAGING]
    # Each resource's region, from a second query grouped by ResourceId and ResourceLocation.
    assert [r.region for r in records] == ["northeurope"] * 2 + ["westeurope"] * 3
    assert {r.currency for r in records} == {"USD"}
    pages = [p for m, p in fake.requests if p.endswith("/Microsoft.CostManagement/query")]
    # Costs: two pages for SUB (four rows), one for STAGING; locations: two for SUB's three
    # resources, one for STAGING's.
    assert len(pages) == 6


def test_a_restated_day_comes_back_with_its_new_amount(fake):
    web = vm_id(SUB, "web-1")
    fake.add_costs(SUB, [{"date": OCT_1, "service": "Storage", "resource_id": web, "cost": 4}])
    reader = adapter(fake)
    assert [r.amount for r in reader.costs(OCT_1, OCT_1 + timedelta(days=1))] == [Decimal("4.0")]

    fake.clear_costs(SUB)  # Azure restates the day (a late meter, a refund)
    fake.add_costs(SUB, [{"date": OCT_1, "service": "Storage", "resource_id": web, "cost": 3.75}])

    assert [r.amount for r in reader.costs(OCT_1, OCT_1 + timedelta(days=1))] == [Decimal("3.75")]


def test_a_period_longer_than_a_year_is_read_a_year_at_a_time(fake):
    web, start = vm_id(SUB, "web-1"), date(2025, 6, 1)
    days = (start, start + timedelta(days=364), start + timedelta(days=365), date(2026, 7, 4))
    fake.add_costs(
        SUB, [{"date": d, "service": "Storage", "resource_id": web, "cost": 1} for d in days]
    )

    records = adapter(fake).costs(start, date(2026, 7, 5))  # 399 days: two queries

    assert [r.date for r in records] == list(days)


def test_an_ungranted_subscription_is_a_permanent_error(fake):
    fake.add_costs(OTHER, [{"date": OCT_1, "service": "Storage", "resource_id": "x", "cost": 1}])
    with pytest.raises(CloudError) as caught:
        adapter(fake, SUB, OTHER).costs(OCT_1, date(2026, 10, 2))
    assert caught.value.permanent
    assert caught.value.code == "AuthorizationFailed"
    assert OTHER in caught.value.message


def test_an_empty_period_has_no_costs(fake):
    assert adapter(fake).costs(OCT_1, OCT_1) == []


def test_the_sandbox_estate_has_three_months_of_costs_for_its_vms(azure):
    """The sandbox's Azure costs, read by the adapter: every day, the running estate VMs by
    resource id, their disks and storage accounts."""
    from emulators import estate

    sandbox = estate.build_azure(azure, random.Random(2026))
    days = estate.cost_days(date(2026, 11, 27))
    for subscription_id, rows in estate.azure_cost_rows(azure, random.Random(1), days).items():
        azure.add_costs(subscription_id, rows)
    reader = AzureAdapter(
        AzureCredentials(
            sandbox["tenant_id"],
            sandbox["client_id"],
            sandbox["client_secret"],
            tuple(sandbox["subscription_ids"]),
        ),
        Endpoints(
            azure_arm_url=azure.base_url,
            azure_authority=azure.authority,
            azure_ca_bundle=azure.ca_bundle,
        ),
    )

    records = reader.costs(days[0], days[-1] + timedelta(days=1))

    assert sorted({r.date for r in records}) == days
    assert {r.service for r in records} == {"Virtual Machines", "Storage"}
    assert {r.metadata["subscription_id"] for r in records} == set(estate.AZURE_SUBSCRIPTIONS)
    vms = {
        vm["id"].lower(): azure.power_state(vm["id"])
        for sub in estate.AZURE_SUBSCRIPTIONS
        for vm in azure.resources(sub, "Microsoft.Compute/virtualMachines")
    }
    billed = {r.resource_id for r in records if r.service == "Virtual Machines"}
    assert billed == {vm for vm, state in vms.items() if state == "running"}
    assert all(r.amount > 0 for r in records)
