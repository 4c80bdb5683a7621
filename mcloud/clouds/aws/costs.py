"""AWS costs from Cost Explorer: daily unblended costs per service and region, and per value
of each cost allocation tag key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import error_code, translate_errors
from mcloud.clouds.aws.session import DEFAULT_REGION
from mcloud.clouds.base import CloudError, CostRecord, TagCostRecord

COST_METRIC = "UnblendedCost"


def costs(client: Callable[[str, str], Any], start: date, end: date) -> list[CostRecord]:
    """Daily unblended costs from `start` to `end` (exclusive) per service and region, from
    Cost Explorer (through `client(service, region)`), paged to the end. Zero amounts are kept
    (the importer decides).

    Cost Explorer is global (its endpoint is in us-east-1) and charges for every request,
    pages included. Costs without a region (tax, support) come as "NoRegion": region ""."""
    if start >= end:
        return []  # Cost Explorer refuses an empty period
    ce = client("ce", DEFAULT_REGION)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [COST_METRIC],
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "DIMENSION", "Key": "REGION"},
        ],
    }
    records: list[CostRecord] = []
    with translate_errors("read the costs from Cost Explorer"):
        while True:
            page = ce.get_cost_and_usage(**request)
            for period in page.get("ResultsByTime", []):
                day = date.fromisoformat(period["TimePeriod"]["Start"])
                estimated = bool(period.get("Estimated", False))
                for group in period.get("Groups", []):
                    service, region = [*group["Keys"], "", ""][:2]
                    metric = group["Metrics"][COST_METRIC]
                    records.append(
                        CostRecord(
                            date=day,
                            service=service,
                            amount=Decimal(str(metric["Amount"])),
                            currency=metric.get("Unit", ""),
                            region="" if region == "NoRegion" else region,
                            metadata={"estimated": estimated},
                        )
                    )
            token = page.get("NextPageToken")
            if not token:
                return records
            request["NextPageToken"] = token


def tag_costs(
    client: Callable[[str, str], Any], start: date, end: date, keys: list[str]
) -> list[TagCostRecord]:
    """Daily unblended costs from `start` to `end` (exclusive) per value of each tag key: one
    Cost Explorer query per key grouped by TAG, paged to the end.

    Cost Explorer answers each group's key as `key$value`, and `key$` for the cost of
    resources without the tag (AWS's "No tag key"): value "". Only tags activated as cost
    allocation tags in the payer account are grouped; an inactive key's cost is all untagged.
    """
    if start >= end or not keys:
        return []
    ce = client("ce", DEFAULT_REGION)
    records: list[TagCostRecord] = []
    for key in keys:
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": [COST_METRIC],
            "GroupBy": [{"Type": "TAG", "Key": key}],
        }
        with translate_errors(f"read the costs by tag {key} from Cost Explorer"):
            while True:
                page = ce.get_cost_and_usage(**request)
                for period in page.get("ResultsByTime", []):
                    day = date.fromisoformat(period["TimePeriod"]["Start"])
                    for group in period.get("Groups", []):
                        _, _, value = str((group.get("Keys") or [""])[0]).partition("$")
                        metric = group["Metrics"][COST_METRIC]
                        records.append(
                            TagCostRecord(
                                date=day,
                                key=key,
                                value=value,
                                amount=Decimal(str(metric["Amount"])),
                                currency=metric.get("Unit", ""),
                            )
                        )
                token = page.get("NextPageToken")
                if not token:
                    break
                request["NextPageToken"] = token
    return records


RESOURCE_DAYS = 14  # Cost Explorer keeps resource-level data this many days
NOT_ENABLED = (
    "Cost Explorer has no resource-level data for this account: enable it in the Cost "
    "Explorer settings of the payer (management) account"
)
NO_RESOURCE = "NoResourceId"
S3 = "Amazon Simple Storage Service"


def resource_costs(client: Callable[[str, str], Any], start: date, end: date) -> list[CostRecord]:
    """Daily unblended usage costs per resource and service from `start` to `end`
    (exclusive), from Cost Explorer's `GetCostAndUsageWithResources`, paged to the end.

    Cost Explorer keeps resource-level data for RESOURCE_DAYS days and only once the payer
    account opted in to it (Cost Explorer settings); the period is cut to those days. The
    request must filter, so it filters on the Usage record type (the resources' own usage,
    not credits, tax or support). Costs of no resource (`NoResourceId`) are left out. S3
    names a bucket by its name: it becomes the bucket's ARN, as the inventory names it."""
    start = max(start, end - timedelta(days=RESOURCE_DAYS))
    if start >= end:
        return []
    ce = client("ce", DEFAULT_REGION)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [COST_METRIC],
        "Filter": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "RESOURCE_ID"},
            {"Type": "DIMENSION", "Key": "SERVICE"},
        ],
    }
    records: list[CostRecord] = []
    with translate_errors("read the costs per resource from Cost Explorer"):
        while True:
            try:
                page = ce.get_cost_and_usage_with_resources(**request)
            except ClientError as error:
                if error_code(error) == "DataUnavailableException":
                    raise CloudError(NOT_ENABLED, code="DataUnavailable") from None
                raise
            for period in page.get("ResultsByTime", []):
                day = date.fromisoformat(period["TimePeriod"]["Start"])
                for group in period.get("Groups", []):
                    resource, service = [*group["Keys"], "", ""][:2]
                    if not resource or resource == NO_RESOURCE:
                        continue
                    if service == S3 and not resource.startswith("arn:"):
                        resource = f"arn:aws:s3:::{resource}"
                    metric = group["Metrics"][COST_METRIC]
                    records.append(
                        CostRecord(
                            date=day,
                            service=service,
                            amount=Decimal(str(metric["Amount"])),
                            currency=metric.get("Unit", ""),
                            resource_id=resource,
                        )
                    )
            token = page.get("NextPageToken")
            if not token:
                return records
            request["NextPageToken"] = token
