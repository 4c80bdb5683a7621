from __future__ import annotations

from decimal import Decimal

from django import template

from billing.money import Money

register = template.Library()


@register.filter
def amount(value: Decimal | float | None) -> str:
    """1234.5 -> "1,234.50"."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def converted(money: Money, summary: object) -> Decimal | None:
    """`money` in the organization's currency, or None when a rate is missing."""
    return money.converted(summary.currency, summary.rates)


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key, "")
