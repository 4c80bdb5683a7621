"""What each resource costs: its daily costs (`CostResourceDaily`) and the inventory's
"cost / month" figure (`Resource.monthly_cost`), both written by every cost import.

- Daily costs per resource come from the provider's own resource-level query where it has one
  apart from the bill by service (`mcloud.clouds.base.ResourceCosts`: AWS Cost Explorer's
  resource-level data, which must be enabled in the payer account and reaches back 14 days),
  else from the imported rows that name a resource (Azure Cost Management by ResourceId, a GCP
  detailed export). The days an import fetched are replaced; older days are kept, so the
  history grows past what the provider keeps.
- `monthly_cost` is what the resource was billed over the last 30 full days (before today),
  scaled up to 30 days where fewer are stored yet (AWS's first import holds 14), with
  `cost_basis` "billed". A live resource without a billed figure gets its list-price estimate
  (`Resource.monthly_estimate`, which the inventory takes from the price catalog at each sync:
  730 hours, USD) with `cost_basis` "estimate", except a VM or database that is not running
  (it pays for no compute); any other shows none. The figures of the resources of the
  account and of its member accounts (whose costs the connection imports) are written; each
  row only when its figure changed, and the tallies of the scopes that changed (the list's
  totals add those up).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Min, Q, Sum

from billing.models import CostData, CostResourceDaily
from inventory.models import CloudAccount, CostBasis, Resource
from inventory.services.ingest import tallies_rewrite
from mcloud.bulk_insert import rows_insert
from mcloud.clouds.base import CostRecord

logger = logging.getLogger(__name__)
BATCH = 2000
WINDOW_DAYS = 30  # the billed figure's period: the last 30 full days
ESTIMATE_CURRENCY = "USD"  # the price catalog's
# Kinds whose list price is for running: estimated only in these statuses.
COMPUTE_TYPES = frozenset({"vm", "database"})
RUNNING_STATUSES = frozenset({"running", "available"})
CENT = Decimal("0.01")


def resource_costs_replace(
    *, account: CloudAccount, start: date, end: date, records: Iterable[CostRecord] | None
) -> int:
    """Make the account's stored daily costs per resource of [start, end) exactly `records`
    (summed per resource, day and currency), or, when `records` is None, the sums of its
    imported rows of those days that name a resource. Call it in a transaction, after the
    imported rows of the window are written."""
    CostResourceDaily.objects.filter(account=account, date__gte=start, date__lt=end).delete()
    sums: dict[tuple[str, date, str], Decimal] = {}
    if records is None:
        grouped = (
            CostData.objects.filter(account=account, date__gte=start, date__lt=end)
            .exclude(resource_id="")
            .values_list("resource_id", "date", "currency")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        sums = {(rid, day, currency): total for rid, day, currency, total in grouped}
    else:
        for r in records:
            if not r.resource_id or not start <= r.date < end:
                continue
            key = (r.resource_id[:500].lower(), r.date, r.currency)
            sums[key] = sums.get(key, Decimal(0)) + r.amount
    return rows_insert(
        CostResourceDaily,
        ("organization", "account", "provider", "resource_id", "date", "currency", "amount"),
        (
            (account.organization_id, account.pk, account.provider, rid, day, currency, amount)
            for (rid, day, currency), amount in sums.items()
        ),
    )


def billed_per_month(*, account: CloudAccount, today: date) -> dict[str, tuple[Decimal, str]]:
    """Lower-case provider id -> (cost of the last 30 full days, currency) of each resource
    the account's stored costs name, scaled to 30 days when fewer days are stored. A
    resource billed in two currencies keeps the larger."""
    start = today - timedelta(days=WINDOW_DAYS)
    rows = CostResourceDaily.objects.filter(account=account, date__gte=start, date__lt=today)
    first = rows.aggregate(first=Min("date"))["first"]
    if first is None:
        return {}
    scale = Decimal(WINDOW_DAYS) / Decimal((today - first).days)
    billed: dict[str, tuple[Decimal, str]] = {}
    grouped = rows.values_list("resource_id", "currency").annotate(total=Sum("amount")).order_by()
    for rid, currency, total in grouped:
        amount = (total * scale).quantize(CENT, rounding=ROUND_HALF_UP)
        if rid not in billed or amount > billed[rid][0]:
            billed[rid] = (amount, currency)
    return billed


def estimate_per_month(
    *, estimate: Decimal | None, type: str, status: str, deleted: bool
) -> Decimal | None:
    """The "cost / month" estimate of a resource without a bill: its list-price estimate,
    if it is live and (for a VM or database) running; None otherwise."""
    if estimate is None or deleted or estimate <= 0:
        return None
    if type in COMPUTE_TYPES and status not in RUNNING_STATUSES:
        return None
    return estimate.quantize(CENT, rounding=ROUND_HALF_UP)


def resource_figures_refresh(*, account: CloudAccount, today: date) -> int:
    """Write the "cost / month" of the resources of the account and its members from the
    stored costs (see the module docstring). Returns how many rows changed."""
    billed = billed_per_month(account=account, today=today)
    rows = (
        Resource.objects.filter(Q(account=account) | Q(account__parent=account))
        .values_list(
            "pk",
            "account_id",
            "scope",
            "resource_id",
            "type",
            "status",
            "deleted_at",
            "monthly_estimate",
            "monthly_cost",
            "cost_currency",
            "cost_basis",
        )
        .order_by()
    )
    changed: list[Resource] = []
    scopes: dict[int, set[str]] = {}  # account id -> the scopes whose tallies changed
    for row in rows.iterator(BATCH):
        pk, owner, scope, rid, kind, status, deleted_at, listed, cost, currency, basis = row
        figure: tuple[Decimal, str, str] = (Decimal(0), "", "")
        if rid.lower() in billed:
            amount, code = billed[rid.lower()]
            figure = (amount, code, CostBasis.BILLED)
        else:
            estimate = estimate_per_month(
                estimate=listed, type=kind, status=status, deleted=deleted_at is not None
            )
            if estimate is not None:
                figure = (estimate, ESTIMATE_CURRENCY, CostBasis.ESTIMATE)
        if figure != (cost, currency, basis):
            scopes.setdefault(owner, set()).add(scope)
            changed.append(
                Resource(pk=pk, monthly_cost=figure[0], cost_currency=figure[1],
                         cost_basis=figure[2])
            )  # fmt: skip
    Resource.objects.bulk_update(
        changed, ["monthly_cost", "cost_currency", "cost_basis"], batch_size=500
    )
    for owner_account in CloudAccount.objects.filter(pk__in=scopes):
        tallies_rewrite(account=owner_account, scopes=scopes[owner_account.pk])
    return len(changed)
