"""API: cost figures, breakdowns, the daily series, costs by allocation tag, cost anomalies,
and budgets. The same selectors and role checks as the billing pages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import ApiRequest, get_for_org
from billing.allocation import UNTAGGED, allocation
from billing.forms import AllocationKeysForm, BudgetForm, CostSelectionForm
from billing.models import Anomaly, Budget, Finding
from billing.money import Money, round_amount
from billing.selectors import (
    FindingFilters,
    anomaly_list,
    billing_settings,
    breakdown,
    cost_summary,
    daily_series,
    finding_list,
    finding_totals,
)
from billing.services import budgets as budget_services
from billing.services.anomalies import anomaly_acknowledge
from billing.services.budgets import budget_save
from billing.services.settings import allocation_keys_save
from billing.services.waste import finding_dismiss
from inventory.selectors import account_choices
from mcloud.api.errors import InvalidInput, responses
from mcloud.api.security import role_auth

router = Router(tags=["billing"])


class Selection(Schema):
    period: Literal["this_month", "last_month", "last_30", "last_90", "custom"] = "this_month"
    start: date | None = Field(None, description="custom period: first day")
    end: date | None = Field(None, description="custom period: last day (included)")
    provider: str = ""
    account: int | None = None
    service: str = ""
    region: str = ""


class MoneyOut(Schema):
    amounts: dict[str, Decimal] = Field(
        description="Per currency, rounded to its minor unit; never summed silently."
    )
    total: Decimal | None = Field(
        description="In the organization's currency, when every currency has a rate; else null."
    )


class SummaryOut(Schema):
    currency: str
    month_to_date: MoneyOut
    forecast: MoneyOut
    daily_rate: MoneyOut
    last_month_same_day: MoneyOut
    change_percent: float | None


class BreakdownRow(Schema):
    key: str | int | None
    label: str
    amounts: dict[str, Decimal]
    total: Decimal | None
    share: float | None


class DayOut(Schema):
    date: date
    total: Decimal
    values: dict[str, Decimal]


class SeriesOut(Schema):
    currency: str
    start: date
    end: date
    days: list[DayOut]


class AllocationKeys(Schema):
    keys: list[str] = Field(
        description='The tag keys costs are allocated by, e.g. ["team", "env"] (at most 5).'
    )


class AllocationValue(Schema):
    value: str = Field(description='The tag value; "" for the untagged cost.')
    untagged: bool
    amounts: dict[str, Decimal] = Field(description="Per currency, rounded to its minor unit.")
    total: Decimal | None = Field(
        description="In the organization's currency, when every currency has a rate; else null."
    )
    share: float | None = Field(description="Percent of the converted total.")


class AllocationDay(Schema):
    date: date
    total: Decimal
    values: dict[str, Decimal] = Field(
        description=f'Per tag value ("{UNTAGGED}" for the untagged cost), in the organization\'s '
        "currency; values without cost that day are left out."
    )


class AllocationOut(Schema):
    key: str
    currency: str
    start: date
    end: date = Field(description="Exclusive.")
    total: Decimal = Field(description="Amounts in a currency without a rate are left out.")
    tagged: Decimal
    untagged: Decimal
    coverage_percent: float | None = Field(
        description="The share of the cost tagged with the key; null without any cost."
    )
    accounts_without: list[str] = Field(
        description="Accounts with costs in the period but none by this key yet (the key was "
        "chosen after their last import): left out of the figures."
    )
    values: list[AllocationValue] = Field(description="By total, descending; untagged last.")
    days: list[AllocationDay]


class BudgetIn(Schema):
    name: str
    amount: Decimal
    account: int | None = None
    basis: Literal["actual", "forecast"] = "actual"
    thresholds: list[int] = [50, 80, 100]
    webhook_url: str = ""


class BudgetOut(Schema):
    id: int
    name: str
    amount: Decimal
    currency: str
    account_id: int | None
    basis: str
    thresholds: list[int]
    webhook_set: bool
    webhook_url: str | None = Field(None, description="Shown to admins only.")


class AnomalyQuery(Schema):
    state: Literal["open", "acknowledged", "all"] = "all"
    account: int | None = None
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class AnomalyOut(Schema):
    id: int
    account_id: int
    account: str
    provider: str
    service: str
    day: date
    currency: str
    expected_low: Decimal = Field(description="The low end of the expected range.")
    expected_high: Decimal = Field(description="Above this, the day is an anomaly.")
    actual: Decimal
    state: Literal["open", "acknowledged"]
    acknowledged_by: str | None = Field(description="The e-mail of who acknowledged it.")
    acknowledged_at: datetime | None


class FindingQuery(Schema):
    rule: Literal["", "unattached_disk", "unused_ip", "orphan_snapshot", "stopped_vm"] = ""
    account: int | None = None
    type: str = Field("", description="A resource type (disk, ip_address, snapshot, vm...).")
    state: Literal["open", "dismissed"] = "open"
    order: Literal["-saving", "saving"] = "-saving"
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class FindingOut(Schema):
    id: int
    rule: str
    account_id: int
    account: str
    resource_pk: int
    resource_id: str
    name: str
    type: str
    saving: Decimal = Field(description="Estimated monthly saving, rounded to the minor unit.")
    currency: str
    basis: Literal["estimate", "billed"] = Field(
        description="Every figure is an estimate: from list prices, or this month's bill."
    )
    details: dict[str, Any]
    dismissed_at: datetime | None
    dismissed_by: str | None = Field(description="The e-mail of who dismissed it.")
    dismiss_reason: str


class FindingPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    total: dict[str, Decimal] = Field(
        description="The estimated monthly saving of the selection, per currency."
    )
    results: list[FindingOut]


class DismissIn(Schema):
    reason: str = Field(min_length=1, max_length=500)


class AnomalyPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    results: list[AnomalyOut]


def _form(request: ApiRequest, selection: Selection) -> CostSelectionForm:
    data = QueryDict(mutable=True)
    for key, value in selection.dict().items():
        if value not in ("", None):
            data[key] = str(value)
    form = CostSelectionForm(
        data,
        accounts=account_choices(organization=request.organization),
        today=timezone.localdate(),
    )
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    return form


def _total(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else round_amount(value, currency)


def _money(money: Money, summary: Any) -> dict[str, Any]:
    """Amounts rounded to each currency's minor unit (the database keeps exact values)."""
    return {"amounts": money.rounded(), "total": _total(summary.total(money), summary.currency)}


@router.get(
    "/costs/summary", response=responses(SummaryOut), summary="Month to date, forecast, change"
)
def costs_summary(request: ApiRequest, selection: Query[Selection]) -> dict:
    form = _form(request, selection)
    summary = cost_summary(
        organization=request.organization, today=timezone.localdate(), filters=form.filters()
    )
    return {
        "currency": summary.currency,
        "change_percent": summary.change,
        **{
            name: _money(getattr(summary, name), summary)
            for name in ("month_to_date", "forecast", "daily_rate", "last_month_same_day")
        },
    }


@router.get("/costs/breakdown", response=responses(list[BreakdownRow]))
def costs_breakdown(
    request: ApiRequest,
    selection: Query[Selection],
    by: Literal["provider", "account", "service", "region"] = "provider",
) -> list:
    form = _form(request, selection)
    start, end, _ = form.date_range()
    settings = billing_settings(request.organization)
    rows = breakdown(
        organization=request.organization,
        start=start,
        end=end,
        by=by,
        filters=form.filters(),
        currency=settings.currency,
        rates=settings.rates,
    )
    return [
        {
            "key": r["key"],
            "label": str(r["label"]),
            "amounts": r["money"].rounded(),
            "total": _total(r["total"], settings.currency),
            "share": r["share"],
        }
        for r in rows
    ]


@router.get("/costs/daily", response=responses(SeriesOut))
def costs_daily(
    request: ApiRequest,
    selection: Query[Selection],
    group: Literal["provider", "service"] = "provider",
) -> dict:
    form = _form(request, selection)
    start, end, _ = form.date_range()
    settings = billing_settings(request.organization)
    series = daily_series(
        organization=request.organization,
        start=start,
        end=end,
        group=group,
        filters=form.filters(),
        currency=settings.currency,
        rates=settings.rates,
        top=20,
    )
    days = [
        {
            "date": d["date"],
            "total": round_amount(d["total"], settings.currency),
            "values": {
                k: round_amount(v, settings.currency)
                for k, v in zip(series["keys"], d["values"], strict=True)
                if v
            },
        }
        for d in series["days"]
    ]
    return {"currency": settings.currency, "start": start, "end": end, "days": days}


@router.get(
    "/costs/allocation",
    response=responses(AllocationOut),
    summary="Costs by the values of an allocation tag key, with the untagged share",
)
def costs_allocation(
    request: ApiRequest,
    selection: Query[Selection],
    key: str = "",
) -> dict:
    """`key`: one of the organization's allocation keys (default: the first). From the
    providers' own grouping of their bills by the key (not the inventory's tags).
    Service and region filters do not apply: the providers group by tag alone."""
    form = _form(request, selection)
    settings = billing_settings(request.organization)
    keys = list(settings.allocation_keys)
    if (key and key not in keys) or not keys:
        chosen = ", ".join(keys) or "none is chosen"
        raise InvalidInput({"key": [f"Not one of the organization's allocation keys ({chosen})."]})
    start, end, _ = form.date_range()
    filters = form.filters()
    result = allocation(
        organization=request.organization, key=key or keys[0], start=start, end=end,
        currency=settings.currency, rates=settings.rates, provider=filters.provider,
        account=filters.account,
    )  # fmt: skip
    code = settings.currency
    names = result.series["keys"]
    return {
        "key": result.key,
        "currency": code,
        "start": start,
        "end": end,
        "total": round_amount(result.total, code),
        "tagged": round_amount(result.tagged, code),
        "untagged": round_amount(result.untagged_row.total or Decimal(0), code),
        "coverage_percent": result.coverage,
        "accounts_without": result.accounts_without,
        "values": [
            {
                "value": row.value,
                "untagged": row.untagged,
                "amounts": row.money.rounded(),
                "total": _total(row.total, code),
                "share": row.share,
            }
            for row in result.rows
        ],
        "days": [
            {
                "date": day["date"],
                "total": round_amount(day["total"], code),
                "values": {
                    name: round_amount(value, code)
                    for name, value in zip(names, day["values"], strict=True)
                    if value
                },
            }
            for day in result.series["days"]
        ],
    }


@router.get("/costs/allocation/keys", response=responses(AllocationKeys))
def allocation_keys(request: ApiRequest) -> dict:
    return {"keys": list(billing_settings(request.organization).allocation_keys)}


@router.put(
    "/costs/allocation/keys", response=responses(AllocationKeys), auth=role_auth(Role.ADMIN)
)
def allocation_keys_update(request: ApiRequest, body: AllocationKeys) -> dict:
    form = AllocationKeysForm({"keys": "\n".join(body.keys)})
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    saved = allocation_keys_save(
        organization=request.organization, keys=form.cleaned_data["keys"], user=request.user,
        ip=client_ip(request),
    )  # fmt: skip
    return {"keys": saved.allocation_keys}


def _anomaly_out(anomaly: Anomaly) -> dict[str, Any]:
    code = anomaly.currency
    return {
        "id": anomaly.pk,
        "account_id": anomaly.account_id,
        "account": anomaly.account.name,
        "provider": anomaly.provider,
        "service": anomaly.service,
        "day": anomaly.day,
        "currency": code,
        "expected_low": round_amount(anomaly.expected_low, code),
        "expected_high": round_amount(anomaly.expected_high, code),
        "actual": round_amount(anomaly.actual, code),
        "state": anomaly.state,
        "acknowledged_by": anomaly.acknowledged_by.email if anomaly.acknowledged_by else None,
        "acknowledged_at": anomaly.acknowledged_at,
    }


@router.get("/anomalies", response=responses(AnomalyPage), summary="Cost anomalies")
def anomalies(request: ApiRequest, query: Query[AnomalyQuery]) -> dict:
    """Days on which an account's spend on a service broke from its own recent pattern,
    newest first, with the expected range and the actual amount."""
    rows = anomaly_list(
        organization=request.organization,
        state="" if query.state == "all" else query.state,
        account=query.account,
    )
    paginator = Paginator(rows, query.per_page)
    page = paginator.get_page(query.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "per_page": query.per_page,
        "results": [_anomaly_out(a) for a in page],
    }


@router.post(
    "/anomalies/{anomaly_id}/acknowledge",
    response=responses(AnomalyOut),
    auth=role_auth(Role.MEMBER),
)
def anomaly_ack(request: ApiRequest, anomaly_id: int) -> dict:
    anomaly = get_for_org(Anomaly.objects.select_related("account"), request, pk=anomaly_id)
    anomaly = anomaly_acknowledge(anomaly=anomaly, user=request.user, ip=client_ip(request))
    return _anomaly_out(anomaly)


def _finding_out(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.pk,
        "rule": finding.rule,
        "account_id": finding.account_id,
        "account": finding.account.name,
        "resource_pk": finding.resource_id,
        "resource_id": finding.resource.resource_id,
        "name": finding.resource.name,
        "type": finding.resource.type,
        "saving": round_amount(finding.saving, finding.currency),
        "currency": finding.currency,
        "basis": finding.basis,
        "details": finding.details,
        "dismissed_at": finding.dismissed_at,
        "dismissed_by": finding.dismissed_by.email if finding.dismissed_by else None,
        "dismiss_reason": finding.dismiss_reason,
    }


@router.get("/savings", response=responses(FindingPage), summary="Waste findings")
def savings(request: ApiRequest, query: Query[FindingQuery]) -> dict:
    """Resources that cost money for nothing, biggest estimated monthly saving first."""
    filters = FindingFilters(
        rule=query.rule, account=query.account, kind=query.type,
        dismissed=query.state == "dismissed", order=query.order,
    )  # fmt: skip
    rows = finding_list(organization=request.organization, filters=filters)
    total, _ = finding_totals(rows)
    paginator = Paginator(rows, query.per_page)
    page = paginator.get_page(query.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "per_page": query.per_page,
        "total": {code: round_amount(value, code) for code, value in total.parts()},
        "results": [_finding_out(f) for f in page],
    }


@router.post(
    "/savings/{finding_id}/dismiss",
    response=responses(FindingOut),
    auth=role_auth(Role.MEMBER),
)
def finding_dismiss_api(request: ApiRequest, finding_id: int, body: DismissIn) -> dict:
    finding = get_for_org(
        Finding.objects.select_related("account", "resource"), request, pk=finding_id
    )
    try:
        finding = finding_dismiss(
            finding=finding, user=request.user, reason=body.reason, ip=client_ip(request)
        )
    except ValueError as error:
        raise InvalidInput({"reason": [str(error)]}) from error
    return _finding_out(finding)


def _budget_out(budget: Budget, request: ApiRequest) -> dict:
    admin = request.role.allows(Role.ADMIN)
    return {
        "id": budget.pk,
        "name": budget.name,
        "amount": budget.amount,
        "currency": budget.currency,
        "account_id": budget.account_id,
        "basis": budget.basis,
        "thresholds": budget.thresholds,
        "webhook_set": bool(budget.webhook_url),
        "webhook_url": budget.webhook_url if admin else None,
    }


@router.get("/budgets", response=responses(list[BudgetOut]))
def budgets(request: ApiRequest) -> list:
    rows = Budget.objects.filter(organization=request.organization)
    return [_budget_out(b, request) for b in rows]


def _save_budget(request: ApiRequest, body: BudgetIn, budget: Budget | None) -> Budget:
    data = {
        "name": body.name,
        "amount": str(body.amount),
        "basis": body.basis,
        "thresholds": ", ".join(str(t) for t in body.thresholds),
        "webhook_url": body.webhook_url,
        "account": body.account or "",
    }
    form = BudgetForm(data, instance=budget, organization=request.organization)
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    saved = budget_save(
        budget=form.save(commit=False), organization=request.organization, user=request.user,
        ip=client_ip(request),
    )  # fmt: skip
    return saved


@router.post("/budgets", response=responses({201: BudgetOut}), auth=role_auth(Role.ADMIN))
def budget_create(request: ApiRequest, body: BudgetIn) -> Status:
    return Status(201, _budget_out(_save_budget(request, body, None), request))


@router.put("/budgets/{budget_id}", response=responses(BudgetOut), auth=role_auth(Role.ADMIN))
def budget_update(request: ApiRequest, budget_id: int, body: BudgetIn) -> dict:
    budget = get_for_org(Budget, request, pk=budget_id)
    return _budget_out(_save_budget(request, body, budget), request)


@router.delete("/budgets/{budget_id}", response=responses({204: None}), auth=role_auth(Role.ADMIN))
def budget_delete(request: ApiRequest, budget_id: int) -> Status:
    budget = get_for_org(Budget, request, pk=budget_id)
    budget_services.budget_delete(budget=budget, user=request.user, ip=client_ip(request))
    return Status(204, None)
