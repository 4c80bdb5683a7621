"""The providers' public price lists, read by `manage.py refresh_prices`
(`inventory.services.prices.prices_refresh`): one module per list, named by its provider's
registry entry (`AccountProvider.price_source`).

A source is a function `(wanted, http) -> list[PriceRow]`: given the catalog's regional
keys of its provider (`Wanted`), it reads its list through `PriceHttp` (the guarded
outbound client, `mcloud.egress`) and returns the prices it found for them, each in its
region. It writes nothing; a failure raises `PriceSourceError`, and the refresh changes
nothing.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from inventory.services.prices import PriceDataError, PriceRow
from mcloud.egress.client import guarded_lines, guarded_request, outbound_policy
from mcloud.egress.policy import EgressRefused


class PriceSourceError(PriceDataError):
    """A price list that did not answer, or not in its documented shape."""


@dataclass(frozen=True)
class Wanted:
    """What the catalog holds of a provider: {(kind, size)} per region (regional rows only;
    the any-region rows follow the source's main region)."""

    keys: frozenset[tuple[str, str, str]]  # (kind, size, region)

    @property
    def regions(self) -> list[str]:
        return sorted({region for _, _, region in self.keys})

    def sizes(self, kind: str) -> set[str]:
        return {size for k, size, _ in self.keys if k == kind}


@dataclass
class Found:
    """The rows a source has read, keyed as the catalog keys them (first one wins)."""

    provider: str
    source: str
    effective: date
    rows: dict[tuple[str, str, str], PriceRow] = field(default_factory=dict)

    def add(self, kind: str, size: str, region: str, unit: str, usd: Decimal) -> None:
        key = (kind, size, region)
        if key not in self.rows:
            self.rows[key] = PriceRow(
                provider=self.provider, kind=kind, size=size, region=region, unit=unit,
                usd=usd, source=self.source, effective=self.effective,
            )  # fmt: skip


class PriceHttp:
    """GETs through the guarded client, with the price lists' timeout and page size."""

    def __init__(self, label: str) -> None:
        self.label = label  # "the Azure Retail Prices API", for messages

    def json(self, url: str) -> Any:
        limit = settings.PRICES_MAX_PAGE_MB * 1024 * 1024
        try:
            answer = guarded_request(
                "GET", url, policy=outbound_policy(), headers={"Accept": "application/json"},
                allow_http=settings.EGRESS_ALLOW_HTTP, timeout=settings.PRICES_TIMEOUT,
                max_bytes=limit + 1,
            )  # fmt: skip
        except (EgressRefused, OSError, http.client.HTTPException) as exc:
            raise PriceSourceError(f"{self.label} did not answer: {exc}") from exc
        if answer.status != 200:
            raise PriceSourceError(f"{self.label} answered HTTP {answer.status}.")
        if len(answer.body) > limit:
            raise PriceSourceError(f"{self.label} sent a page over {limit} bytes.")
        try:
            return json.loads(answer.body)
        except ValueError as exc:
            raise PriceSourceError(f"{self.label} did not answer JSON.") from exc

    @contextmanager
    def lines(self, url: str) -> Iterator[Iterator[str]]:
        """The answer's lines as text, read as they come (a list too large to hold)."""
        try:
            with guarded_lines(
                url, policy=outbound_policy(), allow_http=settings.EGRESS_ALLOW_HTTP,
                timeout=settings.PRICES_TIMEOUT,
            ) as (status, lines):  # fmt: skip
                if status != 200:
                    raise PriceSourceError(f"{self.label} answered HTTP {status}.")
                yield (line.decode("utf-8") for line in lines)
        except (EgressRefused, OSError, http.client.HTTPException, UnicodeDecodeError) as exc:
            raise PriceSourceError(f"{self.label} did not answer: {exc}") from exc


def money(value: Any) -> Decimal:
    """A price as the list spells it, or PriceSourceError."""
    try:
        usd = Decimal(str(value))
    except ArithmeticError as exc:
        raise PriceSourceError(f"A price of the list is not a number: {value!r}.") from exc
    if not usd.is_finite() or usd < 0:
        raise PriceSourceError(f"A price of the list is not a price: {value!r}.")
    return usd


Source = Callable[[Wanted, PriceHttp], list[PriceRow]]
