"""Cost rows for billing tests, written through the real import write path."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.models import BillingSettings
from billing.services.imports import cost_records_replace, tag_costs_replace
from billing.services.resource_costs import resource_costs_replace
from inventory.models import CloudAccount
from mcloud.clouds.base import CostRecord, TagCostRecord


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
    """Replace the account's costs over the records' span with exactly these (and its costs
    per resource with those that name one, as an import from Azure or GCP does)."""
    first = min(r.date for r in records)
    end = max(r.date for r in records) + timedelta(days=1)
    cost_records_replace(account=account, start=first, end=end, records=records)
    resource_costs_replace(account=account, start=first, end=end, records=None)


def store_by_tag(account: CloudAccount, day: date, key: str, amounts: dict[str, str]) -> None:
    """The organization allocates by `key` (among its keys), and the account's costs of `day`
    by it are `amounts` per value ("" untagged), through the import's write path."""
    settings = BillingSettings.stored(account.organization)
    keys = [*dict.fromkeys([*settings.allocation_keys, key])]
    BillingSettings.objects.filter(pk=settings.pk).update(allocation_keys=keys)
    records = [
        TagCostRecord(date=day, key=key, value=value, amount=Decimal(amount), currency="USD")
        for value, amount in amounts.items()
    ]
    tag_costs_replace(
        account=account, start=day, end=day + timedelta(days=1), keys=keys, records=records
    )
