"""Amounts in several currencies: never summed across currencies unless the organization
set a rate for each."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)

# ISO 4217 currencies whose minor unit is not the cent; every other has two decimals.
MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip


def minor_unit(currency: str) -> int:
    """How many decimals the currency's smallest unit has (2 for USD, 0 for JPY)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """An amount as shown and exported: rounded half up to the currency's minor unit (the
    database keeps the exact value)."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


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

    def rounded(self) -> dict[str, Decimal]:
        """Each currency's amount rounded to its minor unit."""
        return {code: round_amount(amount, code) for code, amount in self.amounts.items()}

    def parts(self) -> list[tuple[str, Decimal]]:
        return sorted(self.amounts.items(), key=lambda item: -item[1])


def percent_change(now: Decimal | None, before: Decimal | None) -> float | None:
    if now is None or not before:
        return None
    return float((now - before) / before * 100)
