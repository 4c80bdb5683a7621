"""Cost imports of an AWS account that names its CUR 2.0 data export: the days before Cost
Explorer's 14 per resource come from the export (real Parquet files in moto's S3, read with
the real boto3), the recent days from Cost Explorer (the sandbox's proxy in front of moto)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.models import (
    BillingSettings,
    CostDaily,
    CostData,
    CostResourceDaily,
    CostTagDaily,
    ImportRun,
)
from billing.services.imports import cost_import
from emulators.aws_costs import CostExplorerProxy
from inventory.models import Resource
from tests.clouds.cur_files import at, line_item, parquet, put_period
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)  # Cost Explorer answers per resource from November 7 on
SEP, OCT, NOV = date(2026, 9, 10), date(2026, 10, 21), date(2026, 11, 18)
EC2 = "Amazon Elastic Compute Cloud"
EXPORT = {"export_bucket": "acme-cur", "export_prefix": "cur", "export_name": "payer"}
NO_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ],
    }
)


@pytest.fixture
def cost_explorer(aws, settings):
    proxy = CostExplorerProxy(aws.url)
    proxy.today = TODAY
    proxy.start()
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    proxy.stop()


@pytest.fixture
def s3(aws):
    client = aws.client("s3")
    client.create_bucket(Bucket="acme-cur")
    return client


def deliver(s3, october_vm_cost: float = 3.0) -> None:
    """Two billing periods, as AWS Data Exports delivers them (October in two files)."""
    september = [
        line_item(at(SEP, 1), 1.0, resource="i-0abc", tags={"user_team": "web"}),
        line_item(at(SEP, 13), 1.0, resource="i-0abc", tags={"user_team": "web"}),
        line_item(at(SEP, 2), 0.5, product="AmazonS3", resource="acme-logs"),
        line_item(at(SEP, 0), 0.3, kind="Tax", region=""),
    ]
    october = [line_item(at(OCT, 5), october_vm_cost, resource="i-0abc",
                         tags={"user_team": "web"})]  # fmt: skip
    credits = [line_item(at(OCT, 0), -1.0, resource="i-0abc", kind="Credit")]
    put_period(s3, "acme-cur", "cur", "payer", "2026-09", {"p1.parquet": parquet(september)})
    put_period(s3, "acme-cur", "cur", "payer", "2026-10",
               {"p1.parquet": parquet(october), "p2.parquet": parquet(credits)})  # fmt: skip


def resource(account, resource_id: str, kind: str = "vm") -> Resource:
    return Resource.objects.create(
        organization=account.organization, account=account, provider="aws",
        resource_id=resource_id, name=resource_id[-8:], type=kind, region="us-east-1",
        scope="us-east-1", status="running", fingerprint="x",
    )  # fmt: skip


def stored(account) -> dict[str, object]:
    """Everything an import writes, to compare two imports."""
    return {
        "bill": sorted(CostData.objects.filter(account=account).values_list(
            "date", "service", "region", "resource_id", "amount")),
        "daily": sorted(CostDaily.objects.filter(account=account).values_list(
            "date", "service", "amount")),
        "resources": sorted(CostResourceDaily.objects.filter(account=account).values_list(
            "resource_id", "date", "amount")),
        "tags": sorted(CostTagDaily.objects.filter(account=account).values_list(
            "date", "key", "value", "amount")),
    }  # fmt: skip


def day_total(account, day: date) -> Decimal:
    return CostData.objects.filter(account=account, date=day).aggregate(t=Sum("amount"))["t"]


def test_older_days_come_from_the_export_and_a_reimport_replaces_them(cost_explorer, aws, s3, org):
    BillingSettings.objects.update_or_create(
        organization=org, defaults={"allocation_keys": ["team"]}
    )
    account = aws_account(org, aws.create_user_key("billing"), **EXPORT)
    vm = resource(account, "i-0abc")
    bucket = resource(account, "arn:aws:s3:::acme-logs", kind="storage")
    deliver(s3)
    cost_explorer.add_costs(
        [
            # Cost Explorer's own answer for an old day gives way to the export's.
            {"date": OCT, "service": "Amazon Elastic Compute Cloud - Compute",
             "region": "us-east-1", "cost": "100"},
            {"date": NOV, "service": "Amazon Elastic Compute Cloud - Compute",
             "region": "us-east-1", "cost": "4", "resource_id": "i-0abc",
             "tags": {"team": "web"}},
        ]
    )  # fmt: skip

    run = cost_import(account=account, today=TODAY)

    assert run.status == ImportRun.State.SUCCEEDED, run.error
    assert day_total(account, SEP) == Decimal("2.8")
    assert day_total(account, OCT) == Decimal("2")  # 3 less the credit, not Cost Explorer's 100
    assert day_total(account, NOV) == Decimal("4")  # Cost Explorer's day
    assert CostDaily.objects.get(account=account, date=SEP, service=EC2).amount == Decimal(2)
    assert set(CostData.objects.filter(account=account, date=SEP).values_list(
        "resource_id", flat=True)) == {"i-0abc", "arn:aws:s3:::acme-logs", ""}  # fmt: skip
    # Each resource's days, linked to the inventory by its provider id: the export's before
    # November 7 (usage only, no credit), Cost Explorer's after.
    daily = {(r, d): a for r, d, a in stored(account)["resources"]}
    assert daily == {
        ("i-0abc", SEP): Decimal(2),
        ("arn:aws:s3:::acme-logs", SEP): Decimal("0.5"),
        ("i-0abc", OCT): Decimal(3),
        ("i-0abc", NOV): Decimal(4),
    }
    vm.refresh_from_db()
    bucket.refresh_from_db()
    # The last 30 full days hold October 21 (3) and November 18 (4): 7 over 30 days.
    assert (vm.monthly_cost, vm.cost_basis) == (Decimal("7.00"), "billed")
    assert bucket.cost_basis == ""  # its only cost is older than 30 days
    tags = {(d, v): a for d, k, v, a in stored(account)["tags"]}
    assert tags[(SEP, "web")] == Decimal(2)
    assert tags[(SEP, "")] == Decimal("0.8")
    assert tags[(OCT, "web")] == Decimal(3)
    assert tags[(OCT, "")] == Decimal(-1)
    assert tags[(NOV, "web")] == Decimal(4)

    # The same export again: nothing doubles.
    before = stored(account)
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    assert stored(account) == before

    # AWS restates October: the new figures replace the old ones.
    deliver(s3, october_vm_cost=5.0)
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    assert day_total(account, OCT) == Decimal(4)
    assert CostResourceDaily.objects.get(account=account, date=OCT).amount == Decimal(5)
    assert day_total(account, SEP) == Decimal("2.8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"export_bucket": "gone-bucket"}, "bucket gone-bucket does not exist"),
        ({"key": NO_S3}, "AWS denied the request to list the billing periods of the data export"),
    ],
)
def test_an_export_that_cannot_be_read_fails_the_import_and_keeps_the_costs(
    cost_explorer, aws, s3, org, change, message
):
    account = aws_account(org, aws.create_user_key("billing"), **EXPORT)
    deliver(s3)
    assert cost_import(account=account, today=TODAY).status == "succeeded"
    before = stored(account)
    assert before["bill"]

    if "key" in change:
        key_id, secret = aws.create_user_key("no-s3", change["key"])
        account.config["access_key_id"] = key_id
        account.secrets = {"secret_access_key": secret}
    else:
        account.config |= change
    account.save()
    run = cost_import(account=account, today=TODAY)

    assert run.status == ImportRun.State.FAILED
    assert message in run.error
    assert stored(account) == before


def test_a_closed_period_read_before_is_not_read_again(cost_explorer, aws, s3, org):
    account = aws_account(org, aws.create_user_key("billing"), **EXPORT)
    deliver(s3)
    assert cost_import(account=account, today=TODAY).status == "succeeded"

    # A month later September is long closed (AWS restates a period for two weeks after
    # it ends): a changed file is not read again; October, younger, still is.
    later = date(2026, 12, 20)
    cost_explorer.today = later
    september = [line_item(at(SEP, 1), 99.0, resource="i-0abc")]
    put_period(s3, "acme-cur", "cur", "payer", "2026-09", {"p1.parquet": parquet(september)})
    deliver_october = [line_item(at(OCT, 5), 6.0, resource="i-0abc")]
    put_period(s3, "acme-cur", "cur", "payer", "2026-10", {"p1.parquet": parquet(deliver_october)})
    run = cost_import(account=account, today=later)

    assert run.status == "succeeded", run.error
    assert day_total(account, SEP) == Decimal("2.8")
    assert day_total(account, OCT) == Decimal(5)  # 6 less the credit of the second file
