"""Azure: the Retail Prices API (no credentials), one filtered query per region and
service, followed page by page through its `NextPageLink`: Linux pay-as-you-go VM sizes,
and managed disks by their 128 GiB tier (S10, E10, P10: per GiB, the tier's month / 128).

Documented at https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices
(`{"Items": [...], "NextPageLink": url | null}`; OData `$filter`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from inventory.models import PriceKind, PriceUnit
from inventory.price_sources import Found, PriceHttp, PriceSourceError, Wanted, money
from inventory.services.prices import PriceRow

MAIN_REGION = "eastus"
LABEL = "the Azure Retail Prices API"
MAX_PAGES = 500  # a region's VM prices are about 60 pages of 100 today
# The 128 GiB tier of each disk class, and the class's name in the catalog.
DISK_TIERS = {"S10 LRS Disk": "Standard_LRS", "E10 LRS Disk": "StandardSSD_LRS",
              "P10 LRS Disk": "Premium_LRS"}  # fmt: skip
TIER_GIB = Decimal(128)


def prices_fetch(wanted: Wanted, http: PriceHttp) -> list[PriceRow]:
    found = Found(provider="azure", source="azure-retail-prices", effective=date.today())
    sizes, disks = wanted.sizes(PriceKind.VM), wanted.sizes(PriceKind.DISK)
    for region in wanted.regions:
        where = f"armRegionName eq '{region}' and priceType eq 'Consumption'"
        for item in _items(http, f"serviceName eq 'Virtual Machines' and {where}"):
            name = str(item.get("armSkuName") or "")
            sku = str(item.get("skuName") or "")
            if (
                name in sizes
                and item.get("unitOfMeasure") == "1 Hour"
                and item.get("currencyCode", "USD") == "USD"
                and not str(item.get("productName") or "").endswith("Windows")
                and "Spot" not in sku
                and "Low Priority" not in sku
            ):
                found.add(
                    PriceKind.VM, name, region, PriceUnit.HOUR, money(item.get("retailPrice"))
                )
        meters = " or ".join(f"meterName eq '{m}'" for m in DISK_TIERS)
        for item in _items(http, f"serviceName eq 'Storage' and {where} and ({meters})"):
            disk = DISK_TIERS.get(str(item.get("meterName") or ""))
            if disk in disks and item.get("currencyCode", "USD") == "USD":
                per_gib = money(item.get("retailPrice")) / TIER_GIB
                found.add(
                    PriceKind.DISK,
                    disk,
                    region,
                    PriceUnit.GIB_MONTH,
                    per_gib.quantize(Decimal("0.000001")),
                )
    return list(found.rows.values())


def _items(http: PriceHttp, odata_filter: str) -> Iterator[dict[str, Any]]:
    """Every item of a filtered query, following `NextPageLink` to its end."""
    url: str | None = f"{settings.PRICES_AZURE_URL}?{urlencode({'$filter': odata_filter})}"
    for _ in range(MAX_PAGES):
        if not url:
            return
        page = http.json(url)
        items = page.get("Items") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise PriceSourceError(f"{LABEL} answered a page without Items.")
        yield from (item for item in items if isinstance(item, dict))
        url = page.get("NextPageLink") or None
    raise PriceSourceError(f"{LABEL} had more than {MAX_PAGES} pages for one query.")
