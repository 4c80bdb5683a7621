"""AWS costs from Cost Explorer: daily unblended costs per service and region, and per value
of each cost allocation tag key; on an organization's consolidated bill, per linked account too.

Cost Explorer groups by two keys at most. A connection that discovers its organization's
members reads its bill per linked account (`by_account`) without losing the region: one
small query lists the regions with costs in the period (MONTHLY, grouped by REGION), then one
query per region filtered on it, grouped by LINKED_ACCOUNT and SERVICE, and one more for the
costs of no region ("NoRegion": tax, support) as what no listed region filters. Each query
is paged and charged by Cost Explorer: 2 + regions requests at least, where a connection that
does not discover members sends 1. Every record names its linked account (`member_id`),
"" for the account the connection signs in to (from STS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import error_code, translate_errors
from mcloud.clouds.aws.session import DEFAULT_REGION
from mcloud.clouds.base import CloudError, CostRecord, TagCostRecord

COST_METRIC = "UnblendedCost"
NO_REGION = "NoRegion"
LINKED = {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}


def costs(
    client: Callable[[str, str], Any], start: date, end: date, *, by_account: bool = False
) -> list[CostRecord]:
    """Daily unblended costs from `start` to `end` (exclusive) per service and region, from
    Cost Explorer (through `client(service, region)`), paged to the end; with `by_account`,
    per linked account too (see the module docstring). Zero amounts are kept (the importer
    decides).

    Cost Explorer is global (its endpoint is in us-east-1) and charges for every request,
    pages included. Costs without a region (tax, support) come as "NoRegion": region ""."""
    if start >= end:
        return []  # Cost Explorer refuses an empty period
    ce = client("ce", DEFAULT_REGION)
    if by_account:
        return _costs_by_account(ce, own_account(client), start, end)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [COST_METRIC],
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "DIMENSION", "Key": "REGION"},
        ],
    }
    with translate_errors("read the costs from Cost Explorer"):
        return [
            CostRecord(
                date=day,
                service=service,
                amount=Decimal(str(metric["Amount"])),
                currency=metric.get("Unit", ""),
                region="" if region == NO_REGION else region,
                metadata={"estimated": estimated},
            )
            for day, estimated, keys, metric in _groups(ce, request)
            for service, region in [[*keys, "", ""][:2]]
        ]


def own_account(client: Callable[[str, str], Any]) -> str:
    """The id of the account the connection signs in to (STS GetCallerIdentity)."""
    with translate_errors("identify the account"):
        return str(client("sts", DEFAULT_REGION).get_caller_identity().get("Account") or "")


def _groups(ce: Any, request: dict[str, Any]) -> Iterator[tuple[date, bool, list[str], Any]]:
    """(day, estimated, keys, metric) of every group of a GetCostAndUsage query, paged to
    the end."""
    request = dict(request)
    while True:
        page = ce.get_cost_and_usage(**request)
        for period in page.get("ResultsByTime", []):
            day = date.fromisoformat(period["TimePeriod"]["Start"])
            estimated = bool(period.get("Estimated", False))
            for group in period.get("Groups", []):
                keys = [str(k) for k in group.get("Keys") or []]
                yield day, estimated, keys, group["Metrics"][COST_METRIC]
        token = page.get("NextPageToken")
        if not token:
            return
        request["NextPageToken"] = token


def _costs_by_account(ce: Any, own: str, start: date, end: date) -> list[CostRecord]:
    """The consolidated bill per linked account, service and region (the module docstring
    says how)."""
    period = {"Start": start.isoformat(), "End": end.isoformat()}
    regions_query = {
        "TimePeriod": period,
        "Granularity": "MONTHLY",
        "Metrics": [COST_METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "REGION"}],
    }
    records: list[CostRecord] = []
    with translate_errors("read the costs per linked account from Cost Explorer"):
        regions = sorted({keys[0] for _, _, keys, _ in _groups(ce, regions_query) if keys})
        named = [r for r in regions if r != NO_REGION]
        filters: list[tuple[str, dict[str, Any] | None]] = [
            (r, {"Dimensions": {"Key": "REGION", "Values": [r]}}) for r in named
        ]
        if NO_REGION in regions:  # what no listed region filters: the costs of no region
            rest = {"Not": {"Dimensions": {"Key": "REGION", "Values": named}}}
            filters.append(("", rest if named else None))
        for region, expression in filters:
            request: dict[str, Any] = {
                "TimePeriod": period,
                "Granularity": "DAILY",
                "Metrics": [COST_METRIC],
                "GroupBy": [LINKED, {"Type": "DIMENSION", "Key": "SERVICE"}],
            }
            if expression is not None:
                request["Filter"] = expression
            for day, estimated, keys, metric in _groups(ce, request):
                linked, service = [*keys, "", ""][:2]
                records.append(
                    CostRecord(
                        date=day,
                        service=service,
                        amount=Decimal(str(metric["Amount"])),
                        currency=metric.get("Unit", ""),
                        region=region,
                        metadata={"estimated": estimated},
                        member_id="" if linked == own else linked,
                    )
                )
    return records


def tag_costs(
    client: Callable[[str, str], Any],
    start: date,
    end: date,
    keys: list[str],
    *,
    by_account: bool = False,
) -> list[TagCostRecord]:
    """Daily unblended costs from `start` to `end` (exclusive) per value of each tag key: one
    Cost Explorer query per key grouped by TAG (and by LINKED_ACCOUNT with `by_account`:
    records name their linked account as `costs` does), paged to the end.

    Cost Explorer answers each group's key as `key$value`, and `key$` for the cost of
    resources without the tag (AWS's "No tag key"): value "". Only tags activated as cost
    allocation tags in the payer account are grouped; an inactive key's cost is all untagged.
    """
    if start >= end or not keys:
        return []
    ce = client("ce", DEFAULT_REGION)
    own = own_account(client) if by_account else ""
    records: list[TagCostRecord] = []
    for key in keys:
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": [COST_METRIC],
            "GroupBy": [{"Type": "TAG", "Key": key}, *([LINKED] if by_account else [])],
        }
        with translate_errors(f"read the costs by tag {key} from Cost Explorer"):
            for day, _, group_keys, metric in _groups(ce, request):
                tagged, linked = [*group_keys, "", ""][:2]
                _, _, value = tagged.partition("$")
                records.append(
                    TagCostRecord(
                        date=day,
                        key=key,
                        value=value,
                        amount=Decimal(str(metric["Amount"])),
                        currency=metric.get("Unit", ""),
                        member_id="" if not by_account or linked == own else linked,
                    )
                )
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
