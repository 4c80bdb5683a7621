"""AWS costs from Cost Explorer: daily unblended costs per service and region."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.aws.session import DEFAULT_REGION
from mcloud.clouds.base import CostRecord

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
