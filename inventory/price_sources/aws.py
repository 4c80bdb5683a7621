"""AWS: the Price List bulk API (no credentials). For each region the catalog holds, the
region index names the current EC2 offer, which is read as CSV, line by line (a region's
offer is hundreds of megabytes): Linux on-demand instances with shared tenancy, EBS volumes
by API name, EBS snapshots, NAT gateway hours and idle public IPv4 addresses.

Documented at https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-the-aws-price-list-bulk-api.html
(`/offers/v1.0/aws/AmazonEC2/current/region_index.json`, then each region's
`currentVersionUrl`, the same path ending `.csv` for CSV). RDS, ELB and S3 are other offers:
their rows keep the snapshot's figures.
"""

from __future__ import annotations

import csv
from datetime import date
from typing import Any
from urllib.parse import urljoin

from django.conf import settings

from inventory.models import PriceKind, PriceUnit
from inventory.price_sources import Found, PriceHttp, PriceSourceError, Wanted, money
from inventory.services.prices import PriceRow

MAIN_REGION = "us-east-1"
LABEL = "the AWS Price List bulk API"


def prices_fetch(wanted: Wanted, http: PriceHttp) -> list[PriceRow]:
    base = settings.PRICES_AWS_URL.rstrip("/") + "/"
    index = http.json(urljoin(base, "offers/v1.0/aws/AmazonEC2/current/region_index.json"))
    regions = index.get("regions") if isinstance(index, dict) else None
    if not isinstance(regions, dict):
        raise PriceSourceError(f"{LABEL}: the region index has no regions.")
    found = Found(provider="aws", source="aws-price-list", effective=date.today())
    for region in wanted.regions:
        entry = regions.get(region)
        if not isinstance(entry, dict) or not entry.get("currentVersionUrl"):
            raise PriceSourceError(f"{LABEL}: the region index does not list {region}.")
        url = urljoin(base, str(entry["currentVersionUrl"]).removesuffix(".json") + ".csv")
        with http.lines(url) as lines:
            _offer_read(lines, region, wanted, found)
    return list(found.rows.values())


def _offer_read(lines: Any, region: str, wanted: Wanted, found: Found) -> None:
    """The wanted prices of one region's EC2 offer (CSV: a few lines about the file, then
    a header row, then one row per price dimension)."""
    rows = csv.reader(lines)
    for header in rows:
        if header and header[0] == "SKU":
            break
    else:
        raise PriceSourceError(f"{LABEL}: the {region} offer has no header row.")
    col = {name: i for i, name in enumerate(header)}
    needed = ("TermType", "Unit", "PricePerUnit", "Currency", "Product Family")
    if any(name not in col for name in needed):
        raise PriceSourceError(f"{LABEL}: the {region} offer lacks a column of {needed}.")
    types, volumes = wanted.sizes(PriceKind.VM), wanted.sizes(PriceKind.DISK)

    def value(row: list[str], name: str) -> str:
        i = col.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def add(row: list[str], kind: str, size: str, unit: str) -> None:
        found.add(kind, size, region, unit, money(value(row, "PricePerUnit")))

    for row in rows:
        if value(row, "TermType") != "OnDemand" or value(row, "Currency") != "USD":
            continue
        family, unit = value(row, "Product Family"), value(row, "Unit")
        usage = value(row, "usageType")
        if family == "Compute Instance" and unit == "Hrs":
            size = value(row, "Instance Type")
            if (
                size in types
                and value(row, "Operating System") == "Linux"
                and value(row, "Tenancy") == "Shared"
                and value(row, "Pre Installed S/W") in ("NA", "")
                and value(row, "CapacityStatus") in ("Used", "")
            ):
                found.add(
                    PriceKind.VM, size, region, PriceUnit.HOUR, money(value(row, "PricePerUnit"))
                )
        elif family == "Storage" and unit == "GB-Mo":
            size = value(row, "Volume API Name")
            if size in volumes:
                found.add(
                    PriceKind.DISK,
                    size,
                    region,
                    PriceUnit.GIB_MONTH,
                    money(value(row, "PricePerUnit")),
                )
        elif family == "Storage Snapshot" and usage.endswith("EBS:SnapshotUsage"):
            found.add(
                PriceKind.SNAPSHOT,
                "",
                region,
                PriceUnit.GIB_MONTH,
                money(value(row, "PricePerUnit")),
            )
        elif family == "NAT Gateway" and usage.endswith("NatGateway-Hours"):
            found.add(
                PriceKind.NAT_GATEWAY, "", region, PriceUnit.HOUR, money(value(row, "PricePerUnit"))
            )
        elif family == "IP Address" and usage.endswith("PublicIPv4:IdleAddress"):
            add(row, PriceKind.IP, "", PriceUnit.HOUR)
