"""The values users give a blueprint's variables, coerced to the declared types.

Terraform re-checks types itself; checking here lets the form show an error per field instead
of a failed run. Types are parsed from their text ("list(string)", "object({a = number})").
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from provisioning.variables import Variable, unquote


class _Invalid(ValueError):
    pass


def validate_values(
    variables: list[Variable], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Coerce user input to the declared types: (values with defaults applied, errors by name).

    `raw` holds strings from an HTML form or values from JSON. Form strings are read by type:
    numbers, "true"/"false" (and a checkbox's "on"), JSON text for lists, maps and objects. An
    empty string counts as not given, except for a string variable that has a default. The
    values are data: nothing here (or in the runner) passes them through a shell.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    declared = {v.name for v in variables}
    for name in raw:
        if name not in declared:
            errors[name] = "unknown variable"
    for var in variables:
        kind = _parse_type(var.type)
        value = raw.get(var.name)
        if value == "" and (kind[0] != "string" or var.required):
            value = None
        if value is None:
            if var.required:
                errors[var.name] = "required"
            else:
                values[var.name] = var.default
            continue
        try:
            values[var.name] = _coerce(value, kind, top=True)
        except _Invalid as exc:
            errors[var.name] = str(exc)
    return values, errors


# A type is a tuple: ("string",), ("list", T), ("set", T), ("map", T), ("tuple", [T, ...]),
# ("object", {attr: (T, optional)}), ("any",).
_Type = tuple[Any, ...]
_ANY: _Type = ("any",)
_TOKEN = re.compile(r'\s*(?:([A-Za-z_][\w-]*)|("(?:[^"\\]|\\.)*")|([-+.\w]+)|([(){}\[\],=:]))')


def _parse_type(text: str) -> _Type:
    """Read a type constraint; anything unrecognised is treated as `any` and left to Terraform."""
    tokens = [m.group(m.lastindex or 0) for m in _TOKEN.finditer(text)]
    try:
        kind, end = _type_at(tokens, 0)
    except (IndexError, _Invalid):
        return _ANY
    return kind if end == len(tokens) else _ANY


def _type_at(tokens: list[str], i: int) -> tuple[_Type, int]:
    name = tokens[i]
    if name in ("string", "number", "bool", "any"):
        return (name,), i + 1
    _expect(tokens, i + 1, "(")
    if name in ("list", "set", "map"):
        inner, i = _type_at(tokens, i + 2)
        return (name, inner), _expect(tokens, i, ")")
    if name == "tuple":
        items, i = [], _expect(tokens, i + 2, "[")
        while tokens[i] != "]":
            item, i = _type_at(tokens, i)
            items.append(item)
            i = i + 1 if tokens[i] == "," else i
        return ("tuple", items), _expect(tokens, i + 1, ")")
    if name == "object":
        attrs: dict[str, tuple[_Type, bool]] = {}
        i = _expect(tokens, i + 2, "{")
        while tokens[i] != "}":
            attr = unquote(tokens[i])
            i = i + 2 if tokens[i + 1] in ("=", ":") else _expect(tokens, i + 1, "=")
            optional = tokens[i] == "optional"
            attr_type, i = _type_at(tokens, i)
            attrs[attr] = (attr_type[1] if optional else attr_type, optional)
            i = i + 1 if tokens[i] == "," else i
        return ("object", attrs), _expect(tokens, i + 1, ")")
    if name == "optional":
        inner, i = _type_at(tokens, i + 2)
        depth = 0
        while depth or tokens[i] != ")":  # skip an optional default value
            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(tokens[i], 0)
            i += 1
        return ("optional", inner), i + 1
    raise _Invalid(name)


def _expect(tokens: list[str], i: int, token: str) -> int:
    if tokens[i] != token:
        raise _Invalid(token)
    return i + 1


def _coerce(value: Any, kind: _Type, *, top: bool = False) -> Any:
    name = kind[0]
    if value is None:
        raise _Invalid("must not be null")
    if name == "any":
        return value
    if name == "optional":
        return _coerce(value, kind[1], top=top)
    if name == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return _number_text(value)
        if isinstance(value, str):
            return value
        raise _Invalid("not a string")
    if name == "number":
        return _number(value)
    if name == "bool":
        return _bool(value)
    if name in ("list", "set", "tuple"):
        items = _json_text(value, list, "a JSON list") if top else value
        if not isinstance(items, list):
            raise _Invalid("not a list")
        if name == "tuple" and len(items) != len(kind[1]):
            raise _Invalid(f"needs {len(kind[1])} items, not {len(items)}")
        item_types = kind[1] if name == "tuple" else [kind[1]] * len(items)
        pairs = enumerate(zip(items, item_types, strict=True))
        return [_item(v, t, f"item {n + 1}") for n, (v, t) in pairs]
    mapping = _json_text(value, dict, "a JSON object") if top else value
    if not isinstance(mapping, dict):
        raise _Invalid("not an object")
    if name == "map":
        return {str(k): _item(v, kind[1], f"key {k!r}") for k, v in mapping.items()}
    attrs: dict[str, tuple[_Type, bool]] = kind[1]
    for key in mapping:
        if key not in attrs:
            raise _Invalid(f"unknown attribute {key!r}")
    result = {}
    for key, (attr_type, optional) in attrs.items():
        if mapping.get(key) is None:
            if not optional:
                raise _Invalid(f"attribute {key!r}: required")
            continue
        result[key] = _item(mapping[key], attr_type, f"attribute {key!r}")
    return result


def _item(value: Any, kind: _Type, label: str) -> Any:
    try:
        return _coerce(value, kind)
    except _Invalid as exc:
        raise _Invalid(f"{label}: {exc}") from None


def _json_text(value: Any, expected: type, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        raise _Invalid(f"not {what}") from None
    if not isinstance(parsed, expected):
        raise _Invalid(f"not {what}")
    return parsed


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Invalid("not a number")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
        if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
            raise _Invalid("not a number")
        value = float(text)
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise _Invalid("not a number")
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "on"):
        return True
    if text in ("false", "off"):
        return False
    raise _Invalid("not true or false")


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
