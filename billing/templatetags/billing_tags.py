from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from django import template

from billing.money import Money

register = template.Library()


class _Rated(Protocol):
    """What knows the organization's currency and its rates (a cost `Summary`)."""

    @property
    def currency(self) -> str: ...

    @property
    def rates(self) -> dict[str, float]: ...


@register.filter
def amount(value: Decimal | float | None) -> str:
    """1234.5 -> "1,234.50"."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def converted(money: Money, summary: _Rated) -> Decimal | None:
    """`money` in the organization's currency, or None when a rate is missing."""
    return money.converted(summary.currency, summary.rates)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> object:
    return mapping.get(key, "")
