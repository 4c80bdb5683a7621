"""The billing section: figures, the daily chart, breakdowns, top resources, the CSV, costs by
allocation tag, cost anomalies, budgets and their alerts, and the organization's billing
settings."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import client_ip
from accounts.flash import secret_flash_pop, secret_flash_put
from accounts.models import Organization
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from billing.allocation import allocation
from billing.charts import anomaly_marks, stacked_bars
from billing.forms import AllocationKeysForm, BillingSettingsForm, BudgetForm, CostSelectionForm
from billing.models import (
    Anomaly,
    Budget,
    BudgetAlert,
    CostDaily,
    CostTagDaily,
    Finding,
    ImportRun,
)
from billing.money import round_amount
from billing.removals import removal_context
from billing.selectors import (
    DIMENSIONS,
    FINDING_ORDERS,
    NONE,
    CostFilters,
    FindingFilters,
    anomalies_in,
    anomaly_list,
    billing_settings,
    breakdown,
    choices,
    cost_summary,
    daily_series,
    finding_list,
    finding_totals,
    resource_cost_sources,
    top_resources,
)
from billing.services import budgets as budget_services
from billing.services.anomalies import anomaly_acknowledge
from billing.services.budgets import (
    alert_acknowledge,
    alerts_acknowledge_all,
    budget_save,
    budget_spent,
    highest_crossed,
)
from billing.services.imports import cost_import_queue
from billing.services.settings import (
    allocation_keys_save,
    billing_settings_save,
    webhook_secret_reset,
)
from billing.services.waste import finding_dismiss
from inventory.models import CloudAccount, ResourceType
from inventory.selectors import account_choices
from inventory.services.cleanups import action_settings
from mcloud.exports import csv_lines

KEEP = ("period", "start", "end", "group", "provider", "account", "service", "region")
PAGE_ANOMALIES = 10  # listed under the chart; the rest on the anomalies page


def _selection(request: OrgRequest) -> CostSelectionForm:
    return CostSelectionForm(
        request.GET,
        today=timezone.localdate(),
        accounts=account_choices(organization=request.organization),
    )


def _query(request: OrgRequest, **changes: str) -> str:
    """The current selection as a query string, with `changes` applied."""
    params = QueryDict(mutable=True)
    for key in KEEP:
        if request.GET.get(key):
            params[key] = request.GET[key]
    for key, value in changes.items():
        if value:
            params[key] = value
        else:
            params.pop(key, None)
    return params.urlencode()


class _Scope(TypedDict):
    """What the overview's selectors share: whose costs, when, which, in what currency."""

    organization: Organization
    start: date
    end: date
    filters: CostFilters
    currency: str
    rates: dict[str, float]


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def overview(request: OrgRequest) -> HttpResponse:
    form = _selection(request)
    start, end, label = form.date_range()
    filters = form.filters()
    today = timezone.localdate()
    summary = cost_summary(organization=request.organization, today=today, filters=filters)
    common: _Scope = {
        "organization": request.organization,
        "start": start,
        "end": end,
        "filters": filters,
        "currency": summary.currency,
        "rates": summary.rates,
    }
    series = daily_series(**common, group=form.stack_by())
    tables = []
    for by in DIMENSIONS:
        sort = request.GET.get(f"sort_{by}", "-amount")
        rows = breakdown(**common, by=by, sort=sort)
        for row in rows:
            # A row without a value (costs without a region) filters to exactly those.
            value = NONE if row["key"] in ("", None) else str(row["key"])
            row["link"] = "?" + _query(request, **{by: value})
        tables.append(
            {
                "by": by,
                "rows": rows,
                "sort": sort,
                "sort_links": {
                    key: "?" + _query(request, **{f"sort_{by}": key})
                    for key in ("name", "-name", "amount", "-amount")
                },
            }
        )
    anomalies = list(anomalies_in(organization=request.organization, start=start, end=end,
                                  filters=filters))  # fmt: skip
    marks = anomaly_marks(anomalies, summary.currency, summary.rates)
    context = {
        "form": form,
        "label": label,
        "summary": summary,
        "chart": stacked_bars(
            series,
            summary.currency,
            marks,
            links={
                key: "?" + _query(request, **{form.stack_by(): key})
                for key in series["keys"]
                if key != "other"
            },
        ),
        "anomalies": anomalies[:PAGE_ANOMALIES],
        "more_anomalies": max(len(anomalies) - PAGE_ANOMALIES, 0),
        "region_hides_anomalies": bool(filters.region),
        "left_out": series["left_out"],
        "tables": tables,
        "top": top_resources(**common),
        "top_sources": resource_cost_sources(request.organization),
        "active_filters": filters.as_dict(),
        "query": _query(request),
        "clear_links": {key: "?" + _query(request, **{key: ""}) for key in filters.as_dict()},
        "choices": choices(request.organization),
        "imports": ImportRun.objects.filter(organization=request.organization).select_related(
            "account"
        )[:5],
        "has_costs": CostDaily.objects.filter(organization=request.organization).exists(),
        "can_import": request.role.allows(Role.MEMBER),
        "can_ack": request.role.allows(Role.MEMBER),
    }
    template = "billing/overview.html"
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template += "#results"
        context["summary_oob"] = True
    return render(request, template, context)


@org_view(Role.VIEWER)
def export(request: OrgRequest) -> StreamingHttpResponse:
    """The daily costs of the current selection, streamed as CSV."""
    form = _selection(request)
    start, end, _ = form.date_range()
    rows = (
        CostDaily.objects.filter(organization=request.organization, date__gte=start, date__lt=end)
        .filter(form.filters().q())
        .values("date", "provider", "account__name", "service", "region", "currency")
        .annotate(amount=Sum("amount"))
        .order_by("date", "provider", "account__name", "service", "region")
    )
    header = ("date", "provider", "account", "service", "region", "currency", "amount")
    cells = (
        (r["date"], r["provider"], r["account__name"], r["service"], r["region"], r["currency"],
         round_amount(r["amount"], r["currency"]))
        for r in rows.iterator(chunk_size=2000)
    )  # fmt: skip
    response = StreamingHttpResponse(
        csv_lines(header, cells), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="mcloud-costs-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    )
    return response


def _allocation_key(request: OrgRequest, keys: list[str]) -> str:
    """The chosen key if it is one of the organization's, else its first (or "")."""
    chosen = request.GET.get("key", "")
    return chosen if chosen in keys else (keys[0] if keys else "")


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def allocation_view(request: OrgRequest) -> HttpResponse:
    """Showback: the cost of the period by the values of one allocation tag key, the
    untagged share, the key's coverage and the daily trend."""
    settings = billing_settings(request.organization)
    keys = list(settings.allocation_keys)
    key = _allocation_key(request, keys)
    form = _selection(request)
    start, end, label = form.date_range()
    filters = form.filters()
    context: dict[str, object] = {"form": form, "keys": keys, "key": key, "label": label,
                                  "can_configure": request.role.allows(Role.ADMIN)}  # fmt: skip
    if key:
        result = allocation(
            organization=request.organization, key=key, start=start, end=end,
            currency=settings.currency, rates=settings.rates, provider=filters.provider,
            account=filters.account,
        )  # fmt: skip
        context |= {
            "result": result,
            "chart": stacked_bars(result.series, settings.currency),
            "query": _query(request, key=key),
            "key_links": {k: "?" + _query(request, key=k) for k in keys},
        }
    template = "billing/allocation.html"
    # Without a key there are no results to swap (and no form that asks for them).
    htmx = request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request
    if key and htmx:
        template += "#results"
    return render(request, template, context)


@org_view(Role.VIEWER)
def allocation_export(request: OrgRequest) -> StreamingHttpResponse:
    """The daily costs by the values of an allocation tag key, per account, streamed as CSV;
    the untagged cost has value "" and tagged "no"."""
    settings = billing_settings(request.organization)
    key = _allocation_key(request, list(settings.allocation_keys))
    form = _selection(request)
    start, end, _ = form.date_range()
    filters = form.filters()
    rows = CostTagDaily.objects.filter(
        organization=request.organization, key=key, date__gte=start, date__lt=end
    )
    if filters.provider:
        rows = rows.filter(provider=filters.provider)
    if filters.account is not None:
        rows = rows.filter(account_id=filters.account)
    lines = rows.values(
        "date", "provider", "account__name", "key", "value", "currency", "amount"
    ).order_by("date", "provider", "account__name", "value", "currency")
    header = ("date", "provider", "account", "key", "value", "tagged", "currency", "amount")
    cells = (
        (r["date"], r["provider"], r["account__name"], r["key"], r["value"],
         "yes" if r["value"] else "no", r["currency"], round_amount(r["amount"], r["currency"]))
        for r in lines.iterator(chunk_size=2000)
    )  # fmt: skip
    response = StreamingHttpResponse(
        csv_lines(header, cells), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="mcloud-allocation-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    )
    return response


@org_view(Role.MEMBER)
@require_POST
def import_now(request: OrgRequest) -> HttpResponse:
    accounts = CloudAccount.objects.active().filter(organization=request.organization)
    busy = [a.name for a in accounts if cost_import_queue(account=a) is not None]
    messages.info(request, f"Importing the costs of {len(accounts) - len(busy)} account(s).")
    for name in busy:
        messages.warning(request, f"{name}: a cost import of this account is running.")
    return redirect("billing:overview")


@org_view(Role.VIEWER)
def anomaly_list_view(request: OrgRequest) -> HttpResponse:
    """Every anomaly, newest day first; the open ones only unless asked for all."""
    state = request.GET.get("state", Anomaly.State.OPEN)
    if state not in Anomaly.State.values:
        state = ""
    rows = anomaly_list(organization=request.organization, state=state)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/anomalies.html",
        {"page": page, "state": state, "can_ack": request.role.allows(Role.MEMBER)},
    )


@org_view(Role.MEMBER)
@require_POST
def anomaly_ack(request: OrgRequest, pk: int) -> HttpResponse:
    anomaly = get_for_org(Anomaly, request, pk=pk)
    anomaly_acknowledge(anomaly=anomaly, user=request.user, ip=client_ip(request))
    messages.success(request, f"The anomaly of {anomaly.service} on {anomaly.day} is acknowledged.")
    back = {"home": "home", "overview": "billing:overview"}.get(request.POST.get("next", ""))
    return redirect(back or "billing:anomaly_list")


@org_view(Role.VIEWER)
def budget_list(request: OrgRequest) -> HttpResponse:
    today = timezone.localdate()
    budgets = list(
        Budget.objects.filter(organization=request.organization).select_related("account")
    )
    for budget in budgets:
        budget.spent = spent = budget_spent(budget, today)
        budget.percent = percent = float(spent / budget.amount * 100) if spent is not None else None
        if spent is not None and percent is not None:
            # Red over budget, amber past a threshold, blue below: a full bar at most.
            over = spent >= budget.amount
            warned = highest_crossed(budget, spent) is not None
            budget.level = "danger" if over else "warning" if warned else "primary"
            budget.bar_width = min(round(percent), 100)
    alerts = BudgetAlert.objects.filter(organization=request.organization).select_related(
        "budget", "acknowledged_by"
    )[:30]
    return render(
        request,
        "billing/budgets.html",
        {
            "budgets": budgets,
            "alerts": alerts,
            "can_manage": request.role.allows(Role.ADMIN),
            "can_ack": request.role.allows(Role.MEMBER),
            "currency": billing_settings(request.organization).currency,
        },
    )


@org_view(Role.ADMIN)
def budget_edit(request: OrgRequest, pk: int | None = None) -> HttpResponse:
    budget = get_for_org(Budget, request, pk=pk) if pk else None
    form = BudgetForm(request.POST or None, instance=budget, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        budget = budget_save(
            budget=form.save(commit=False), organization=request.organization,
            user=request.user, ip=client_ip(request),
        )  # fmt: skip
        messages.success(request, f"Saved the budget {budget.name}.")
        return redirect("billing:budget_list")
    return render(
        request,
        "billing/budget_form.html",
        {
            "form": form,
            "budget": budget,
            "currency": billing_settings(request.organization).currency,
        },
    )


@org_view(Role.ADMIN)
@require_POST
def budget_delete(request: OrgRequest, pk: int) -> HttpResponse:
    budget = get_for_org(Budget, request, pk=pk)
    budget_services.budget_delete(budget=budget, user=request.user, ip=client_ip(request))
    messages.success(request, f"Deleted the budget {budget.name}.")
    return redirect("billing:budget_list")


@org_view(Role.MEMBER)
@require_POST
def alert_ack(request: OrgRequest, pk: int) -> HttpResponse:
    alert = get_for_org(BudgetAlert, request, pk=pk)
    alert_acknowledge(alert=alert, user=request.user)
    messages.success(request, "The alert is acknowledged.")
    return redirect("home" if request.POST.get("next") == "home" else "billing:budget_list")


@org_view(Role.MEMBER)
@require_POST
def alert_ack_all(request: OrgRequest) -> HttpResponse:
    count = alerts_acknowledge_all(organization=request.organization, user=request.user)
    messages.success(request, f"Acknowledged {count} alert{'s' if count != 1 else ''}.")
    return redirect("home" if request.POST.get("next") == "home" else "billing:budget_list")


@org_view(Role.ADMIN)
def settings_view(request: OrgRequest) -> HttpResponse:
    settings = billing_settings(request.organization)
    sent_keys = request.method == "POST" and "allocation" in request.POST
    form = BillingSettingsForm(
        request.POST if request.method == "POST" and not sent_keys else None, instance=settings
    )
    keys_form = AllocationKeysForm(
        request.POST if sent_keys else None, initial_keys=settings.allocation_keys
    )
    if request.method == "POST" and "regenerate" in request.POST:
        secret = webhook_secret_reset(
            organization=request.organization, user=request.user, ip=client_ip(request)
        )
        secret_flash_put(request, "webhook_secret", secret)
        return redirect("billing:settings")
    if sent_keys and keys_form.is_valid():
        allocation_keys_save(
            organization=request.organization, keys=keys_form.cleaned_data["keys"],
            user=request.user, ip=client_ip(request),
        )  # fmt: skip
        messages.success(request, "Saved the allocation tag keys.")
        return redirect("billing:settings")
    if request.method == "POST" and not sent_keys and form.is_valid():
        billing_settings_save(
            organization=request.organization, currency=form.cleaned_data["currency"],
            rates=form.cleaned_data["rates"], user=request.user, ip=client_ip(request),
        )  # fmt: skip
        messages.success(request, "Saved the billing settings.")
        return redirect("billing:settings")
    new_secret = secret_flash_pop(request, "webhook_secret") if request.method == "GET" else ""
    return render(
        request,
        "billing/settings.html",
        {"form": form, "keys_form": keys_form, "new_secret": new_secret},
    )


def _finding_filters(request: OrgRequest, accounts: list[CloudAccount]) -> FindingFilters:
    """The Savings page's selection from the query string; anything unknown is ignored."""
    get = request.GET
    account = get.get("account", "")
    ids = {a.pk for a in accounts}
    return FindingFilters(
        rule=get.get("rule", "") if get.get("rule") in Finding.Rule.values else "",
        account=int(account) if account.isdigit() and int(account) in ids else None,
        kind=get.get("type", "") if get.get("type") in ResourceType.values else "",
        dismissed=get.get("state") == "dismissed",
        order=get.get("order", "") if get.get("order") in FINDING_ORDERS else "-saving",
    )


@org_view(Role.VIEWER)
def savings_view(request: OrgRequest) -> HttpResponse:
    """The waste findings of the selection, biggest saving first, and their monthly total."""
    accounts = account_choices(organization=request.organization)
    filters = _finding_filters(request, accounts)
    rows = finding_list(organization=request.organization, filters=filters)
    total, per_rule = finding_totals(rows)
    paginator = Paginator(rows, 50)
    paginator.count = sum(entry["count"] for entry in per_rule)  # counted with the totals
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "billing/savings.html", {
        "page": page, "filters": filters, "total": total, "per_rule": per_rule,
        "accounts": accounts, "rules": Finding.Rule.choices, "kinds": ResourceType.choices,
        "can_dismiss": request.role.allows(Role.MEMBER),
        "cleanup_rules": action_settings(request.organization),
        "rules_locked": request.role != Role.OWNER,
        **removal_context(request, page.object_list),
    })  # fmt: skip


@org_view(Role.VIEWER)
def savings_export(request: OrgRequest) -> StreamingHttpResponse:
    """The findings of the selection as CSV, amounts rounded to cents (all estimates)."""
    accounts = account_choices(organization=request.organization)
    rows = finding_list(organization=request.organization,
                        filters=_finding_filters(request, accounts))  # fmt: skip
    header = ("rule", "provider", "account", "type", "resource_id", "name", "region",
              "monthly_saving", "currency", "basis", "dismissed_reason")  # fmt: skip
    cells = (
        (f.rule, f.resource.provider, f.account.name, f.resource.type, f.resource.resource_id,
         f.resource.name, f.resource.region, round_amount(f.saving, f.currency), f.currency,
         f.get_basis_display(), f.dismiss_reason)
        for f in rows.iterator(chunk_size=2000)
    )  # fmt: skip
    response = StreamingHttpResponse(
        csv_lines(header, cells), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="mcloud-savings.csv"'
    return response


@org_view(Role.MEMBER)
@require_POST
def finding_dismiss_view(request: OrgRequest, pk: int) -> HttpResponse:
    finding = get_for_org(Finding, request, pk=pk)
    try:
        finding_dismiss(finding=finding, user=request.user, reason=request.POST.get("reason", ""),
                        ip=client_ip(request))  # fmt: skip
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"{finding.get_rule_display()} {finding.resource.name}: dismissed."
        )
    return redirect("billing:savings")
