"""API: the dashboard's figures in one call (inventory and billing together)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from billing.models import CostData
from billing.money import round_amount
from billing.selectors import CostFilters, billing_settings, breakdown, cost_summary
from inventory.models import CloudAccount, ResourceTally
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
def stats(request: HttpRequest) -> dict:
    tallies = ResourceTally.objects.filter(organization=request.organization, live=True)

    def total(**lookups: str) -> int:
        return tallies.filter(**lookups).aggregate(n=Sum("count"))["n"] or 0

    by = {
        field: dict(tallies.order_by().values_list(field).annotate(n=Sum("count")))
        for field in ("provider", "type")
    }
    accounts = list(
        CloudAccount.objects.filter(organization=request.organization)
        .select_related("latest_health")
        .defer("secrets")
    )
    today = timezone.localdate()
    settings = billing_settings(request.organization)
    has_costs = CostData.objects.filter(organization=request.organization).exists()
    summary = cost_summary(organization=request.organization, today=today) if has_costs else None
    providers = (
        breakdown(
            organization=request.organization,
            start=today.replace(day=1),
            end=today + timezone.timedelta(days=1),
            by="provider",
            filters=CostFilters(),
            currency=settings.currency,
            rates=settings.rates,
        )
        if has_costs
        else []
    )
    return {
        "total_resources": total(),
        "running_vms": total(type="vm", status="running"),
        "stopped_vms": total(type="vm", status="stopped"),
        "storage_resources": total(type="storage"),
        "resources_by_provider": by["provider"],
        "resources_by_type": by["type"],
        "currency": settings.currency,
        # Rounded to the currency's minor unit, as every amount the API answers.
        "month_to_date": summary.month_to_date.rounded() if summary else {},
        "month_to_date_total": _rounded(summary.total(summary.month_to_date), settings.currency)
        if summary
        else None,
        "forecast_total": _rounded(summary.total(summary.forecast), settings.currency)
        if summary
        else None,
        "cost_by_provider": {r["key"]: _rounded(r["total"], settings.currency) for r in providers},
        "last_synced_at": max(
            (a.last_synced_at for a in accounts if a.last_synced_at), default=None
        ),
        "accounts": [
            {
                "id": a.pk,
                "name": a.name,
                "provider": a.provider,
                "status": "disabled"
                if not a.enabled
                else "paused"
                if a.is_paused
                else (a.latest_health.status if a.latest_health else "unchecked"),
                "response_ms": a.latest_health.response_ms if a.latest_health else None,
                "message": a.latest_health.message if a.latest_health else "",
                "checked_at": a.latest_health.checked_at if a.latest_health else None,
            }
            for a in accounts
        ],
    }


def _rounded(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else round_amount(value, currency)
