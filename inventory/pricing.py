"""The price catalog's one public lookup: list prices (USD) of what the inventory holds and
what a plan would create, from `inventory.models.Price`.

- `monthly_usd` prices many queries in one batch (one query per call, never per item), so
  an ingest or a plan of thousands of resources reads the catalog once.
- A region the catalog does not list falls back to the provider's any-region price (a blank
  region); sizes match without regard to case ("standard_b1s" is "Standard_B1s").
- A month is 730 hours. `None` means "not in the catalog", never zero.
- Every figure is an estimate from public list prices: show it labelled so.

The catalog is never empty: a database whose table holds no price at all (a new one, or a
test database that was flushed) is filled from the shipped snapshot on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django.db.models.functions import Lower

from inventory.models import Price, PriceKind, PriceUnit
from inventory.services.prices import prices_load

HOURS_PER_MONTH = Decimal(730)
KINDS = tuple(PriceKind.values)
_PLACES = Decimal("0.000001")


class PriceQuery(NamedTuple):
    """What to price: `quantity` units of `size` of `kind` in `region` at `provider`.

    A named tuple, not a dataclass: an ingest makes and hashes one per resource, and a
    tuple's creation and hash run in C (a third of the price lookup's time at 100,000)."""

    provider: str  # CloudProvider key
    kind: str  # "vm", "disk", "snapshot", "ip", "nat_gateway", "load_balancer", "database", ...
    size: str = ""  # machine type / disk class / database class
    region: str = ""
    quantity: float = 1.0  # GiB for disk, snapshot, storage; count otherwise


Key = tuple[str, str, str, str]  # (provider, kind, lower-case size, region)
Catalog = dict[Key, tuple[Decimal, str]]  # {key: (usd, unit)}


def _catalog(queries: list[PriceQuery]) -> Catalog:
    """{key: (usd, unit)} of every catalog row that may answer one of `queries`."""
    if not queries:
        return {}
    rows = (
        Price.objects.alias(size_key=Lower("size"))
        .filter(
            provider__in={q.provider for q in queries},
            kind__in={q.kind for q in queries},
            size_key__in={q.size.lower() for q in queries},
            region__in={q.region for q in queries} | {""},
        )
        .values_list("provider", "kind", "size", "region", "usd", "unit")
    )
    found = {(p, k, s.lower(), r): (usd, unit) for p, k, s, r, usd, unit in rows}
    if not found and not Price.objects.exists():
        prices_load()
        return _catalog(queries)
    return found


def _price(
    catalog: dict[Key, tuple[Decimal, str]], query: PriceQuery
) -> tuple[Decimal, str] | None:
    size = query.size.lower()
    if query.region:
        exact = catalog.get((query.provider, query.kind, size, query.region))
        if exact is not None:
            return exact
    return catalog.get((query.provider, query.kind, size, ""))


def monthly_usd(queries: Iterable[PriceQuery]) -> dict[PriceQuery, Decimal | None]:
    """{query: its monthly list price in USD, or None when the catalog has no price for it},
    for every query, read in one batch."""
    unique = list(dict.fromkeys(queries))
    catalog = _catalog(unique)
    answers: dict[PriceQuery, Decimal | None] = {}
    for query in unique:
        found = _price(catalog, query)
        if found is None:
            answers[query] = None
            continue
        usd, unit = found
        per_month = usd * HOURS_PER_MONTH if unit == PriceUnit.HOUR else usd
        answers[query] = (per_month * Decimal(str(query.quantity))).quantize(_PLACES)
    return answers


def hourly_usd(provider: str, size: str, region: str = "") -> Decimal | None:
    """The hourly list price of a machine type or database class, or None when the catalog
    has no hourly price for it."""
    if not size:
        return None
    queries = [
        PriceQuery(provider, kind, size, region) for kind in (PriceKind.VM, PriceKind.DATABASE)
    ]
    catalog = _catalog(queries)
    for query in queries:
        found = _price(catalog, query)
        if found is not None and found[1] == PriceUnit.HOUR:
            return found[0]
    return None
