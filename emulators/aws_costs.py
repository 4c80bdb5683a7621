"""Cost Explorer for the sandbox: a ForwardingProxy in front of moto that answers
`GetCostAndUsage` and `GetCostAndUsageWithResources` itself, from a table of daily costs,
and forwards every other request.

moto's Cost Explorer replays queued static results, one per distinct request body, so it cannot
answer whatever date range an app asks for. This answers the JSON 1.1 request
(`POST /`, `X-Amz-Target: AWSInsightsIndexService.GetCostAndUsage`) the way Cost Explorer does:

- `TimePeriod`: `Start` included, `End` excluded (ISO dates, Start before End).
- `Granularity` DAILY or MONTHLY: one `ResultsByTime` entry per day or month of the period,
  empty ones included; `Estimated` is true from the first day of the current month on.
- `Metrics`: any of the cost metrics (UnblendedCost, BlendedCost, AmortizedCost,
  NetUnblendedCost, NetAmortizedCost), all the same amount here (no reservations, no credits).
- `GroupBy`: up to two groupings among the DIMENSIONs SERVICE, REGION, RECORD_TYPE,
  LINKED_ACCOUNT and (with resources) RESOURCE_ID, and TAGs (`Groups`, and
  `GroupDefinitions`); without any, each period has its `Total`. A TAG group's key is
  `key$value`, and `key$` for the cost of resources without the tag; a RESOURCE_ID group's key
  is `NoResourceId` for costs of no resource (data transfer, support), as in Cost Explorer.
- LINKED_ACCOUNT: the payer's bill holds its organization's accounts. A cost row is of the
  payer (`account_id`, moto's account) unless it names another (`account`); grouped by it,
  a group's key is the account's id and `DimensionValueAttributes` lists each id of the page
  with its name (`{"Value": id, "Attributes": {"description": name}}`, names from
  `account_names`, else the id), as Cost Explorer answers a management account.
- `Filter`: an Expression of `Dimensions` (those dimensions, `Values` matched exactly; the
  MatchOptions EQUALS and CASE_SENSITIVE), `And`, `Or` and `Not`. Tags and cost categories
  are not filtered here.
- `GetCostAndUsageWithResources` (botocore's `ce/2017-10-25` model): `Filter` is required,
  the request must group or filter by RESOURCE_ID, and `TimePeriod.Start` must be within the
  last 14 days (`DataUnavailableException` otherwise, as for data AWS no longer keeps).
  `resource_level = False` answers it as an account that has not opted in to resource-level
  data does (`DataUnavailableException`).
- Paging: whole periods, at most `page_size` groups per page, `NextPageToken` while more remain.

Errors are Cost Explorer's JSON errors (`ValidationException`, `InvalidNextTokenException`,
`DataUnavailableException`). It does not check request signatures: the requests it answers
never reach moto.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from emulators.aws import ACCOUNT_ID
from emulators.base import Request, Response
from emulators.proxy import ForwardingProxy

TARGET = "AWSInsightsIndexService.GetCostAndUsage"
TARGET_RESOURCES = "AWSInsightsIndexService.GetCostAndUsageWithResources"
RESOURCE_DAYS = 14  # how far back Cost Explorer keeps resource-level data
NO_RESOURCE = "NoResourceId"
COST_METRICS = (
    "UnblendedCost",
    "BlendedCost",
    "AmortizedCost",
    "NetUnblendedCost",
    "NetAmortizedCost",
)
DIMENSIONS = ("SERVICE", "REGION", "RECORD_TYPE", "LINKED_ACCOUNT")
RESOURCE_DIMENSIONS = (*DIMENSIONS, "RESOURCE_ID")


class _Invalid(Exception):
    def __init__(self, message: str, kind: str = "ValidationException") -> None:
        super().__init__(message)
        self.kind = kind


class CostExplorerProxy(ForwardingProxy):
    """moto behind, Cost Explorer's GetCostAndUsage in front. Set `target` (moto's URL) before
    the first forwarded request if it was not known at construction."""

    def __init__(self, target: str = "", *, port: int = 0, currency: str = "USD") -> None:
        super().__init__(target)
        self._port = port  # ForwardingProxy always asks for a free port
        self.name = "aws-cost-explorer"
        self.page_size = 500  # groups per page
        self.currency = currency
        self.resource_level = True  # resource-level data opted in (in the payer account)
        self.today: dt.date | None = None  # None: today in UTC
        self.account_id = ACCOUNT_ID  # the payer's: cost rows naming no account are its
        self.account_names: dict[str, str] = {}  # linked account id -> its name
        # (day, service, region, ((tag key, value), ...), resource id, record type,
        #  linked account) -> cost
        self._costs: dict[_Key, Decimal] = {}
        self._costs_lock = threading.Lock()

    # --- state ------------------------------------------------------------------------
    def add_costs(self, rows: Iterable[dict[str, Any]]) -> None:
        """Daily rows: date, service, region ("NoRegion" for none), cost, and optionally the
        tags of what the cost is for ({"team": "web"}), the resource's id as Cost Explorer
        names it (`resource_id`: "i-0abc", a bucket's name, an ARN), the record type
        (`record_type`, default "Usage") and the linked account it is of (`account`, default
        the payer's `account_id`); rows of the same key add up."""
        checked = []
        for row in rows:
            if missing := {"date", "service", "region", "cost"} - row.keys():
                raise KeyError(f"cost row without {sorted(missing)}: {row!r}")
            day = row["date"]
            if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
                raise TypeError(f"date must be a datetime.date, not {day!r}")
            tags = tuple(sorted((str(k), str(v)) for k, v in (row.get("tags") or {}).items()))
            resource = str(row.get("resource_id") or "")
            kind = str(row.get("record_type") or "Usage")
            linked = str(row.get("account") or self.account_id)
            key = (day, str(row["service"]), str(row["region"]), tags, resource, kind, linked)
            checked.append((key, _decimal(row)))
        with self._costs_lock:
            for key, cost in checked:
                self._costs[key] = self._costs.get(key, Decimal(0)) + cost

    def clear_costs(self) -> None:
        with self._costs_lock:
            self._costs.clear()

    # --- wire -------------------------------------------------------------------------
    def dispatch(self, request: Request) -> tuple[Response, bool]:
        target = request.headers.get("x-amz-target")
        if request.method == "POST" and target in (TARGET, TARGET_RESOURCES):
            try:
                body = request.json() or {}
                if target == TARGET_RESOURCES:
                    return _json(self._with_resources(body)), True
                return _json(self._cost_and_usage(body)), True
            except _Invalid as exc:
                return _json({"__type": exc.kind, "Message": str(exc)}, 400), True
            except (ValueError, TypeError, AttributeError) as exc:
                return _json({"__type": "ValidationException", "Message": str(exc)}, 400), True
        return super().dispatch(request)

    def _with_resources(self, body: dict[str, Any]) -> dict[str, Any]:
        """GetCostAndUsageWithResources: GetCostAndUsage's answer, with RESOURCE_ID among
        the dimensions, over the last RESOURCE_DAYS days only."""
        if not self.resource_level:
            raise _Invalid(
                "Resource-level data is not enabled for this account: opt in from the Cost "
                "Explorer settings of the management account.",
                "DataUnavailableException",
            )
        if not body.get("Filter"):
            raise _Invalid("1 validation error detected: Value null at 'filter' failed to "
                           "satisfy constraint: Member must not be null")  # fmt: skip
        grouped = any(g.get("Key") == "RESOURCE_ID" for g in body.get("GroupBy") or [])
        if not grouped and "RESOURCE_ID" not in _filter_keys(body["Filter"]):
            raise _Invalid("GetCostAndUsageWithResources requires a group by or filter by "
                           "ResourceId.")  # fmt: skip
        try:
            start = dt.date.fromisoformat((body.get("TimePeriod") or {})["Start"])
        except (KeyError, TypeError, ValueError):
            raise _Invalid("TimePeriod needs Start and End dates as yyyy-MM-dd") from None
        today = self.today or dt.datetime.now(dt.UTC).date()
        if start < today - dt.timedelta(days=RESOURCE_DAYS):
            raise _Invalid(
                f"Resource-level data is available for the last {RESOURCE_DAYS} days only: "
                f"start on {today - dt.timedelta(days=RESOURCE_DAYS)} or later.",
                "DataUnavailableException",
            )
        return self._cost_and_usage(body, dimensions=RESOURCE_DIMENSIONS)

    def _cost_and_usage(
        self, body: dict[str, Any], dimensions: tuple[str, ...] = DIMENSIONS
    ) -> dict[str, Any]:
        period = body.get("TimePeriod") or {}
        try:
            start = dt.date.fromisoformat(period["Start"])
            end = dt.date.fromisoformat(period["End"])
        except (KeyError, TypeError, ValueError):
            raise _Invalid("TimePeriod needs Start and End dates as yyyy-MM-dd") from None
        if start >= end:
            raise _Invalid("Start date (inclusive) must be before end date (exclusive)")
        granularity = body.get("Granularity")
        if granularity not in ("DAILY", "MONTHLY"):
            raise _Invalid(f"Granularity {granularity} is not supported here")
        metrics = body.get("Metrics") or []
        if not metrics or any(m not in COST_METRICS for m in metrics):
            raise _Invalid(f"Metrics must be cost metrics among {', '.join(COST_METRICS)}")
        expression = body.get("Filter") or {}
        _check_filter(expression, dimensions)
        group_by = body.get("GroupBy") or []
        groups = [(g.get("Type"), g.get("Key")) for g in group_by]
        if len(groups) > 2 or len(set(groups)) != len(groups):
            raise _Invalid("GroupBy takes at most two distinct groupings")
        for kind, key in groups:
            if kind == "TAG" and isinstance(key, str) and key:
                continue
            if kind != "DIMENSION" or key not in dimensions:
                raise _Invalid(
                    f"GroupBy supports TAGs and the DIMENSIONs {', '.join(dimensions)} only"
                )

        periods = _periods(start, end, granularity)
        first = 0
        if token := body.get("NextPageToken"):
            first = _decode_token(token, start, end)
        with self._costs_lock:
            costs = [
                (key, cost)
                for key, cost in self._costs.items()
                if start <= key[0] < end and _matches(expression, key)
            ]
        results, sizes = [], []
        for begin, stop in periods[first:]:
            sums: dict[tuple[str, ...], Decimal] = {}
            for row, cost in costs:
                if begin <= row[0] < stop:
                    key = tuple(_group_key(kind, k, row) for kind, k in groups)
                    sums[key] = sums.get(key, Decimal(0)) + cost
            results.append(self._period(begin, stop, metrics, sums, grouped=bool(groups)))
            sizes.append(max(1, len(sums)))
            if sum(sizes) >= self.page_size:
                break
        linked = sorted(
            {
                group["Keys"][index]
                for period in results
                for group in period["Groups"]
                for index, (kind, k) in enumerate(groups)
                if (kind, k) == ("DIMENSION", "LINKED_ACCOUNT")
            }
        )
        attributes = [
            {"Value": v, "Attributes": {"description": self.account_names.get(v, v)}}
            for v in linked
        ]
        answer: dict[str, Any] = {"ResultsByTime": results, "DimensionValueAttributes": attributes}
        if groups:
            answer["GroupDefinitions"] = [{"Type": kind, "Key": k} for kind, k in groups]
        following = first + len(results)
        if following < len(periods):
            answer["NextPageToken"] = _encode_token(following, start, end)
        return answer

    def _period(
        self,
        begin: dt.date,
        stop: dt.date,
        metrics: list[str],
        sums: dict[tuple[str, ...], Decimal],
        *,
        grouped: bool,
    ) -> dict[str, Any]:
        def amounts(total: Decimal) -> dict[str, Any]:
            return {m: {"Amount": _amount(total), "Unit": self.currency} for m in metrics}

        this_month = dt.datetime.now(dt.UTC).date().replace(day=1)
        entry: dict[str, Any] = {
            "TimePeriod": {"Start": begin.isoformat(), "End": stop.isoformat()},
            "Total": {} if grouped else amounts(sum(sums.values(), Decimal(0))),
            "Groups": [
                {"Keys": list(key), "Metrics": amounts(total)}
                for key, total in sorted(sums.items())
            ]
            if grouped
            else [],
            "Estimated": stop > this_month,
        }
        return entry


# (day, service, region, ((tag key, value), ...), resource id, record type, linked account)
_Key = tuple[dt.date, str, str, tuple[tuple[str, str], ...], str, str, str]


def _dimension(row: _Key, dimension: str) -> str:
    """A cost row's value of a dimension, as Cost Explorer spells it."""
    _, service, region, _, resource, kind, linked = row
    if dimension == "SERVICE":
        return service
    if dimension == "REGION":
        return region
    if dimension == "RECORD_TYPE":
        return kind
    if dimension == "LINKED_ACCOUNT":
        return linked
    return resource or NO_RESOURCE


def _group_key(kind: str, key: str, row: _Key) -> str:
    """A group's key as Cost Explorer spells it: the dimension's value, or `tag$value`."""
    if kind == "TAG":
        return f"{key}${dict(row[3]).get(key, '')}"
    return _dimension(row, key)


def _check_filter(expression: dict[str, Any], dimensions: tuple[str, ...]) -> None:
    """Refuse an Expression this fake cannot answer as Cost Explorer would."""
    if not expression:
        return
    parts = [k for k in ("And", "Or", "Not", "Dimensions") if expression.get(k)]
    if len(parts) != 1 or len(expression) != 1:
        raise _Invalid("An Expression takes exactly one of And, Or, Not and Dimensions here")
    part = parts[0]
    if part in ("And", "Or"):
        if len(expression[part]) < 2:
            raise _Invalid(f"{part} needs at least two expressions")
        for inner in expression[part]:
            _check_filter(inner, dimensions)
    elif part == "Not":
        _check_filter(expression["Not"], dimensions)
    else:
        values = expression["Dimensions"]
        if values.get("Key") not in dimensions:
            raise _Invalid(f"Filter supports the DIMENSIONs {', '.join(dimensions)} only")
        options = set(values.get("MatchOptions") or ["EQUALS"])
        if not options <= {"EQUALS", "CASE_SENSITIVE"} or not values.get("Values"):
            raise _Invalid("Dimensions take Values, matched with EQUALS (CASE_SENSITIVE)")


def _filter_keys(expression: dict[str, Any]) -> set[str]:
    """The dimensions an Expression names."""
    if "Dimensions" in expression:
        return {str(expression["Dimensions"].get("Key"))}
    inner = expression.get("And") or expression.get("Or") or [expression.get("Not") or {}]
    return set().union(*(_filter_keys(e) for e in inner if e))


def _matches(expression: dict[str, Any], row: _Key) -> bool:
    if not expression:
        return True
    if "And" in expression:
        return all(_matches(e, row) for e in expression["And"])
    if "Or" in expression:
        return any(_matches(e, row) for e in expression["Or"])
    if "Not" in expression:
        return not _matches(expression["Not"], row)
    values = expression["Dimensions"]
    return _dimension(row, values["Key"]) in values["Values"]


def _periods(start: dt.date, end: dt.date, granularity: str) -> list[tuple[dt.date, dt.date]]:
    periods, begin = [], start
    while begin < end:
        if granularity == "DAILY":
            stop = begin + dt.timedelta(days=1)
        else:
            stop = (begin.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        periods.append((begin, min(stop, end)))
        begin = min(stop, end)
    return periods


def _decimal(row: dict[str, Any]) -> Decimal:
    return Decimal(str(row["cost"]))


def _amount(value: Decimal) -> str:
    """Cost Explorer's amounts: decimal text with up to 10 decimals, no exponent."""
    text = format(value.quantize(Decimal("1e-10")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _encode_token(index: int, start: dt.date, end: dt.date) -> str:
    raw = json.dumps({"i": index, "s": start.isoformat(), "e": end.isoformat()})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: str, start: dt.date, end: dt.date) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if (decoded["s"], decoded["e"]) == (start.isoformat(), end.isoformat()):
            return int(decoded["i"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise _Invalid("Invalid NextPageToken", "InvalidNextTokenException")


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "sandbox-ce"},
    )
