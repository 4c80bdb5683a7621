"""The AWS adapter's costs: boto3's Cost Explorer client against moto's server (IAM auth on),
with moto's queued static results as Cost Explorer's answers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import boto3
import pytest
import requests

from emulators.aws import ACCOUNT_ID
from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints

GROUPS = [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"}]
READ_ONLY_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
    }
)


def adapter(aws, key: tuple[str, str]) -> AwsAdapter:
    return AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1]),
        Endpoints(aws_endpoint_url=aws.url, retries=0),
    )


def day(start: str, end: str, *groups: tuple[str, str, str], estimated: bool = False) -> dict:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": [
            {
                "Keys": [service, region],
                "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
            }
            for service, region, amount in groups
        ],
        "Estimated": estimated,
    }


def seed(aws, *results: dict) -> None:
    """Queue Cost Explorer answers: each distinct request takes the next one (and keeps it)."""
    answer = requests.post(
        f"{aws.url}/moto-api/static/ce/cost-and-usage-results",
        json={"results": list(results), "account_id": ACCOUNT_ID},
        timeout=10,
    )
    assert answer.status_code == 201


def test_it_reads_every_day_service_and_region_across_pages(aws):
    ec2 = "Amazon Elastic Compute Cloud - Compute"
    first_page = {
        "GroupDefinitions": GROUPS,
        "ResultsByTime": [
            day(
                "2026-10-01",
                "2026-10-02",
                (ec2, "us-east-1", "12.3456789012"),
                (ec2, "eu-west-1", "0"),  # kept: the importer decides
                ("Amazon Simple Storage Service", "us-east-1", "0.0101516483"),
            ),
            day("2026-10-02", "2026-10-03", (ec2, "us-east-1", "11.5")),
        ],
        "DimensionValueAttributes": [],
        "NextPageToken": "page-2",
    }
    second_page = {
        "GroupDefinitions": GROUPS,
        "ResultsByTime": [
            day("2026-10-02", "2026-10-03", ("Tax", "NoRegion", "3.10")),
            day("2026-10-03", "2026-10-04", estimated=True),  # a day without costs
        ],
        "DimensionValueAttributes": [],
    }
    seed(aws, first_page, second_page)

    records = adapter(aws, aws.create_user_key("reader")).costs(
        date(2026, 10, 1), date(2026, 10, 4)
    )

    assert [(r.date, r.service, r.region, r.amount, r.currency) for r in records] == [
        (date(2026, 10, 1), ec2, "us-east-1", Decimal("12.3456789012"), "USD"),
        (date(2026, 10, 1), ec2, "eu-west-1", Decimal("0"), "USD"),
        (
            date(2026, 10, 1),
            "Amazon Simple Storage Service",
            "us-east-1",
            Decimal("0.0101516483"),
            "USD",
        ),
        (date(2026, 10, 2), ec2, "us-east-1", Decimal("11.5"), "USD"),
        (date(2026, 10, 2), "Tax", "", Decimal("3.10"), "USD"),  # NoRegion: no region
    ]
    assert all(isinstance(r.amount, Decimal) for r in records)
    assert {r.metadata["estimated"] for r in records} == {False}


def test_an_empty_period_asks_nothing(aws):
    seed(aws, {"ResultsByTime": [day("2026-10-01", "2026-10-02", ("X", "us-east-1", "1"))]})
    reader = adapter(aws, aws.create_user_key("reader"))
    assert reader.costs(date(2026, 10, 2), date(2026, 10, 2)) == []
    assert reader.costs(date(2026, 10, 1), date(2026, 10, 2))  # the queued answer is unused


def test_a_bad_key_is_a_permanent_error(aws):
    with pytest.raises(CloudError) as caught:
        adapter(aws, ("AKIAIOSFODNN7EXAMPLE", "not-the-secret")).costs(
            date(2026, 10, 1), date(2026, 10, 2)
        )
    # Real Cost Explorer says UnrecognizedClientException; moto answers JSON services' auth
    # errors in XML, which botocore reads as code "403". Permanent either way.
    assert caught.value.permanent
    assert caught.value.code in ("UnrecognizedClientException", "InvalidClientTokenId", "403")


def test_a_key_without_cost_explorer_access_is_a_permanent_error(aws):
    key = aws.create_user_key("ec2-only", READ_ONLY_EC2)
    with pytest.raises(CloudError) as caught:
        adapter(aws, key).costs(date(2026, 10, 1), date(2026, 10, 2))
    assert caught.value.permanent
    assert "Cost Explorer" in caught.value.message


def test_the_sandbox_answers_cost_explorer_for_its_three_months():
    """The sandbox's AWS endpoint answers GetCostAndUsage for any period of its three months
    (moto's queued answers could not), and forwards everything else to moto."""
    from emulators import estate
    from emulators.estate_servers import Sandbox

    with Sandbox() as box:
        box.aws_costs.page_size = 40  # groups per page: 15 a day, so several pages
        aws = requests.get(f"{box.url}/sandbox.json", timeout=10).json()["aws"]
        key = (aws["access_key_id"], aws["secret_access_key"])
        ce = boto3.client(
            "ce",
            region_name="us-east-1",
            endpoint_url=aws["endpoint"],
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
        )
        days = estate.cost_days()
        start, end = days[10], days[24]  # two weeks inside the three months
        query = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": ["UnblendedCost"],
            "GroupBy": GROUPS,
        }
        pages = [ce.get_cost_and_usage(**query)]
        while token := pages[-1].get("NextPageToken"):
            pages.append(ce.get_cost_and_usage(**query, NextPageToken=token))
        records = AwsAdapter(  # the same through the adapter
            AwsCredentials(access_key_id=key[0], secret_access_key=key[1]),
            Endpoints(aws_endpoint_url=aws["endpoint"], retries=0),
        ).costs(start, end)
        identity = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=aws["endpoint"],
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
        ).get_caller_identity()
        assert aws["endpoint"] == box.aws_costs.url

    assert identity["Arn"].endswith(":user/sandbox-reader")  # moto, through the proxy
    assert len(pages) > 2
    periods = [p for page in pages for p in page["ResultsByTime"]]
    assert [p["TimePeriod"]["Start"] for p in periods] == [
        (start + timedelta(days=n)).isoformat() for n in range(14)
    ]
    compute = {}
    for period in periods:
        keys = {tuple(g["Keys"]): g["Metrics"]["UnblendedCost"] for g in period["Groups"]}
        assert {r for _, r in keys} == set(estate.AWS_REGIONS)
        assert {s for s, _ in keys} == {
            estate.EC2_COMPUTE,
            estate.EC2_OTHER,
            "Amazon Relational Database Service",
            "Amazon Simple Storage Service",
            "AmazonCloudWatch",
        }
        assert all(Decimal(m["Amount"]) > 0 and m["Unit"] == "USD" for m in keys.values())
        day = date.fromisoformat(period["TimePeriod"]["Start"])
        compute[day] = sum(
            Decimal(m["Amount"]) for (s, _), m in keys.items() if s == estate.EC2_COMPUTE
        )
    weekdays = [v for d, v in compute.items() if d.weekday() < 5]
    weekends = [v for d, v in compute.items() if d.weekday() >= 5]
    assert max(weekends) < min(weekdays)  # dev and staging machines rest at weekends
    assert len(records) == 14 * 15
    assert sum(r.amount for r in records) == sum(
        Decimal(g["Metrics"]["UnblendedCost"]["Amount"]) for p in periods for g in p["Groups"]
    )
