"""Cost imports through the real SDK clients against the emulators: paging, restated days,
the back-fill window, and a failed import that keeps what was there."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from billing.models import CostDaily, CostData, CostResourceMonth, ImportRun
from billing.services.imports import cost_import
from emulators.aws import ACCOUNT_ID
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


def ce_day(day: date, *groups: tuple[str, str, str]) -> dict:
    return {
        "TimePeriod": {"Start": f"{day}", "End": f"{day + timedelta(days=1)}"},
        "Total": {},
        "Estimated": False,
        "Groups": [
            {"Keys": [s, r], "Metrics": {"UnblendedCost": {"Amount": a, "Unit": "USD"}}}
            for s, r, a in groups
        ],
    }


def test_aws_costs_arrive_across_pages_and_roll_up(aws, org, settings):
    account = aws_account(org, aws.create_user_key("billing"))
    first = TODAY - timedelta(days=settings.BILLING_BACKFILL_DAYS - 1)
    page_one = {
        "ResultsByTime": [ce_day(first, ("EC2", "eu-west-1", "10.5"), ("S3", "us-east-1", "1.25"))],
        "NextPageToken": "page-2",
        "GroupDefinitions": [],
    }
    page_two = {
        "ResultsByTime": [ce_day(first + timedelta(days=1), ("EC2", "eu-west-1", "11"))],
        "GroupDefinitions": [],
    }
    answer = requests.post(
        f"{aws.url}/moto-api/static/ce/cost-and-usage-results",
        json={"results": [page_one, page_two], "account_id": ACCOUNT_ID},
        timeout=10,
    )
    assert answer.status_code == 201

    run = cost_import(account=account, today=TODAY)

    assert run.status == ImportRun.State.SUCCEEDED, run.error
    assert (run.start, run.end) == (first, TODAY + timedelta(days=1))  # 90 days back-filled
    rows = CostData.objects.filter(account=account).order_by("date", "service")
    assert [(r.date, r.service, r.region, r.amount, r.currency) for r in rows] == [
        (first, "EC2", "eu-west-1", Decimal("10.5"), "USD"),
        (first, "S3", "us-east-1", Decimal("1.25"), "USD"),
        (first + timedelta(days=1), "EC2", "eu-west-1", Decimal("11"), "USD"),
    ]
    assert CostDaily.objects.filter(account=account).count() == 3
    assert rows[0].billing_period == f"{first:%Y-%m}"


def test_azure_costs_restated_day_replaces_the_old_amount(azure, org):
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    vm = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/web"
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    day = TODAY - timedelta(days=2)
    azure.add_costs(
        SUB,
        [
            {
                "date": day,
                "service": "Virtual Machines",
                "resource_id": vm,
                "cost": 4,
                "currency": "USD",
                "location": "westeurope",
            }
        ],
    )
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    assert CostData.objects.get(account=account).amount == Decimal(4)
    assert CostResourceMonth.objects.get(account=account).amount == Decimal(4)

    azure.clear_costs(SUB)
    azure.add_costs(
        SUB,
        [
            {
                "date": day,
                "service": "Virtual Machines",
                "resource_id": vm,
                "cost": 3.5,
                "currency": "USD",
                "location": "westeurope",
            }
        ],
    )
    run = cost_import(account=account, today=TODAY)
    assert (run.start, run.status) == (TODAY - timedelta(days=4), "succeeded")  # re-fetch only
    assert CostData.objects.get(account=account).amount == Decimal("3.5")
    assert CostDaily.objects.get(account=account).amount == Decimal("3.5")
    assert CostResourceMonth.objects.get(account=account).amount == Decimal("3.5")


def test_gcp_costs_come_from_the_billing_export(gcp, org):
    key = gcp.add_service_account("acme-prod")
    table = "acme-prod.billing.gcp_billing_export_v1_0123"
    from datetime import UTC, datetime

    gcp.add_billing_rows(
        table,
        [
            {
                "usage_start_time": datetime(2026, 11, 18, 6, tzinfo=UTC),
                "service": "Compute Engine",
                "region": "us-central1",
                "cost": 2.5,
                "credits": -0.5,
                "currency": "USD",
            },
            {
                "usage_start_time": datetime(2026, 11, 18, 12, tzinfo=UTC),
                "service": "Compute Engine",
                "region": "us-central1",
                "cost": 2.5,
                "credits": 0,
                "currency": "USD",
            },
            {
                "usage_start_time": datetime(2026, 11, 19, 1, tzinfo=UTC),
                "service": "Cloud Storage",
                "region": "",
                "cost": 0.75,
                "credits": 0,
                "currency": "USD",
            },
        ],
    )
    account = gcp_account(org, key)
    account.config["billing_table"] = table
    account.save()
    run = cost_import(account=account, today=TODAY)
    assert run.status == "succeeded", run.error
    got = {(r.date, r.service): r.amount for r in CostData.objects.filter(account=account)}
    assert got == {
        (date(2026, 11, 18), "Compute Engine"): Decimal("4.5"),
        (date(2026, 11, 19), "Cloud Storage"): Decimal("0.75"),
    }


def test_a_failed_import_keeps_what_was_there(aws, org):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    from tests.billing.costs import daily, store

    store(account, daily(account, TODAY - timedelta(days=10), 10, "5"))
    before = list(CostData.objects.values_list("date", "amount"))
    run = cost_import(account=account, today=TODAY)
    assert run.status == ImportRun.State.FAILED
    assert run.error.startswith("AWS")
    assert list(CostData.objects.values_list("date", "amount")) == before
    assert CostDaily.objects.count() == 10


def test_an_import_after_a_pause_fetches_every_day_since_the_last_success(azure, org, settings):
    settings.BILLING_RESTATE_DAYS = 5
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    paused_on = TODAY - timedelta(days=10)
    assert cost_import(account=account, today=paused_on).status == "succeeded"
    ImportRun.objects.create(  # a failure while paused changes nothing
        organization=org, account=account, start=TODAY, end=TODAY, status="failed"
    )
    gap_day = TODAY - timedelta(days=7)  # long out of the restate window of today's import
    azure.add_costs(
        SUB,
        [
            {"date": d, "service": "Storage", "resource_id": "", "cost": 1, "currency": "USD",
             "location": "westeurope"}
            for d in (gap_day, paused_on - timedelta(days=3), TODAY - timedelta(days=1))
        ],
    )  # fmt: skip

    run = cost_import(account=account, today=TODAY)

    # The days the import on `paused_on` fetched younger than 4 days old are fetched again.
    assert (run.start, run.end) == (paused_on - timedelta(days=3), TODAY + timedelta(days=1))
    assert sorted(CostData.objects.filter(account=account).values_list("date", flat=True)) == [
        paused_on - timedelta(days=3),
        gap_day,
        TODAY - timedelta(days=1),
    ]


def test_the_window_after_a_pause_never_reaches_past_the_backfill(org, settings):
    from billing.services.imports import import_window
    from tests.billing.costs import daily, store

    settings.BILLING_RESTATE_DAYS, settings.BILLING_BACKFILL_DAYS = 5, 90
    account = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    end = TODAY + timedelta(days=1)
    assert import_window(account, TODAY) == (end - timedelta(days=90), end)  # first import
    store(account, daily(account, TODAY - timedelta(days=30), 1, "1"))  # data, but no run
    assert import_window(account, TODAY) == (TODAY - timedelta(days=33), end)
    ImportRun.objects.create(
        organization=org, account=account, start=TODAY - timedelta(days=290),
        end=TODAY - timedelta(days=199), status="succeeded",
    )  # fmt: skip
    assert import_window(account, TODAY) == (end - timedelta(days=90), end)
    ImportRun.objects.create(
        organization=org, account=account, start=TODAY - timedelta(days=5), end=TODAY,
        status="succeeded",
    )  # fmt: skip
    assert import_window(account, TODAY) == (end - timedelta(days=5), end)  # daily: restate
