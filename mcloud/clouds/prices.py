"""A small table of on-demand hourly prices (USD, Linux, a main region) for common machine
types, so the inventory can estimate `cost_per_hour` before any bill arrives.

Figures are public list prices rounded to four decimals; billing (imported costs) is the
source of truth, this is only an estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# One table per adapter (each adapter reads its own).
AWS_HOURLY_USD: dict[str, float] = {
    "t3.nano": 0.0052, "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416,
    "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
    "t2.micro": 0.0116, "t2.small": 0.023, "t2.medium": 0.0464, "t2.large": 0.0928,
    "m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768,
    "m6i.large": 0.096, "m6i.xlarge": 0.192, "m7i.large": 0.1008,
    "c5.large": 0.085, "c5.xlarge": 0.17, "c5.2xlarge": 0.34, "c6i.large": 0.085,
    "r5.large": 0.126, "r5.xlarge": 0.252, "r6i.large": 0.126,
    "db.t3.micro": 0.017, "db.t3.small": 0.034, "db.t3.medium": 0.068,
    "db.m5.large": 0.171, "db.r5.large": 0.25,
}  # fmt: skip
AZURE_HOURLY_USD: dict[str, float] = {
    "Standard_B1s": 0.0104, "Standard_B1ms": 0.0207, "Standard_B2s": 0.0416,
    "Standard_B2ms": 0.0832, "Standard_B4ms": 0.166,
    "Standard_D2s_v3": 0.096, "Standard_D4s_v3": 0.192, "Standard_D8s_v3": 0.384,
    "Standard_D2s_v5": 0.096, "Standard_D4s_v5": 0.192,
    "Standard_E2s_v3": 0.126, "Standard_E4s_v3": 0.252,
    "Standard_F2s_v2": 0.0846, "Standard_F4s_v2": 0.169,
}  # fmt: skip
GCP_HOURLY_USD: dict[str, float] = {
    "e2-micro": 0.0084, "e2-small": 0.0168, "e2-medium": 0.0335,
    "e2-standard-2": 0.067, "e2-standard-4": 0.134, "e2-standard-8": 0.2681,
    "n1-standard-1": 0.0475, "n1-standard-2": 0.095, "n1-standard-4": 0.19,
    "n2-standard-2": 0.0971, "n2-standard-4": 0.1942, "n2-standard-8": 0.3885,
    "c2-standard-4": 0.2088, "t2d-standard-1": 0.0422,
}  # fmt: skip


def hourly_price(table: Mapping[str, float], machine_type: str | None) -> float | None:
    """The estimated hourly price of a machine type, or None when it is not in the table."""
    if not machine_type:
        return None
    return table.get(machine_type)


@dataclass(frozen=True)
class StoragePrices:
    """List prices (USD) of a provider's common disk, snapshot and unused public IPv4
    address, for waste estimates until a price catalog replaces them. A provider's registry
    entry names its own (`CloudProvider.storage_prices`); these defaults are AWS's."""

    disk_gb_month: float = 0.08  # gp3
    snapshot_gb_month: float = 0.05  # EBS snapshots
    ip_hourly: float = 0.005  # a public IPv4 address kept but unused


AWS_STORAGE = StoragePrices()
AZURE_STORAGE = StoragePrices(disk_gb_month=0.075, snapshot_gb_month=0.05, ip_hourly=0.005)
GCP_STORAGE = StoragePrices(disk_gb_month=0.10, snapshot_gb_month=0.026, ip_hourly=0.01)
HOURS_PER_MONTH = 730
