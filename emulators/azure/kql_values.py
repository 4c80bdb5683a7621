"""Kusto's values, as the Azure fake's KQL subset (emulators.azure.kql) compares, orders and
converts them: null (None) compares false, except with `!=`-like operators against a value;
a dynamic value compared with text is compared as its text; `=~`, `in~`, `contains` and
`startswith` ignore case. Rows are objects; paths that step into anything else are null."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

Expr = Callable[[Mapping[str, Any]], Any]


def walk(row: Mapping[str, Any], path: list[str | int]) -> Any:
    value: Any = row.get(str(path[0]))
    for step in path[1:]:
        if isinstance(step, int):
            value = (
                value[step]
                if isinstance(value, list) and -len(value) <= step < len(value)
                else None
            )
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Kusto compares a dynamic value with a string as text."""
    if isinstance(left, str) != isinstance(right, str):
        return to_string(left), to_string(right)
    return left, right


def compare(op: str, left: Expr, right: Expr) -> Expr:
    def test(row: Mapping[str, Any]) -> bool:
        a, b = left(row), right(row)
        if a is None or b is None:
            return op in ("!=", "!~", "!contains", "!startswith") and (a is None) != (b is None)
        a, b = _comparable(a, b)
        if op in ("==", "!="):
            return (a == b) == (op == "==")
        a, b = to_string(a).lower(), to_string(b).lower()
        if op in ("=~", "!~"):
            return (a == b) == (op == "=~")
        if op.endswith("contains"):
            return (b in a) != op.startswith("!")
        return a.startswith(b) != op.startswith("!")

    return test


def membership(op: str, left: Expr, options: list[Expr]) -> Expr:
    insensitive, negated = op.endswith("~"), op.startswith("!")

    def test(row: Mapping[str, Any]) -> bool:
        value = left(row)
        if value is None:
            return negated
        choices = [o(row) for o in options]
        if insensitive:
            found = to_string(value).lower() in {to_string(c).lower() for c in choices}
        else:
            found = any(_comparable(value, c)[0] == _comparable(value, c)[1] for c in choices)
        return found != negated

    return test


def sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, to_string(value))


FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "tostring": to_string,
    "tolower": lambda v: None if v is None else to_string(v).lower(),
    "toupper": lambda v: None if v is None else to_string(v).upper(),
    "isnull": lambda v: v is None,
    "isnotnull": lambda v: v is not None,
    "isempty": lambda v: v is None or v == "",
    "isnotempty": lambda v: v is not None and v != "",
    "not": lambda v: v is not True,
}
