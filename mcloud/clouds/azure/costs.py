"""Daily costs from the Cost Management query API, one subscription and at most a year at a
time (Cost Management refuses longer custom periods), paged to the end.

A query takes at most two groupings, and service and resource use both: a second query, of
the whole period grouped by ResourceId and ResourceLocation, gives each resource's region
(costs of no resource carry none). Cost Management spells resource ids in lower case; they are
kept as given, with the subscription in metadata. Costs by tag come from one query per tag key
grouped by TagKey."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.mgmt.costmanagement import models as cost_models

from mcloud.clouds.azure.errors import retried
from mcloud.clouds.base import CloudError, CostRecord, TagCostRecord

COST_QUERY_MAX_DAYS = 365  # Cost Management refuses a custom period longer than a year


def subscription_costs(
    client: Any, subscription_id: str, first: date, last: date, *, retries: int
) -> list[CostRecord]:
    """One subscription's costs from `first` to `last`, both included (as Azure counts)."""
    scope = f"/subscriptions/{subscription_id}"
    query = _query(
        first,
        last,
        [
            cost_models.QueryGrouping(type="Dimension", name="ServiceName"),
            cost_models.QueryGrouping(type="Dimension", name="ResourceId"),
        ],
    )
    records: list[CostRecord] = []
    for columns, rows in _pages(client, scope, query, retries, subscription_id):
        amount = _amount_column(columns)
        for row in rows:
            records.append(
                CostRecord(
                    date=_usage_date(row[columns["usagedate"]]),
                    service=_cell(row, columns.get("servicename")),
                    amount=Decimal(str(row[amount])),
                    currency=_cell(row, columns.get("currency")),
                    resource_id=_cell(row, columns.get("resourceid")),
                    metadata={"subscription_id": subscription_id},
                )
            )
    if any(r.resource_id for r in records):
        where = resource_locations(client, subscription_id, first, last, retries=retries)
        for record in records:
            record.region = where.get(record.resource_id.lower(), "")
    return records


def resource_locations(
    client: Any, subscription_id: str, first: date, last: date, *, retries: int
) -> dict[str, str]:
    """Each billed resource's location (lower-case id -> "westeurope"), from one query of
    [first, last] grouped by ResourceId and ResourceLocation (no daily rows)."""
    query = _query(
        first,
        last,
        [
            cost_models.QueryGrouping(type="Dimension", name="ResourceId"),
            cost_models.QueryGrouping(type="Dimension", name="ResourceLocation"),
        ],
        daily=False,
    )
    found: dict[str, str] = {}
    scope = f"/subscriptions/{subscription_id}"
    for columns, rows in _pages(client, scope, query, retries, subscription_id):
        if "resourceid" not in columns or "resourcelocation" not in columns:
            raise CloudError(
                "Azure answered the location query without its columns", code="UnexpectedAnswer"
            )
        for row in rows:
            resource = _cell(row, columns["resourceid"]).lower()
            if resource:
                found[resource] = _cell(row, columns["resourcelocation"]).lower()
    return found


def subscription_tag_costs(
    client: Any, subscription_id: str, first: date, last: date, key: str, *, retries: int
) -> list[TagCostRecord]:
    """One subscription's daily costs per value of the tag `key`, from `first` to `last`
    (both included), from a query grouped by TagKey.

    Cost Management answers TagKey and TagValue columns; the cost of resources without the
    tag comes with both empty (value "" here). Tag names compare without case in Azure, so a
    row whose TagKey is another spelling of `key` is the same tag."""
    query = _query(first, last, [cost_models.QueryGrouping(type="TagKey", name=key)])
    records: list[TagCostRecord] = []
    scope = f"/subscriptions/{subscription_id}"
    for columns, rows in _pages(client, scope, query, retries, subscription_id):
        amount = _amount_column(columns)
        for row in rows:
            tag = _cell(row, columns.get("tagkey"))
            tagged = tag.lower() == key.lower()
            records.append(
                TagCostRecord(
                    date=_usage_date(row[columns["usagedate"]]),
                    key=key,
                    value=_cell(row, columns.get("tagvalue")) if tagged else "",
                    amount=Decimal(str(row[amount])),
                    currency=_cell(row, columns.get("currency")),
                )
            )
    return records


def _query(first: date, last: date, grouping: list[Any], *, daily: bool = True) -> Any:
    """A daily (or whole-period) pre-tax actual cost query of [first, last] with the given
    groupings."""
    return cost_models.QueryDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=cost_models.QueryTimePeriod(
            from_property=datetime.combine(first, time.min, UTC),
            to=datetime.combine(last, time(23, 59, 59), UTC),
        ),
        dataset=cost_models.QueryDataset(
            granularity="Daily" if daily else None,
            aggregation={
                "totalCost": cost_models.QueryAggregation(name="PreTaxCost", function="Sum")
            },
            grouping=grouping,
        ),
    )


def _pages(
    client: Any, scope: str, query: Any, retries: int, subscription_id: str
) -> Iterator[tuple[dict[str, int], list[list[Any]]]]:
    """({column name in lower case: index}, rows) of each page of the query's answer."""
    result = retried(lambda: client.query.usage(scope, query), retries)
    seen: set[str] = set()
    while True:
        columns = {(c.name or "").lower(): i for i, c in enumerate(result.columns or [])}
        yield columns, list(result.rows or [])
        if not result.next_link:
            return
        # The next page: the same query POSTed again with the link's $skiptoken.
        token = parse_qs(urlsplit(result.next_link).query).get("$skiptoken", [""])[0]
        if not token or token in seen:
            raise CloudError(
                f"Azure gave an unusable next page for the costs of {subscription_id}",
                code="Paging",
            )
        seen.add(token)
        result = retried(
            partial(client.query.usage, scope, query, params={"$skiptoken": token}), retries
        )


def _amount_column(columns: dict[str, int]) -> int:
    amount = columns.get("pretaxcost", columns.get("totalcost"))
    if amount is None or "usagedate" not in columns:
        raise CloudError(
            "Azure answered the cost query without cost or date columns",
            code="UnexpectedAnswer",
        )
    return amount


def windows(start: date, end: date, days: int = COST_QUERY_MAX_DAYS) -> Iterator[tuple[date, date]]:
    """[start, end) as inclusive (first, last) periods of at most `days` days."""
    while start < end:
        stop = min(end, start + timedelta(days=days))
        yield start, stop - timedelta(days=1)
        start = stop


def _usage_date(value: Any) -> date:
    """UsageDate comes as a number (20261001), or as text in some API versions."""
    text = str(int(value)) if isinstance(value, int | float) else str(value)
    if text.isdigit() and len(text) == 8:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return date.fromisoformat(text[:10])


def _cell(row: list[Any], index: int | None) -> str:
    return "" if index is None or row[index] is None else str(row[index])
