"""The audit log's details in words: no Python reprs."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def audit_value(value: Any) -> str:
    """None -> "—", True -> "yes", ["a", "b"] -> "a, b", {"k": 1} -> "k 1"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set):
        return ", ".join(audit_value(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {audit_value(v)}" for k, v in value.items()) if value else "none"
    return str(value)
