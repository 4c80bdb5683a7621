"""GCP: the Cloud Billing Catalog API's SKUs of Compute Engine (service 6F81-5844-456A),
page by page through `nextPageToken`, with an API key (PRICES_GCP_API_KEY). A machine
type's price is its vCPUs at its family's on-demand core rate plus its memory at the RAM
rate of the region (predefined shapes: `SHAPES`); persistent disks and snapshots are per
GiB-month.

Documented at https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list
(`{"skus": [{"description", "category": {"resourceGroup", "usageType"}, "serviceRegions",
"pricingInfo": [{"pricingExpression": {"tieredRates": [{"unitPrice": {"units",
"nanos"}}]}}]}], "nextPageToken": ""}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from inventory.models import PriceKind, PriceUnit
from inventory.price_sources import Found, PriceHttp, PriceSourceError, Wanted, money
from inventory.services.prices import PriceRow

MAIN_REGION = "us-central1"
LABEL = "the GCP Cloud Billing Catalog API"
MAX_PAGES = 200
# The SKU descriptions of each family's on-demand core and memory ("E2 Instance Core
# running in Americas").
FAMILIES = {"E2 Instance": "e2", "N1 Predefined Instance": "n1", "N2 Instance": "n2",
            "N2D AMD Instance": "n2d", "T2D AMD Instance": "t2d", "N4 Instance": "n4",
            "C3 Instance": "c3"}  # fmt: skip
MACHINE_SKU = re.compile(r"^(?P<family>.+?) (?P<part>Core|Ram) running in ")
DISKS = {"Storage PD Capacity": "pd-standard", "Balanced PD Capacity": "pd-balanced",
         "SSD backed PD Capacity": "pd-ssd"}  # fmt: skip
SNAPSHOT = "Storage PD Snapshot"
# GiB of memory per vCPU of the predefined shapes, and the shared-core types' (vCPU, GiB).
MEMORY_PER_VCPU = {"standard": Decimal(4), "highmem": Decimal(8), "highcpu": Decimal(1)}
N1_MEMORY_PER_VCPU = {"standard": Decimal("3.75"), "highmem": Decimal("6.5"),
                      "highcpu": Decimal("0.9")}  # fmt: skip
SHARED_CORE = {"e2-micro": (Decimal("0.25"), Decimal(1)), "e2-small": (Decimal("0.5"), Decimal(2)),
               "e2-medium": (Decimal(1), Decimal(4))}  # fmt: skip


def shape(machine_type: str) -> tuple[str, Decimal, Decimal] | None:
    """(family, vCPUs, GiB of memory) of a predefined machine type, or None."""
    if machine_type in SHARED_CORE:
        return ("e2", *SHARED_CORE[machine_type])
    match = re.fullmatch(r"([a-z0-9]+)-(standard|highmem|highcpu)-(\d+)", machine_type)
    if not match:
        return None
    family, kind, vcpus = match.group(1), match.group(2), Decimal(match.group(3))
    per_vcpu = (N1_MEMORY_PER_VCPU if family == "n1" else MEMORY_PER_VCPU)[kind]
    return family, vcpus, vcpus * per_vcpu


def prices_fetch(wanted: Wanted, http: PriceHttp) -> list[PriceRow]:
    if not settings.PRICES_GCP_API_KEY:
        raise PriceSourceError(
            f"{LABEL} needs an API key: set PRICES_GCP_API_KEY (a key of a project with the "
            "Cloud Billing API enabled)."
        )
    regions = set(wanted.regions)
    rates: dict[tuple[str, str, str], Decimal] = {}  # (family, Core|Ram, region): USD/h
    found = Found(provider="gcp", source="gcp-billing-catalog", effective=date.today())
    disks = wanted.sizes(PriceKind.DISK)
    for sku in _skus(http):
        description = str(sku.get("description") or "")
        category = sku.get("category") or {}
        if category.get("usageType") != "OnDemand":
            continue
        where = [r for r in sku.get("serviceRegions") or [] if r in regions]
        if not where:
            continue
        machine = MACHINE_SKU.match(description)
        if machine and machine.group("family") in FAMILIES:
            price = _unit_price(sku)
            for region in where:
                rates[(FAMILIES[machine.group("family")], machine.group("part"), region)] = price
            continue
        for prefix, disk in DISKS.items():
            if description.startswith(prefix) and disk in disks:
                for region in where:
                    found.add(PriceKind.DISK, disk, region, PriceUnit.GIB_MONTH, _unit_price(sku))
        if description.startswith(SNAPSHOT):
            for region in where:
                found.add(PriceKind.SNAPSHOT, "", region, PriceUnit.GIB_MONTH, _unit_price(sku))
    for kind, machine_type, region in sorted(wanted.keys):
        parts = shape(machine_type) if kind == PriceKind.VM else None
        if parts is None:
            continue
        family, vcpus, memory = parts
        core, ram = rates.get((family, "Core", region)), rates.get((family, "Ram", region))
        if core is not None and ram is not None:
            usd = (vcpus * core + memory * ram).quantize(Decimal("0.000001"))
            found.add(PriceKind.VM, machine_type, region, PriceUnit.HOUR, usd)
    return list(found.rows.values())


def _skus(http: PriceHttp) -> Iterator[dict[str, Any]]:
    token = ""
    for _ in range(MAX_PAGES):
        query = {"key": settings.PRICES_GCP_API_KEY, "pageSize": 5000, "currencyCode": "USD"}
        if token:
            query["pageToken"] = token
        page = http.json(f"{settings.PRICES_GCP_URL}?{urlencode(query)}")
        skus = page.get("skus") if isinstance(page, dict) else None
        if not isinstance(skus, list):
            raise PriceSourceError(f"{LABEL} answered a page without skus.")
        yield from (sku for sku in skus if isinstance(sku, dict))
        token = str(page.get("nextPageToken") or "")
        if not token:
            return
    raise PriceSourceError(f"{LABEL} had more than {MAX_PAGES} pages.")


def _unit_price(sku: dict[str, Any]) -> Decimal:
    """The first tier's unit price of the SKU's current pricing ({units, nanos})."""
    try:
        rate = sku["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"]
        units, nanos = int(rate.get("units") or 0), int(rate.get("nanos") or 0)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        what = f"{LABEL}: a SKU without a unit price ({sku.get('skuId')})."
        raise PriceSourceError(what) from exc
    return money(Decimal(units) + Decimal(nanos) / Decimal(10**9))
