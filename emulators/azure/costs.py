"""Cost Management's query API (Query.Usage) over the usage rows a test adds."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from emulators.azure.state import _ID, AzurePart, _arm, _decode_token
from emulators.base import Request, Response

COST_COLUMNS = ("Cost", "PreTaxCost", "CostUSD", "PreTaxCostUSD")
# Dimension names Cost Management groups and filters by (case-insensitive), spelled canonically.
DIMENSIONS = {
    name.lower(): name
    for name in (
        "ServiceName",
        "MeterCategory",
        "ResourceId",
        "ResourceLocation",
        "ResourceGroup",
        "ResourceGroupName",
        "ResourceType",
        "SubscriptionId",
        "ChargeType",
    )
}


class CostsMixin(AzurePart):
    # --- state: costs -----------------------------------------------------------------
    def add_costs(self, subscription_id: str, rows: list[dict[str, Any]]) -> None:
        """Usage rows: date, service, resource_id, cost; currency, location and tags optional."""
        checked = []  # bad rows fail here, not as a puzzling 400 from a later query
        for row in rows:
            if missing := {"date", "service", "resource_id", "cost"} - row.keys():
                raise KeyError(f"cost row without {sorted(missing)}: {row!r}")
            day = row["date"]
            if not isinstance(day, dt.date):
                raise TypeError(f"date must be a datetime.date, not {day!r}")
            day = day.date() if isinstance(day, dt.datetime) else day
            Decimal(str(row["cost"]))
            checked.append({"currency": "USD", "location": "westeurope", **row, "date": day})
        with self._lock:
            self._state.costs.setdefault(subscription_id.lower(), []).extend(checked)

    def clear_costs(self, subscription_id: str | None = None) -> None:
        with self._lock:
            if subscription_id is None:
                self._state.costs.clear()
            else:
                self._state.costs.pop(subscription_id.lower(), None)

    # --- wire: Cost Management ----------------------------------------------------------
    def _cost(self, request: Request) -> Response:
        """Query.Usage: sums of cost per day (if Daily) and per grouping, paged by $skiptoken."""
        sub, rg = request.params["sub"], request.params.get("rg")
        caller = self._authorize(request, sub, "Microsoft.CostManagement/query/action")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            rows = list(self._state.costs.get(sub.lower(), []))
        if rg:
            rows = [r for r in rows if _dimension(r, sub, "resourcegroupname") == rg.lower()]
        try:
            query = _CostQuery.parse(request.json())
            table = query.run(rows, sub)
            offset = int(_decode_token(request.arg("$skiptoken")) or 0)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return self.error(400, "BadRequest", f"Invalid query definition: {exc}")
        page = table[offset : offset + self.cost_page_size]
        more = offset + self.cost_page_size < len(table)
        next_link = self._next_link(request, str(offset + self.cost_page_size)) if more else None
        query_id = str(uuid.uuid4())
        return _arm(
            {
                "id": f"subscriptions/{sub}/providers/Microsoft.CostManagement/query/{query_id}",
                "name": query_id,
                "type": "Microsoft.CostManagement/query",
                "location": None,
                "sku": None,
                "eTag": None,
                "properties": {"nextLink": next_link, "columns": query.columns(), "rows": page},
            }
        )


@dataclass
class _CostQuery:
    """A parsed QueryDefinition, limited to what Cost Management allows (two groupings)."""

    start: dt.date
    end: dt.date
    daily: bool
    aggregations: list[str]
    groupings: list[str]  # dimension names; "TagKey:<name>" for a grouping by a tag
    filter: dict[str, Any] | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> _CostQuery:
        if body.get("type") not in ("Usage", "ActualCost", "AmortizedCost"):
            raise ValueError(f"unsupported type '{body.get('type')}'.")
        start, end = _timeframe(body.get("timeframe"), body.get("timePeriod"))
        if (end - start).days > 366:
            raise ValueError("The time period for pulling the data cannot exceed 1 year(s).")
        dataset = body.get("dataset") or {}
        granularity = dataset.get("granularity") or "None"
        if granularity not in ("Daily", "None"):
            raise ValueError(f"unsupported granularity '{granularity}'.")
        aggregations = []
        for alias, aggregation in (dataset.get("aggregation") or {}).items():
            if aggregation.get("function") != "Sum" or aggregation["name"] not in COST_COLUMNS:
                raise ValueError(f"unsupported aggregation '{alias}'.")
            aggregations.append(aggregation["name"])
        groupings = []
        for grouping in dataset.get("grouping") or []:
            name = grouping["name"].lower()
            if grouping.get("type") == "TagKey" and grouping["name"]:
                groupings.append(f"TagKey:{grouping['name']}")
                continue
            if grouping.get("type") != "Dimension" or name not in DIMENSIONS:
                raise ValueError(f"Dimension '{grouping['name']}' is not valid.")
            groupings.append(DIMENSIONS[name])
        if len(groupings) > 2:
            raise ValueError("Query can have up to 2 group by clauses.")
        return cls(
            start,
            end,
            granularity == "Daily",
            aggregations or ["Cost"],
            groupings,
            dataset.get("filter"),
        )

    def columns(self) -> list[dict[str, str]]:
        names = [(a, "Number") for a in self.aggregations]
        names += [("UsageDate", "Number")] if self.daily else []
        for g in self.groupings:  # a tag grouping answers two columns: the key and its value
            tag = g.startswith("TagKey:")
            names += [("TagKey", "String"), ("TagValue", "String")] if tag else [(g, "String")]
        names += [("Currency", "String")]
        return [{"name": name, "type": kind} for name, kind in names]

    def run(self, rows: list[dict[str, Any]], sub: str) -> list[list[Any]]:
        sums: dict[tuple[Any, ...], Decimal] = {}
        for row in rows:
            if not self.start <= row["date"] <= self.end or not _matches(self.filter, row, sub):
                continue
            day = (int(row["date"].strftime("%Y%m%d")),) if self.daily else ()
            groups = tuple(v for g in self.groupings for v in _group(row, sub, g))
            key = (*day, *groups, row["currency"])
            sums[key] = sums.get(key, Decimal(0)) + Decimal(str(row["cost"]))
        return [
            [*(float(total) for _ in self.aggregations), *key]
            for key, total in sorted(sums.items())
        ]


def _timeframe(timeframe: str | None, period: dict[str, str] | None) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    first = today.replace(day=1)
    if timeframe == "Custom":
        if not period:
            raise ValueError("timePeriod is required when timeframe is Custom.")
        return dt.date.fromisoformat(period["from"][:10]), dt.date.fromisoformat(period["to"][:10])
    if timeframe in ("MonthToDate", "BillingMonthToDate"):
        return first, today
    if timeframe in ("TheLastMonth", "TheLastBillingMonth"):
        last = first - dt.timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"unsupported timeframe '{timeframe}'.")


def _matches(expression: dict[str, Any] | None, row: dict[str, Any], sub: str) -> bool:
    """QueryFilter: `and`, `or`, and `dimensions` / `tags` comparisons with operator In."""
    if not expression:
        return True
    if "and" in expression:
        return all(_matches(e, row, sub) for e in expression["and"])
    if "or" in expression:
        return any(_matches(e, row, sub) for e in expression["or"])
    if "not" in expression:
        return not _matches(expression["not"], row, sub)
    if "dimensions" in expression:
        comparison = expression["dimensions"]
        if comparison["name"].lower() not in DIMENSIONS:
            raise ValueError(f"Dimension '{comparison['name']}' is not valid.")
        value = _dimension(row, sub, comparison["name"].lower())
    elif "tags" in expression:
        comparison = expression["tags"]
        value = (row.get("tags") or {}).get(comparison["name"], "")
    else:
        raise ValueError("a filter needs and, or, dimensions or tags.")
    return value.lower() in {v.lower() for v in comparison["values"]}


def _group(row: dict[str, Any], sub: str, grouping: str) -> tuple[str, ...]:
    """A row's cells for a grouping: a dimension's value, or a tag's key and value (both
    empty where the row has no such tag; tag names compare without case)."""
    if not grouping.startswith("TagKey:"):
        return (_dimension(row, sub, grouping.lower()),)
    name = grouping.removeprefix("TagKey:").lower()
    for key, value in (row.get("tags") or {}).items():
        if key.lower() == name:
            return key, str(value)
    return "", ""


def _dimension(row: dict[str, Any], sub: str, name: str) -> str:
    """A row's value for a dimension, spelled as Cost Management answers (ids in lower case)."""
    match = _ID.match(row["resource_id"])
    if name in ("servicename", "metercategory"):
        return str(row["service"])
    if name == "resourceid":
        return str(row["resource_id"]).lower()
    if name == "resourcelocation":
        return str(row["location"])
    if name in ("resourcegroup", "resourcegroupname"):
        return match["rg"].lower() if match else ""
    if name == "resourcetype":
        return f"{match['ns']}/{match['type']}".lower() if match else ""
    if name == "subscriptionid":
        return sub
    return "Usage"  # ChargeType
