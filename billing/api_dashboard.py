"""API: the dashboard's figures in one call. Inventory's and billing's figures together, so it
lives in billing, the app that may read both; each figure comes from the selector of the app
that owns it, the same the dashboard's tiles use."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from ninja import Router, Schema

from accounts.tenancy import ApiRequest
from billing.money import round_amount
from billing.selectors import billing_settings, provider_costs
from inventory.selectors import cloud_account_list, resource_figures
from mcloud.api.errors import responses

router = Router(tags=["dashboard"])


class AccountHealthOut(Schema):
    id: int
    name: str
    provider: str
    status: str
    response_ms: int | None
    message: str
    checked_at: datetime | None


class DashboardStatsOut(Schema):
    total_resources: int
    running_vms: int
    stopped_vms: int
    storage_resources: int
    resources_by_provider: dict[str, int]
    resources_by_type: dict[str, int]
    currency: str
    month_to_date: dict[str, Decimal]
    month_to_date_total: Decimal | None
    forecast_total: Decimal | None
    cost_by_provider: dict[str, Decimal | None]
    last_synced_at: datetime | None
    accounts: list[AccountHealthOut]


@router.get("/dashboard/stats", response=responses(DashboardStatsOut))
def stats(request: ApiRequest) -> dict:
    organization = request.organization
    resources = resource_figures(organization=organization)
    accounts = list(cloud_account_list(organization=organization))
    currency = billing_settings(organization).currency
    costs = provider_costs(organization=organization, today=timezone.localdate())
    summary, providers = costs if costs else (None, [])
    return {
        "total_resources": resources.counts["total"],
        "running_vms": resources.counts["running_vms"],
        "stopped_vms": resources.counts["stopped_vms"],
        "storage_resources": resources.counts["storage"],
        "resources_by_provider": resources.by_provider,
        "resources_by_type": resources.by_type,
        "currency": currency,
        # Rounded to the currency's minor unit, as every amount the API answers.
        "month_to_date": summary.month_to_date.rounded() if summary else {},
        "month_to_date_total": _rounded(summary.total(summary.month_to_date), currency)
        if summary
        else None,
        "forecast_total": _rounded(summary.total(summary.forecast), currency) if summary else None,
        "cost_by_provider": {r["key"]: _rounded(r["total"], currency) for r in providers},
        "last_synced_at": max(
            (a.last_synced_at for a in accounts if a.last_synced_at), default=None
        ),
        "accounts": [
            {
                "id": a.pk,
                "name": a.name,
                "provider": a.provider,
                "status": a.state,
                "response_ms": a.latest_health.response_ms if a.latest_health else None,
                "message": a.latest_health.message if a.latest_health else "",
                "checked_at": a.latest_health.checked_at if a.latest_health else None,
            }
            for a in accounts
        ],
    }


def _rounded(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else round_amount(value, currency)
