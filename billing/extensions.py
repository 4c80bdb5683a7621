"""What billing adds to the inventory's pages: the cost tiles of the dashboard, a budget
alerts tile, a cost anomalies tile, a resource's costs (this month, last month, its last 90
days), an account's cost this month (a member's own share of its organization's bill), what
a set of resources costs this month (a deployment's cost, for provisioning), an import after
each "Sync now", and the sandbox's costs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from accounts.tenancy import OrgRequest
from billing.charts import sparkline
from billing.models import Anomaly, BudgetAlert, CostDaily, CostData
from billing.money import Money
from billing.resource_history import resource_cost_history, resources_cost_this_month
from billing.selectors import (
    FindingFilters,
    anomaly_list,
    cost_summary,
    daily_totals,
    finding_list,
    finding_totals,
    provider_costs,
)
from inventory.extensions import (
    AccountPanel,
    ResourcePanel,
    Tile,
    register_account_panel,
    register_action_followup,
    register_resource_panel,
    register_resources_cost,
    register_sandbox_step,
    register_sync_completion,
    register_sync_followup,
    register_tile,
)
from inventory.models import CloudAccount
from inventory.tiles import bars
from mcloud.clouds.base import CLEANUP_ACTIONS


def _has_costs(request: OrgRequest) -> bool:
    return CostData.objects.filter(organization=request.organization).exists()


SPARKLINE_DAYS = 30


def cost_mtd(request: OrgRequest) -> dict[str, Any]:
    """Month to date, its forecast, and a sparkline of the last 30 days' daily cost."""
    if not _has_costs(request):
        return {"no_cost_data": True}
    today = timezone.localdate()
    summary = cost_summary(organization=request.organization, today=today)
    start = today - timedelta(days=SPARKLINE_DAYS - 1)
    days = daily_totals(
        organization=request.organization,
        start=start,
        end=today + timedelta(days=1),
        currency=summary.currency,
        rates=summary.rates,
    )
    return {
        "summary": summary,
        "sparkline": {
            "points": sparkline(days),
            "total": sum(days, Decimal(0)),
            "start": start,
            "peak": max(days),
        },
    }


def cost_by_provider(request: OrgRequest) -> dict[str, Any]:
    figures = provider_costs(organization=request.organization, today=timezone.localdate())
    if figures is None:
        return {"no_cost_data": True}
    summary, rows = figures
    return {"charts": provider_charts(rows, summary.currency, summary.rates), "summary": summary}


def provider_charts(
    rows: list[dict[str, Any]], currency: str, rates: dict[str, float]
) -> list[dict[str, Any]]:
    """One bar chart per currency: amounts converted to the organization's currency where a
    rate is set, and one chart for each currency without a rate, so that no amount is
    dropped or summed with another currency (a provider billing in two shows in both)."""
    per_currency: dict[str, list[tuple[str, Decimal, str]]] = {}
    for row in rows:
        for code, value in row["money"].in_currency(currency, rates).parts():
            per_currency.setdefault(code, []).append((row["label"], value, row["key"]))
    order = sorted(per_currency, key=lambda code: (code != currency, code))
    return [
        {
            "currency": code,
            "bars": [
                {**b, "display": f"{b['value']:,.2f} {code}"}
                for b in bars(sorted(per_currency[code], key=lambda item: -item[1]))
            ],
        }
        for code in order
    ]


TILE_ALERTS = 5


def budget_alerts(request: OrgRequest) -> dict[str, Any]:
    """The newest open alerts, and how many more there are beyond them."""
    open_alerts = BudgetAlert.objects.filter(
        organization=request.organization, acknowledged_at__isnull=True
    )
    alerts = list(open_alerts.select_related("budget").order_by("-created_at")[:TILE_ALERTS])
    more = open_alerts.count() - len(alerts) if len(alerts) == TILE_ALERTS else 0
    return {"alerts": alerts, "more": more}


def cost_anomalies(request: OrgRequest) -> dict[str, Any]:
    """The newest open anomalies, and how many more are open beyond them."""
    rows = anomaly_list(organization=request.organization, state=Anomaly.State.OPEN)
    anomalies = list(rows[:TILE_ALERTS])
    return {"anomalies": anomalies, "more": rows.count() - len(anomalies) if anomalies else 0}


def savings(request: OrgRequest) -> dict[str, Any]:
    """The estimated monthly saving of the open waste findings, per rule."""
    rows = finding_list(organization=request.organization, filters=FindingFilters())
    total, per_rule = finding_totals(rows)
    return {"total": total, "per_rule": per_rule}


def resource_cost(request: OrgRequest, resource: Any) -> dict[str, Any] | None:
    """The resource's billed costs (this month, last month, a 90-day sparkline), or its
    list-price estimate when no bill names it; None when neither is known."""
    history = resource_cost_history(resource=resource, today=timezone.localdate())
    if history is None and not resource.cost_basis:
        return None
    return {"history": history}


def account_cost(request: OrgRequest, account: CloudAccount) -> dict[str, Any] | None:
    """The account's cost this month (a member's own share of its organization's bill), and
    what of it a connection holds for accounts of its organization not discovered or
    excluded, from one query; None when it has none."""
    today = timezone.localdate()
    rows = (
        CostDaily.objects.filter(account=account, date__gte=today.replace(day=1), date__lte=today)
        .values_list("currency", "member_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    month, held = Money(), Money()
    for currency, member_id, total in rows:
        month.add(currency, total)
        if member_id:
            held.add(currency, total)
    if not month.amounts:
        return None
    return {"account": account, "month": month, "held": held}


def import_after_sync(account: CloudAccount, run: Any) -> None:
    from billing.services.imports import cost_import_queue

    cost_import_queue(account=account)


def waste_after_sync(account: CloudAccount, run: Any) -> None:
    from billing.services.waste import refresh_after_sync

    refresh_after_sync(account, run)


# The tag keys the sandbox's costs are allocated by (its estate tags team and env).
SANDBOX_ALLOCATION_KEYS = ["team", "env"]


def sandbox_costs(organization: Any, owner: Any) -> str:
    """The sandbox's costs, and its costs by the estate's allocation tags (chosen for it,
    as its owner, unless keys were chosen already)."""
    from billing.models import BillingSettings
    from billing.services.imports import cost_import  # evaluates the budgets too
    from billing.services.settings import allocation_keys_save

    if not BillingSettings.stored(organization).allocation_keys:
        allocation_keys_save(organization=organization, keys=SANDBOX_ALLOCATION_KEYS, user=owner)
    rows = 0
    for account in CloudAccount.objects.filter(organization=organization, is_sandbox=True):
        run = cost_import(account=account)
        rows += run.rows if run else 0
    return f"costs: {rows:,} daily rows imported"


def waste(request: OrgRequest, resource: Any) -> dict[str, Any] | None:
    from billing.removals import waste_panel  # it imports the inventory's action services

    return waste_panel(request, resource)


def waste_after_cleanup(run: Any) -> None:
    """A clean-up removed (or found gone) a finding's resource: the findings follow at once,
    so the Savings page and its total no longer count it."""
    from billing.services.waste import findings_refresh

    if run.action in CLEANUP_ACTIONS:
        findings_refresh(organization=run.resource.organization)


def register() -> None:
    register_tile(Tile("cost_mtd", "Month to date", "billing/tiles/cost_mtd.html", cost_mtd))
    register_tile(
        Tile(
            "cost_by_provider",
            "Cost by provider, this month",
            "billing/tiles/cost_by_provider.html",
            cost_by_provider,
            width="col-lg-6",
        )
    )
    register_tile(
        Tile(
            "budget_alerts",
            "Budget alerts",
            "billing/tiles/alerts.html",
            budget_alerts,
            width="col-lg-6",
        )
    )
    register_tile(
        Tile(
            "cost_anomalies",
            "Cost anomalies",
            "billing/tiles/anomalies.html",
            cost_anomalies,
            width="col-lg-6",
        )
    )
    register_tile(Tile("savings", "Savings (estimate)", "billing/tiles/savings.html", savings))
    register_resource_panel(
        ResourcePanel("cost", "billing/panels/resource_cost.html", resource_cost)
    )
    register_resource_panel(ResourcePanel("waste", "billing/panels/resource_waste.html", waste))
    register_account_panel(AccountPanel("cost", "billing/panels/account_cost.html", account_cost))
    register_resources_cost(resources_cost_this_month)
    register_sync_followup("billing", import_after_sync)
    register_sync_completion("waste", waste_after_sync)
    register_action_followup("waste", waste_after_cleanup)
    register_sandbox_step("billing", sandbox_costs)
