"""Writes of the price catalog (`inventory.models.Price`): the shipped snapshot's load, and
the refresh from the providers' public price lists (`inventory.price_sources`).

Invariants:
- A load replaces every row whose key (provider, kind, size, region) the snapshot holds, and
  leaves the others (a refreshed figure of a size the snapshot lacks stays).
- All or nothing: a snapshot with one bad row changes nothing; a refresh reads its whole list
  before it writes, so a list that fails midway changes nothing either.
- A refresh re-prices the rows the catalog holds (and their any-region rows from the list's
  main region); it adds no sizes of its own choosing.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: prices written (changed or not), and the catalog's regional
    prices of the provider the list did not have (they keep their figures)."""

    written: int
    missing: list[tuple[str, str, str]]  # (kind, size, region)


def prices_refresh(*, provider: str) -> RefreshResult:
    """Re-price the provider's catalog rows from its public price list (its registry
    entry's `price_source`), and its any-region rows from the list's main region.

    Everything is read before anything is written, and written in one transaction: a list
    that fails or answers out of shape raises PriceDataError and changes nothing."""
    # Imported here: the sources import this module, and the providers the forms.
    from inventory.price_sources import PriceHttp, Wanted
    from inventory.providers import account_provider

    entry = account_provider(provider)
    if not entry.price_source:
        raise PriceDataError(f"No public price list is known for {entry.label}.")
    module = importlib.import_module(entry.price_source)
    keys = Price.objects.filter(provider=provider).values_list("kind", "size", "region")
    wanted = Wanted(frozenset((k, s, r) for k, s, r in keys if r))
    main_region: str = module.MAIN_REGION
    fetched: list[PriceRow] = module.prices_fetch(wanted, PriceHttp(module.LABEL))
    by_key = {(r.kind, r.size, r.region): r for r in fetched}
    by_key = {key: row for key, row in by_key.items() if key in wanted.keys}
    rows = list(by_key.values())
    fallback = {(k, s) for k, s, r in keys if not r}
    rows += [
        replace(row, region="")
        for (kind, size, region), row in by_key.items()
        if region == main_region and (kind, size) in fallback
    ]
    missing = sorted(wanted.keys - by_key.keys())
    return RefreshResult(written=prices_store(rows), missing=missing)
