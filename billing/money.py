"""Amounts in several currencies: never summed across currencies unless the organization
set a rate for each."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass
class Money:
    """Amounts per currency, and their total in the display currency when it is known."""

    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, amount: Decimal) -> None:
        self.amounts[currency] = self.amounts.get(currency, ZERO) + amount

    def __bool__(self) -> bool:
        return any(self.amounts.values())

    def converted(self, currency: str, rates: dict[str, float]) -> Decimal | None:
        """The total in `currency`, or None when a currency has no rate."""
        total = ZERO
        for code, amount in self.amounts.items():
            if code == currency:
                total += amount
            elif code in rates:
                total += amount * Decimal(str(rates[code]))
            else:
                return None
        return total

    def in_currency(self, currency: str, rates: dict[str, float]) -> Money:
        """Converted to `currency` where a rate is set; an amount without a rate stays in its
        own currency, neither dropped nor added to the others."""
        result = Money()
        for code, amount in self.amounts.items():
            if code != currency and code in rates:
                result.add(currency, amount * Decimal(str(rates[code])))
            else:
                result.add(code, amount)
        return result

    def parts(self) -> list[tuple[str, Decimal]]:
        return sorted(self.amounts.items(), key=lambda item: -item[1])


def percent_change(now: Decimal | None, before: Decimal | None) -> float | None:
    if now is None or not before:
        return None
    return float((now - before) / before * 100)
