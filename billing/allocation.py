"""Reads of the costs by allocation tag (showback): for one of the organization's tag keys,
the cost of each value with an explicit "untagged" bucket, the daily trend of the largest
values, and the tag coverage (the share of the cost that carries the key).

Everything comes from CostTagDaily, the providers' own grouping of their bills by each key,
in one grouped query, so a page costs the same few queries however many values a key has.
Each key's rows of an account add up to the account's whole cost, so coverage is the tagged
rows over all rows of the key. Accounts whose costs by the key have not been imported yet
(the key was just chosen) are counted apart: coverage says nothing of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from accounts.models import Organization
from billing.models import CostDaily, CostTagDaily
from billing.money import ZERO, Money

UNTAGGED = "untagged"  # the label (and API key) of the cost without the tag
TREND_TOP = 6  # values drawn apart in the trend; the rest are "Other"


@dataclass
class AllocationRow:
    value: str  # "" for the untagged bucket
    money: Money
    total: Decimal | None  # in the display currency; None when a currency has no rate
    share: float | None = None  # percent of the converted total

    @property
    def label(self) -> str:
        return self.value or UNTAGGED

    @property
    def untagged(self) -> bool:
        return not self.value


@dataclass
class Allocation:
    key: str
    currency: str
    rows: list[AllocationRow]  # tagged values by total, descending; the untagged bucket last
    total: Decimal  # converted; amounts without a rate are in left_out
    tagged: Decimal
    left_out: Money
    series: dict[str, Any]  # the daily trend, in `billing.charts.stacked_bars`' shape
    accounts_without: list[str] = field(default_factory=list)  # names: not imported yet

    @property
    def untagged_row(self) -> AllocationRow:
        return self.rows[-1]

    @property
    def coverage(self) -> float | None:
        """Percent of the cost that carries the key; None without any cost."""
        return float(self.tagged / self.total * 100) if self.total else None


def allocation(
    *,
    organization: Organization,
    key: str,
    start: date,
    end: date,
    currency: str,
    rates: dict[str, float],
    provider: str = "",
    account: int | None = None,
) -> Allocation:
    """The cost of [start, end) by the values of the tag `key`, in `currency` (amounts in
    a currency without a rate are left out of totals, shares and the trend, and counted)."""
    rows = CostTagDaily.objects.filter(
        organization=organization, key=key, date__gte=start, date__lt=end
    )
    costs = CostDaily.objects.filter(organization=organization, date__gte=start, date__lt=end)
    if provider:
        rows, costs = rows.filter(provider=provider), costs.filter(provider=provider)
    if account is not None:
        rows, costs = rows.filter(account_id=account), costs.filter(account_id=account)
    grouped = rows.values("date", "value", "currency").annotate(amount=Sum("amount")).order_by()
    by_value: dict[str, Money] = {"": Money()}
    per_day: dict[date, dict[str, Decimal]] = {}
    left_out = Money()
    for row in grouped:
        by_value.setdefault(row["value"], Money()).add(row["currency"], row["amount"])
        converted = Money({row["currency"]: row["amount"]}).converted(currency, rates)
        if converted is None:
            left_out.add(row["currency"], row["amount"])
            continue
        day = per_day.setdefault(row["date"], {})
        day[row["value"]] = day.get(row["value"], ZERO) + converted
    result = [
        AllocationRow(value, money, money.converted(currency, rates))
        for value, money in by_value.items()
    ]
    total = sum((r.total for r in result if r.total is not None), ZERO)
    for r in result:
        r.share = float(r.total / total * 100) if total and r.total is not None else None
    tagged_rows = sorted(
        (r for r in result if not r.untagged), key=lambda r: (-(r.total or ZERO), r.value)
    )
    untagged = next(r for r in result if r.untagged)
    tagged = sum((r.total for r in tagged_rows if r.total is not None), ZERO)
    # Accounts with costs in the period but none by this key: imported before it was chosen.
    without = (
        costs.exclude(account_id__in=rows.values("account_id"))
        .values_list("account__name", flat=True)
        .distinct()
        .order_by("account__name")
    )
    return Allocation(
        key=key,
        currency=currency,
        rows=[*tagged_rows, untagged],
        total=total,
        tagged=tagged,
        left_out=left_out,
        series=_series([r.value for r in tagged_rows], per_day, start, end),
        accounts_without=list(without),
    )


def _series(
    values: list[str], per_day: dict[date, dict[str, Decimal]], start: date, end: date
) -> dict[str, Any]:
    """Each day's cost of the TREND_TOP largest values, "Other" and untagged."""
    keep = values[:TREND_TOP]
    days = []
    day = start
    while day < end:
        amounts = per_day.get(day, {})
        other = sum((v for k, v in amounts.items() if k and k not in keep), ZERO)
        days.append(
            {
                "date": day,
                "values": [amounts.get(k, ZERO) for k in keep] + [other, amounts.get("", ZERO)],
                "total": sum(amounts.values(), ZERO),
            }
        )
        day += timedelta(days=1)
    return {
        "days": days,
        "groups": [*keep, "Other", UNTAGGED.capitalize()],
        "keys": [*keep, "other", UNTAGGED],
    }
