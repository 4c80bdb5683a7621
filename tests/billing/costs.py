"""Cost rows for billing tests, written through the real import write path."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.services.imports import cost_records_replace
from inventory.models import CloudAccount
from mcloud.clouds.base import CostRecord


def daily(
    account: CloudAccount,
    start: date,
    days: int,
    amount: str,
    *,
    service: str = "EC2",
    currency: str = "USD",
    region: str = "eu-west-1",
    resource_id: str = "",
) -> list[CostRecord]:
    records = [
        CostRecord(
            date=start + timedelta(days=n),
            service=service,
            amount=Decimal(amount),
            currency=currency,
            region=region,
            resource_id=resource_id,
        )
        for n in range(days)
    ]
    return records


def store(account: CloudAccount, records: list[CostRecord]) -> None:
    """Replace the account's costs over the records' span with exactly these."""
    first = min(r.date for r in records)
    last = max(r.date for r in records)
    cost_records_replace(
        account=account, start=first, end=last + timedelta(days=1), records=records
    )
