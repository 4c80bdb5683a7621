"""Writes of the price catalog (`inventory.models.Price`): the shipped snapshot's load.

Invariants:
- A load replaces every row whose key (provider, kind, size, region) the snapshot holds, and
  leaves the others (a refreshed figure of a size the snapshot lacks stays).
- All or nothing: a snapshot with one bad row changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from inventory.models import Price, PriceKind, PriceUnit

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "prices.json"
COLUMNS = ["provider", "kind", "size", "region", "unit", "usd", "source"]


class PriceDataError(ValueError):
    """A snapshot or price list that cannot be read; nothing was changed."""


@dataclass(frozen=True)
class PriceRow:
    """One list price as a snapshot or a provider's price list gives it."""

    provider: str
    kind: str
    size: str
    region: str
    unit: str
    usd: Decimal
    source: str
    effective: date

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.provider, self.kind, self.size, self.region)


def snapshot_read(path: Path = SNAPSHOT) -> list[PriceRow]:
    """The snapshot's rows, checked; PriceDataError names the first bad one."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PriceDataError(f"The price snapshot {path} cannot be read: {exc}") from exc
    if doc.get("columns") != COLUMNS:
        raise PriceDataError(f"The price snapshot {path} must have the columns {COLUMNS}.")
    try:
        effective = date.fromisoformat(doc["effective"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PriceDataError(f"The price snapshot {path} has no valid 'effective' date.") from exc
    sources = doc.get("sources") or {}
    rows = []
    for number, values in enumerate(doc.get("prices") or [], start=1):
        if not isinstance(values, list) or len(values) != len(COLUMNS):
            raise PriceDataError(f"Price {number} of {path} is not a row of {len(COLUMNS)}.")
        fields: dict[str, Any] = dict(zip(COLUMNS, values, strict=True))
        if fields["source"] not in sources:
            raise PriceDataError(f"Price {number} of {path} names an unknown source.")
        rows.append(row_checked(fields, effective=effective, where=f"Price {number} of {path}"))
    return rows


def row_checked(fields: dict[str, Any], *, effective: date, where: str) -> PriceRow:
    """A PriceRow of `fields`, or PriceDataError saying what is wrong with it."""
    if fields["kind"] not in PriceKind.values:
        raise PriceDataError(f"{where}: unknown kind {fields['kind']!r}.")
    if fields["unit"] not in PriceUnit.values:
        raise PriceDataError(f"{where}: unknown unit {fields['unit']!r}.")
    try:
        usd = Decimal(str(fields["usd"]))
    except InvalidOperation as exc:
        raise PriceDataError(f"{where}: the price {fields['usd']!r} is not a number.") from exc
    if not usd.is_finite() or usd < 0:
        raise PriceDataError(f"{where}: the price {fields['usd']!r} is not a price.")
    return PriceRow(
        provider=str(fields["provider"]),
        kind=str(fields["kind"]),
        size=str(fields["size"] or ""),
        region=str(fields["region"] or ""),
        unit=str(fields["unit"]),
        usd=usd,
        source=str(fields["source"])[:200],
        effective=effective,
    )


def prices_store(rows: list[PriceRow], *, model: Any = Price) -> int:
    """Write `rows` into the catalog (insert or replace by key), in one transaction; the
    number written. `model` is the historical model when a migration calls it."""
    by_key = {row.key: row for row in rows}
    with transaction.atomic():
        model.objects.bulk_create(
            [
                model(
                    provider=r.provider,
                    kind=r.kind,
                    size=r.size,
                    region=r.region,
                    unit=r.unit,
                    usd=r.usd,
                    source=r.source,
                    effective=r.effective,
                )
                for r in by_key.values()
            ],
            batch_size=500,
            update_conflicts=True,
            unique_fields=["provider", "kind", "size", "region"],
            update_fields=["unit", "usd", "source", "effective", "updated_at"],
        )
    return len(by_key)


def prices_load(*, path: Path = SNAPSHOT, model: Any = Price) -> int:
    """Load the shipped snapshot into the catalog; the number of prices it holds."""
    return prices_store(snapshot_read(path), model=model)
