"""The billing export side of the BigQuery fake: export rows and tables, the shape of the
billing query the fake answers (see `emulators.gcp.bigquery` for the contract), its answer, and
the export's schema."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

OUTPUT_TYPES = {
    "usage_date": "DATE",
    "project_id": "STRING",
    "service": "STRING",
    "region": "STRING",
    "resource_id": "STRING",
    "tag_key": "STRING",  # a key of the @keys array parameter (the rows are crossed with it)
    "tag_value": "STRING",  # the row's label of that key, "" without one
    "currency": "STRING",
    "cost": "FLOAT",  # NUMERIC when the query casts to it
}
DETAILED_PREFIX = "gcp_billing_export_resource_v1"
TABLE_NAME = re.compile(
    r"(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.(?P<dataset>\w+)\.(?P<table>[\w-]+)", re.ASCII
)


@dataclass
class BillingRow:
    day: dt.date
    project_id: str
    service: str
    region: str
    resource: str
    currency: str
    cost: Decimal
    credits: Decimal
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class BillingTable:
    project: str
    dataset: str
    table: str
    detailed: bool | None  # None: decided by the name and the rows
    rows: list[BillingRow] = field(default_factory=list)

    @property
    def is_detailed(self) -> bool:
        if self.detailed is not None:
            return self.detailed
        return self.table.startswith(DETAILED_PREFIX) or any(r.resource for r in self.rows)


class QueryError(Exception):
    """Why BigQuery refuses a query: (HTTP status, reason, message)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.error = (status, reason, message)


def billing_row(row: dict[str, Any], table_project: str) -> BillingRow:
    if missing := {"usage_start_time", "service", "cost"} - row.keys():
        raise KeyError(f"billing row without {sorted(missing)}: {row!r}")
    when = row["usage_start_time"]
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if not isinstance(when, dt.datetime):
        raise TypeError(f"usage_start_time must be a datetime, not {when!r}")
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    resource = str(row.get("resource") or "")
    owner = re.match(r"projects/([^/]+)/", resource)
    credits = row.get("credits") or 0
    if isinstance(credits, list):
        amounts = [c["amount"] if isinstance(c, dict) else c for c in credits]
    else:
        amounts = [credits]
    return BillingRow(
        day=when.date(),
        project_id=str(row.get("project") or (owner[1] if owner else table_project)),
        service=str(row["service"]),
        region=str(row.get("region") or ""),
        resource=resource,
        currency=str(row.get("currency") or "USD"),
        cost=Decimal(str(row["cost"])),
        credits=sum((Decimal(str(a)) for a in amounts), Decimal(0)),
        labels={str(k): str(v) for k, v in (row.get("labels") or {}).items()},
    )


def _value(row: BillingRow, column: str, key: str) -> str:
    if column == "tag_key":
        return key
    if column == "tag_value":
        return row.labels.get(key, "")
    if column == "usage_date":
        return row.day.isoformat()
    if column == "resource_id":
        return row.resource
    return str(getattr(row, column))


def _cost_text(total: Decimal, numeric: bool) -> str:
    """NUMERIC travels as its decimal text (9 digits at most), FLOAT64 as a float's repr."""
    if not numeric:
        return repr(float(total))
    text = format(total.quantize(Decimal("1e-9")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _blank_nested(sql: str) -> str:
    """The query with parenthesized parts, string literals and comments blanked out (same
    length), so that what remains belongs to the outermost SELECT."""
    out, depth, quote, i = list(sql), 0, "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == "\\":
                out[i : i + 2] = "  "[: len(out[i : i + 2])]
                i += 2
                continue
            out[i] = " " if ch != "\n" else ch
            if ch == quote:
                quote = ""
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
            continue
        elif ch in "'\"":
            quote, out[i] = ch, " "
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            out[i] = " "
        if depth > 0:
            out[i] = " " if ch != "\n" else ch
        i += 1
    return "".join(out)


def parse_query(sql: str) -> tuple[dict[str, str], str]:
    """({output column: type}, table name) of our billing query."""
    flat = _blank_nested(sql)
    select = re.search(r"\bSELECT\b", flat, re.IGNORECASE)
    source = re.search(r"\bFROM\s+(`[^`]+`|[\w.-]+)", flat, re.IGNORECASE)
    if not select or not source or source.start() < select.end():
        raise QueryError(400, "invalidQuery", "The fake answers SELECT ... FROM <table> only.")
    columns: dict[str, str] = {}
    cut = select.end()
    for comma in [m.start() for m in re.finditer(",", flat[: source.start()])] + [source.start()]:
        if comma < cut:
            continue
        item, cut = sql[cut:comma].strip(), comma + 1
        alias = re.search(r"(?:\bAS\s+|^)`?(\w+)`?\s*$", item, re.IGNORECASE)
        name = alias[1].lower() if alias else ""
        if name not in OUTPUT_TYPES:
            raise QueryError(
                400,
                "invalidQuery",
                f"The fake cannot answer the column {item!r}: name it AS "
                f"one of {', '.join(OUTPUT_TYPES)}.",
            )
        numeric = name == "cost" and "NUMERIC" in item.upper()
        columns[name] = "NUMERIC" if numeric else OUTPUT_TYPES[name]
    if not {"usage_date", "cost"} <= columns.keys():
        raise QueryError(400, "invalidQuery", "The fake needs usage_date and cost columns.")
    where = sql[source.end() :]
    if not (
        re.search(r">=\s*@start\b", where, re.IGNORECASE)
        and re.search(r"<\s*@end\b", where, re.IGNORECASE)
    ):
        message = "The fake filters DATE(usage_start_time) >= @start and < @end only."
        raise QueryError(400, "invalidQuery", message)
    return columns, source[1].strip("`")


def date_parameters(parameters: list[dict[str, Any]]) -> tuple[dt.date, dt.date]:
    found = {}
    for parameter in parameters:
        kind = (parameter.get("parameterType") or {}).get("type")
        value = (parameter.get("parameterValue") or {}).get("value")
        found[parameter.get("name")] = (kind, value)
    dates = []
    for name in ("start", "end"):
        if name not in found:
            raise QueryError(400, "invalidQuery", f"Query parameter '{name}' not found")
        kind, value = found[name]
        try:
            if kind != "DATE":
                raise ValueError(kind)
            dates.append(dt.date.fromisoformat(str(value)))
        except ValueError:
            raise QueryError(
                400, "invalidQuery", f"Query parameter '{name}' must be a DATE, not {kind} {value}"
            ) from None
    return dates[0], dates[1]


def tag_keys(parameters: list[dict[str, Any]]) -> list[str]:
    """The values of the ARRAY<STRING> query parameter `keys` (the label keys a query by
    label crosses its rows with)."""
    for parameter in parameters:
        if parameter.get("name") != "keys":
            continue
        kind = parameter.get("parameterType") or {}
        if kind.get("type") != "ARRAY" or (kind.get("arrayType") or {}).get("type") != "STRING":
            raise QueryError(400, "invalidQuery", "Query parameter 'keys' must be ARRAY<STRING>")
        values = (parameter.get("parameterValue") or {}).get("arrayValues") or []
        return [str(v.get("value")) for v in values]
    raise QueryError(400, "invalidQuery", "Query parameter 'keys' not found")


def grouped_rows(
    rows: list[BillingRow],
    columns: dict[str, str],
    start: dt.date,
    end: dt.date,
    keys: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The answer's rows, on the wire: one per distinct value of the non-cost columns among
    the rows of [start, end) (each row once per label key of `keys`, for a query by label),
    with cost plus credits summed, sorted by those values."""
    numeric = columns.get("cost") == "NUMERIC"
    sums: dict[tuple[str, ...], Decimal] = {}
    for row in rows:
        if not start <= row.day < end:
            continue
        for label in keys if keys is not None else [""]:
            key = tuple(_value(row, name, label) for name in columns if name != "cost")
            sums[key] = sums.get(key, Decimal(0)) + row.cost + row.credits
    wire = []
    for key, total in sorted(sums.items()):
        values = iter(key)
        cells = [_cost_text(total, numeric) if n == "cost" else next(values) for n in columns]
        wire.append({"f": [{"v": v} for v in cells]})
    return wire


def _record(name: str, *fields: tuple[str, str], mode: str = "NULLABLE") -> dict[str, Any]:
    return {
        "name": name,
        "type": "RECORD",
        "mode": mode,
        "fields": [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in fields],
    }


def _scalar(name: str, kind: str) -> dict[str, str]:
    return {"name": name, "type": kind, "mode": "NULLABLE"}


def export_schema(detailed: bool) -> list[dict[str, Any]]:
    """The columns of the standard usage cost export (and of the detailed one's `resource`)."""
    label = (("key", "STRING"), ("value", "STRING"))
    schema = [
        _scalar("billing_account_id", "STRING"),
        _record("service", ("id", "STRING"), ("description", "STRING")),
        _record("sku", ("id", "STRING"), ("description", "STRING")),
        _scalar("usage_start_time", "TIMESTAMP"),
        _scalar("usage_end_time", "TIMESTAMP"),
        _record("project", ("id", "STRING"), ("number", "STRING"), ("name", "STRING")),
        _record("labels", *label, mode="REPEATED"),
        _record("system_labels", *label, mode="REPEATED"),
        _record(
            "location",
            ("location", "STRING"),
            ("country", "STRING"),
            ("region", "STRING"),
            ("zone", "STRING"),
        ),
        _scalar("export_time", "TIMESTAMP"),
        _scalar("cost", "FLOAT"),
        _scalar("currency", "STRING"),
        _scalar("currency_conversion_rate", "FLOAT"),
        _record(
            "usage",
            ("amount", "FLOAT"),
            ("unit", "STRING"),
            ("amount_in_pricing_units", "FLOAT"),
            ("pricing_unit", "STRING"),
        ),
        _record(
            "credits",
            ("name", "STRING"),
            ("amount", "FLOAT"),
            ("full_name", "STRING"),
            ("id", "STRING"),
            ("type", "STRING"),
            mode="REPEATED",
        ),
        _record("invoice", ("month", "STRING"), ("publisher_type", "STRING")),
        _scalar("cost_type", "STRING"),
    ]
    if detailed:
        schema.append(_record("resource", ("name", "STRING"), ("global_name", "STRING")))
    return schema
