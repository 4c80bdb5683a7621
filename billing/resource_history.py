"""Reads of the costs per resource (`CostResourceDaily`): a resource's cost this month, last
month and its last 90 days (the resource page's card), and what a set of resources costs this
month (a deployment's cost, asked through `inventory.extensions.resources_cost`).

Resources are matched by their provider id in lower case within the organization, whichever
account holds the cost (an AWS connection keeps its members' costs per resource)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from billing.charts import sparkline
from billing.models import CostResourceDaily
from billing.money import ZERO, Money
from inventory.extensions import ResourcesCost
from inventory.models import Resource

HISTORY_DAYS = 90
MONTHS = 5  # the months before this one a set of resources' cost is given for


@dataclass(frozen=True)
class ResourceCostHistory:
    this_month: Money
    last_month: Money
    currency: str  # the sparkline's: the currency of most of the cost
    days: list[Decimal]  # daily cost in `currency`, oldest first, HISTORY_DAYS of them
    start: date

    @property
    def points(self) -> str:
        return sparkline(self.days)

    @property
    def total(self) -> Decimal:
        return sum(self.days, ZERO)

    @property
    def peak(self) -> Decimal:
        return max(self.days, default=ZERO)


def resource_cost_history(*, resource: Resource, today: date) -> ResourceCostHistory | None:
    """The resource's billed cost this month (to today), last month and each of the last 90
    days, from one query; None when no bill names it."""
    month = today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    start = today - timedelta(days=HISTORY_DAYS - 1)
    rows = list(
        CostResourceDaily.objects.filter(
            organization_id=resource.organization_id,
            resource_id=resource.resource_id.lower(),
            date__gte=min(start, last_month),
            date__lte=today,
        )
        .values_list("date", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    if not rows:
        return None
    this, last = Money(), Money()
    per_currency: dict[str, Decimal] = {}
    for day, currency, total in rows:
        if day >= month:
            this.add(currency, total)
        elif day >= last_month:
            last.add(currency, total)
        if day >= start:
            per_currency[currency] = per_currency.get(currency, ZERO) + total
    currency = max(per_currency, key=lambda code: per_currency[code], default=rows[0][1])
    daily = {day: total for day, code, total in rows if code == currency and day >= start}
    days = [daily.get(start + timedelta(days=n), ZERO) for n in range(HISTORY_DAYS)]
    return ResourceCostHistory(this, last, currency, days, start)


def resources_cost_this_month(
    organization_id: int, keys: Collection[str], today: date
) -> ResourcesCost:
    """What the resources (lower-case provider ids) of the organization were billed this
    month, to today, per currency, and how many of them the bill names; and each of the
    MONTHS months before it: one query."""
    month = today.replace(day=1)
    start = month
    for _ in range(MONTHS):
        start = (start - timedelta(days=1)).replace(day=1)
    rows = (
        CostResourceDaily.objects.filter(
            organization_id=organization_id,
            resource_id__in=list(keys),
            date__gte=start,
            date__lte=today,
        )
        .annotate(month=TruncMonth("date"))
        .values_list("month", "currency")
        .annotate(total=Sum("amount"), resources=Count("resource_id", distinct=True))
        .order_by()
    )
    amounts: dict[str, Decimal] = {}
    months: dict[date, dict[str, Decimal]] = {}
    billed = 0
    for first, currency, total, resources in rows:
        months.setdefault(first, {})[currency] = total
        if first == month:
            amounts[currency] = total
            billed = max(billed, resources)
    return ResourcesCost(
        amounts=amounts, billed=billed, months=tuple(sorted(months.items(), reverse=True))
    )
