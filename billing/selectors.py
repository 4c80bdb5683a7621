"""Reads of billing. Figures come from the rollups (CostDaily, CostResourceMonth), so they
cost the same with ten thousand or a million imported rows."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Lower

from accounts.models import Organization
from billing.models import (
    Anomaly,
    BillingSettings,
    CostDaily,
    CostData,
    CostResourceMonth,
    Finding,
)
from billing.money import ZERO, Money, percent_change
from inventory.models import CloudAccount, Resource
from mcloud.clouds.registry import provider_choices, provider_get

DIMENSIONS = ("provider", "account", "service", "region")
# The filter value of costs without a service or region (tax, support): "" means no filter.
NONE = "(none)"


@dataclass(frozen=True)
class CostFilters:
    provider: str = ""
    account: int | None = None
    service: str = ""
    region: str = ""

    def q(self) -> Q:
        lookups = {
            "provider": self.provider,
            "account_id": self.account,
            "service": self.service,
            "region": self.region,
        }
        return Q(**{k: "" if v == NONE else v for k, v in lookups.items() if v not in ("", None)})

    def as_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "provider": self.provider,
                "account": self.account,
                "service": self.service,
                "region": self.region,
            }.items()
            if v
        }


def billing_settings(organization: Organization) -> BillingSettings:
    """The organization's settings, or the defaults (unsaved) when it has none yet."""
    found = BillingSettings.objects.filter(organization=organization).first()
    return found or BillingSettings(organization=organization)


def _daily(organization: Organization, filters: CostFilters) -> QuerySet[CostDaily]:
    return CostDaily.objects.filter(organization=organization).filter(filters.q())


def _money(rows: QuerySet) -> Money:
    money = Money()
    for row in rows.values("currency").annotate(total=Sum("amount")).order_by():
        money.add(row["currency"], row["total"] or ZERO)
    return money


@dataclass
class Summary:
    month_to_date: Money
    forecast: Money
    last_month_same_day: Money
    daily_rate: Money
    currency: str
    rates: dict[str, float] = field(default_factory=dict)

    def total(self, money: Money) -> Decimal | None:
        return money.converted(self.currency, self.rates)

    @property
    def change(self) -> float | None:
        return percent_change(self.total(self.month_to_date), self.total(self.last_month_same_day))


def cost_summary(
    *, organization: Organization, today: date, filters: CostFilters = CostFilters()
) -> Summary:
    """Month to date, the forecast to month end (the run-rate of the last 7 complete days)
    and last month's total to the same day."""
    rows = _daily(organization, filters)
    month_start = today.replace(day=1)
    mtd = _money(rows.filter(date__gte=month_start, date__lte=today))
    complete = _money(rows.filter(date__gte=month_start, date__lt=today))
    week = _money(rows.filter(date__gte=today - timedelta(days=7), date__lt=today))
    remaining = calendar.monthrange(today.year, today.month)[1] - today.day + 1
    forecast, rate = Money(), Money()
    for code in set(complete.amounts) | set(week.amounts):
        daily = week.amounts.get(code, ZERO) / 7
        rate.add(code, daily)
        forecast.add(code, complete.amounts.get(code, ZERO) + daily * remaining)
    last_start = (month_start - timedelta(days=1)).replace(day=1)
    last_days = calendar.monthrange(last_start.year, last_start.month)[1]
    last_same = last_start.replace(day=min(today.day, last_days))
    last = _money(rows.filter(date__gte=last_start, date__lte=last_same))
    settings = billing_settings(organization)
    return Summary(mtd, forecast, last, rate, settings.currency, settings.rates)


def daily_totals(
    *, organization: Organization, start: date, end: date, currency: str, rates: dict[str, float]
) -> list[Decimal]:
    """Each day's total cost in [start, end) in the display currency, a day without costs
    as zero; amounts in a currency without a rate are left out."""
    rows = (
        CostDaily.objects.filter(organization=organization, date__gte=start, date__lt=end)
        .values("date", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    totals: dict[date, Decimal] = {}
    for row in rows:
        converted = Money({row["currency"]: row["total"]}).converted(currency, rates)
        if converted is not None:
            totals[row["date"]] = totals.get(row["date"], ZERO) + converted
    return [totals.get(start + timedelta(days=n), ZERO) for n in range((end - start).days)]


def daily_series(
    *,
    organization: Organization,
    start: date,
    end: date,
    group: str,
    filters: CostFilters,
    currency: str,
    rates: dict[str, float],
    top: int = 6,
) -> dict[str, Any]:
    """Per day, the cost of each of the `top` groups (provider or service) and "Other", in
    the display currency; amounts in a currency without a rate are left out and counted."""
    field_name = "provider" if group == "provider" else "service"
    rows = (
        _daily(organization, filters)
        .filter(date__gte=start, date__lt=end)
        .values("date", field_name, "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    per_day: dict[date, dict[str, Decimal]] = {}
    totals: dict[str, Decimal] = {}
    left_out = Money()
    for row in rows:
        converted = Money({row["currency"]: row["total"]}).converted(currency, rates)
        if converted is None:
            left_out.add(row["currency"], row["total"])
            continue
        key = row[field_name]
        per_day.setdefault(row["date"], {})
        per_day[row["date"]][key] = per_day[row["date"]].get(key, ZERO) + converted
        totals[key] = totals.get(key, ZERO) + converted
    keep = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    days = []
    day = start
    while day < end:
        values = per_day.get(day, {})
        other = sum((v for k, v in values.items() if k not in keep), ZERO)
        days.append(
            {
                "date": day,
                "values": [values.get(k, ZERO) for k in keep] + [other],
                "total": sum(values.values(), ZERO),
            }
        )
        day += timedelta(days=1)
    labels = [provider_get(k).label if field_name == "provider" else k for k in keep]
    return {
        "days": days,
        "groups": [*labels, "Other"],
        "keys": [*keep, "other"],
        "left_out": left_out,
    }


def breakdown(
    *,
    organization: Organization,
    start: date,
    end: date,
    by: str,
    filters: CostFilters,
    currency: str,
    rates: dict[str, float],
    sort: str = "-amount",
) -> list[dict[str, Any]]:
    """Cost per provider, account, service or region over [start, end), with each row's
    share; sortable by amount or name. By account, the costs a connection holds for a member
    account of its organization that is not discovered or is excluded are rows of their own,
    labelled so (their key is the connection's, which filters to them)."""
    columns = ["account_id", "member_id"] if by == "account" else [by]
    rows = (
        _daily(organization, filters)
        .filter(date__gte=start, date__lt=end)
        .values(*columns, "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    grouped: dict[Any, Money] = {}
    for row in rows:
        group = tuple(row[c] for c in columns) if by == "account" else row[by]
        grouped.setdefault(group, Money()).add(row["currency"], row["total"])
    names = _names(organization, by, grouped)
    result = []
    for group, money in grouped.items():
        key = group[0] if by == "account" else group
        result.append(
            {
                "key": key,
                "label": names.get(group, key) or NONE,
                "money": money,
                "total": money.converted(currency, rates),
            }
        )
    grand = sum((r["total"] for r in result if r["total"] is not None), ZERO)
    for r in result:
        r["share"] = float(r["total"] / grand * 100) if grand and r["total"] is not None else None
    descending = sort.startswith("-")
    if sort.lstrip("-") == "name":
        result.sort(key=lambda r: str(r["label"]).lower(), reverse=descending)
    else:
        result.sort(
            key=lambda r: r["total"] if r["total"] is not None else ZERO, reverse=descending
        )
    return result


def _names(organization: Organization, by: str, grouped: dict) -> dict[Any, str]:
    if by == "account":
        return _account_labels(organization, list(grouped))
    if by == "provider":
        return dict(provider_choices())
    return {}


def _account_labels(
    organization: Organization, groups: list[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """(account id, member id) -> "aws-prod", or for costs a connection holds for a member
    account: "aws-org: account 210987654321 (not discovered)" (or "excluded"). One query."""
    held = [(pk, member) for pk, member in groups if member]
    found = CloudAccount.objects.filter(organization=organization).filter(
        Q(pk__in=[pk for pk, _ in groups])
        | Q(parent_id__in=[pk for pk, _ in held], member_id__in=[m for _, m in held])
    )
    names: dict[int, str] = {}
    members: dict[tuple[int, str], bool] = {}  # (connection, member id) -> included
    for pk, name, parent, member, enabled in found.values_list(
        "pk", "name", "parent_id", "member_id", "enabled"
    ):
        names[pk] = name
        if parent is not None:
            members[(parent, member)] = enabled
    labels: dict[tuple[int, str], str] = {}
    for pk, member in groups:
        if pk not in names:
            continue
        if not member:
            labels[(pk, member)] = names[pk]
            continue
        state = members.get((pk, member))
        why = (
            "not discovered" if state is None
            else "excluded" if not state
            else "discovered since the last import"
        )  # fmt: skip
        labels[(pk, member)] = f"{names[pk]}: account {member} ({why})"
    return labels


def top_resources(
    *,
    organization: Organization,
    start: date,
    end: date,
    filters: CostFilters,
    currency: str,
    rates: dict[str, float],
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The most expensive resources in the months of [start, end) under the page's filters,
    ranked per currency: {"currency", "rows"} groups, the display currency first.

    Amounts in a currency with a rate are converted and ranked with the display currency;
    each currency without one gets its own ranking, since 100 JPY and 100 USD do not
    compare. Rows link to the inventory where the resource is known (matched
    case-insensitively: Azure lower-cases its ids).
    """
    rows = CostResourceMonth.objects.filter(
        organization=organization, month__gte=start.replace(day=1), month__lt=end
    ).filter(filters.q())
    rated = {code: Decimal(str(rate)) for code, rate in rates.items() if code != currency}
    converted = Case(
        *(When(currency=code, then=F("amount") * Value(rate)) for code, rate in rated.items()),
        default=F("amount"),
        output_field=DecimalField(max_digits=30, decimal_places=12),
    )
    convertible = [currency, *rated]
    # The currencies without a rate, read from the small daily rollup (same filters).
    alone = (
        CostDaily.objects.filter(
            organization=organization, date__gte=start.replace(day=1), date__lt=end
        )
        .filter(filters.q())
        .exclude(currency__in=convertible)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    buckets: list[tuple[str, QuerySet[CostResourceMonth], Case | F]] = [
        (currency, rows.filter(currency__in=convertible), converted)
    ]
    buckets += [(code, rows.filter(currency=code), F("amount")) for code in alone]
    groups: list[dict[str, Any]] = []
    for code, bucket, amount in buckets:
        top = list(
            bucket.values("account_id", "resource_id", "provider")
            .annotate(total=Sum(amount))
            .order_by("-total", "resource_id")[:limit]
        )
        if top:
            groups.append({"currency": code, "rows": top})
    ids = {row["resource_id"] for group in groups for row in group["rows"]}
    known = {
        (r["account_id"], r["rid"]): (r["pk"], r["name"])
        for r in Resource.objects.filter(organization=organization)
        .annotate(rid=Lower("resource_id"))
        .filter(rid__in=ids)
        .values("account_id", "rid", "pk", "name")
    }
    for group in groups:
        for row in group["rows"]:
            row["resource"] = known.get((row["account_id"], row["resource_id"]))
    return groups


def resource_cost_this_month(*, resource: Resource, today: date) -> Money:
    rows = CostData.objects.filter(
        account_id=resource.account_id,
        resource_id=resource.resource_id.lower(),
        date__gte=today.replace(day=1),
        date__lte=today,
    )
    return _money(rows)


def choices(organization: Organization) -> dict[str, list]:
    """Services and regions that have costs, for the filter selects."""
    rows = CostDaily.objects.filter(organization=organization)
    return {
        "services": list(rows.order_by("service").values_list("service", flat=True).distinct()),
        "regions": list(
            rows.exclude(region="").order_by("region").values_list("region", flat=True).distinct()
        ),
    }


def resource_cost_sources(organization: Organization) -> list[str]:
    """Which of the organization's providers report costs per resource, as sentences for
    the top resources: "Azure reports costs per resource.", "AWS reports costs per service
    and region only."."""
    providers = (
        CloudAccount.objects.filter(organization=organization)
        .order_by("provider")
        .values_list("provider", flat=True)
        .distinct()
    )
    by_answer: dict[str, list[str]] = {}
    for provider in providers:
        entry = provider_get(provider)
        by_answer.setdefault(entry.resource_costs, []).append(entry.label)
    sentences = []
    for answer, labels in sorted(by_answer.items(), key=lambda item: item[0] == "no"):
        who = " and ".join(labels)
        verb = "report" if len(labels) > 1 else "reports"
        if answer == "yes":
            sentences.append(f"{who} {verb} costs per resource.")
        elif answer == "no":
            sentences.append(f"{who} {verb} costs per service and region only.")
        else:
            sentences.append(f"{who} {verb} costs per resource {answer}.")
    return sentences


def provider_costs(
    *, organization: Organization, today: date
) -> tuple[Summary, list[dict[str, Any]]] | None:
    """This month's summary and its costs by provider (the dashboard's figures), or None when
    the organization has no cost data yet."""
    if not CostData.objects.filter(organization=organization).exists():
        return None
    summary = cost_summary(organization=organization, today=today)
    rows = breakdown(
        organization=organization,
        start=today.replace(day=1),
        end=today + timedelta(days=1),
        by="provider",
        filters=CostFilters(),
        currency=summary.currency,
        rates=summary.rates,
    )
    return summary, rows


def anomaly_list(
    *, organization: Organization, state: str = "", account: int | None = None
) -> QuerySet[Anomaly]:
    """The organization's anomalies, newest day first; open or acknowledged ones only when
    `state` says so."""
    rows = Anomaly.objects.filter(organization=organization)
    if state:
        rows = rows.filter(state=state)
    if account is not None:
        rows = rows.filter(account_id=account)
    return rows.select_related("account", "acknowledged_by").order_by("-day", "service", "id")


def anomalies_in(
    *, organization: Organization, start: date, end: date, filters: CostFilters
) -> QuerySet[Anomaly]:
    """The anomalies of [start, end) under the billing page's filters. Anomalies are per
    account and service across regions, so a region filter keeps none of them."""
    rows = anomaly_list(organization=organization).filter(day__gte=start, day__lt=end)
    if filters.region:
        return rows.none()
    lookups = {"provider": filters.provider, "account_id": filters.account,
               "service": filters.service}  # fmt: skip
    return rows.filter(
        **{k: "" if v == NONE else v for k, v in lookups.items() if v not in ("", None)}
    )


FINDING_ORDERS = {"-saving": ("-saving", "id"), "saving": ("saving", "id")}


@dataclass(frozen=True)
class FindingFilters:
    """The Savings page's selection: rule, account, resource type, open or dismissed."""

    rule: str = ""
    account: int | None = None
    kind: str = ""
    dismissed: bool = False
    order: str = "-saving"


def finding_list(*, organization: Organization, filters: FindingFilters) -> QuerySet[Finding]:
    """The organization's findings of the selection, with their resource and account."""
    rows = Finding.objects.filter(
        organization=organization, dismissed_at__isnull=not filters.dismissed
    )
    if filters.rule:
        rows = rows.filter(rule=filters.rule)
    if filters.account is not None:
        rows = rows.filter(account_id=filters.account)
    if filters.kind:
        rows = rows.filter(resource__type=filters.kind)
    return rows.select_related("resource", "account", "dismissed_by").order_by(
        *FINDING_ORDERS.get(filters.order, FINDING_ORDERS["-saving"])
    )


def finding_totals(rows: QuerySet[Finding]) -> tuple[Money, list[dict[str, Any]]]:
    """The monthly saving of `rows` per currency, and per rule (count and saving), in one
    query."""
    total = Money()
    per_rule: dict[str, dict[str, Any]] = {}
    grouped = (
        rows.order_by().values("rule", "currency").annotate(saving=Sum("saving"), count=Count("*"))
    )
    for row in grouped:
        total.add(row["currency"], row["saving"])
        entry = per_rule.setdefault(
            row["rule"],
            {"rule": row["rule"], "label": Finding.Rule(row["rule"]).label, "count": 0,
             "money": Money()},
        )  # fmt: skip
        entry["count"] += row["count"]
        entry["money"].add(row["currency"], row["saving"])
    return total, sorted(per_rule.values(), key=lambda e: e["label"])
