"""Cost Explorer's resource-level data: the sandbox's proxy answers
`GetCostAndUsageWithResources` as botocore's model describes it, and the AWS adapter reads it
through boto3, paged to the end."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError

from emulators.aws_costs import CostExplorerProxy
from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints

TODAY = date(2026, 11, 20)
EC2 = "Amazon Elastic Compute Cloud - Compute"
USAGE = {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}}


@pytest.fixture
def proxy(aws):
    explorer = CostExplorerProxy(aws.url)
    explorer.today = TODAY
    explorer.start()
    yield explorer
    explorer.stop()


@pytest.fixture
def key(aws) -> tuple[str, str]:
    return aws.create_user_key("costs")


def ce(proxy, key):
    return boto3.client(
        "ce",
        region_name="us-east-1",
        endpoint_url=proxy.url,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


def period(days_ago: int) -> dict[str, str]:
    return {"Start": f"{TODAY - timedelta(days=days_ago)}", "End": f"{TODAY}"}


def test_it_groups_by_resource_and_filters_by_record_type(proxy, key):
    day = TODAY - timedelta(days=1)
    proxy.add_costs(
        [
            {"date": day, "service": EC2, "region": "us-east-1", "cost": "2", "resource_id": "i-1"},
            {"date": day, "service": EC2, "region": "us-east-1", "cost": "1", "resource_id": "i-1",
             "record_type": "Credit"},
            {"date": day, "service": "EC2 - Other", "region": "us-east-1", "cost": "0.5"},
        ]
    )  # fmt: skip
    answer = ce(proxy, key).get_cost_and_usage_with_resources(
        TimePeriod=period(2),
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        Filter=USAGE,
        GroupBy=[{"Type": "DIMENSION", "Key": "RESOURCE_ID"}],
    )
    groups = {
        g["Keys"][0]: g["Metrics"]["UnblendedCost"]["Amount"]
        for result in answer["ResultsByTime"]
        for g in result["Groups"]
    }
    assert groups == {"i-1": "2", "NoResourceId": "0.5"}
    assert answer["GroupDefinitions"] == [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]


@pytest.mark.parametrize(
    ("request_parts", "code"),
    [
        ({"TimePeriod": period(2), "Filter": USAGE}, "ValidationException"),  # no RESOURCE_ID
        (
            {"TimePeriod": period(15), "Filter": USAGE,
             "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]},
            "DataUnavailableException",
        ),  # older than 14 days
        (
            {"TimePeriod": period(2), "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}],
             "Filter": {"Tags": {"Key": "team", "Values": ["web"]}}},
            "ValidationException",
        ),  # not filtered here: refused, never ignored
    ],
)  # fmt: skip
def test_it_refuses_what_cost_explorer_refuses(proxy, key, request_parts, code):
    with pytest.raises(ClientError) as refused:
        ce(proxy, key).get_cost_and_usage_with_resources(
            Granularity="DAILY", Metrics=["UnblendedCost"], **request_parts
        )
    assert refused.value.response["Error"]["Code"] == code


def test_the_adapter_reads_the_last_14_days_per_resource_across_pages(proxy, key):
    rows = [
        {"date": TODAY - timedelta(days=n), "service": service, "region": "us-east-1",
         "cost": "1.5", "resource_id": rid}
        for n in range(0, 20)
        for service, rid in ((EC2, "i-1"), (EC2, "i-2"), ("Amazon Simple Storage Service", "logs"))
    ]  # fmt: skip
    proxy.add_costs(rows)
    proxy.page_size = 4  # a page per day or so
    reader = AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1]),
        Endpoints(aws_endpoint_url=proxy.url, retries=0),
    )

    records = reader.resource_costs(TODAY - timedelta(days=60), TODAY + timedelta(days=1))

    assert {r.date for r in records} == {TODAY - timedelta(days=n) for n in range(14)}
    assert {r.resource_id for r in records} == {"i-1", "i-2", "arn:aws:s3:::logs"}
    assert sum(r.amount for r in records) == Decimal("1.5") * 3 * 14


def test_the_adapter_says_when_resource_level_data_is_not_enabled(proxy, key):
    proxy.resource_level = False
    reader = AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1]),
        Endpoints(aws_endpoint_url=proxy.url, retries=0),
    )
    with pytest.raises(CloudError, match="enable it in the Cost Explorer settings"):
        reader.resource_costs(TODAY - timedelta(days=3), TODAY)
