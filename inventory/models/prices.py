"""The price catalog: one list price per (provider, kind, size, region), in USD.

Rows come from the shipped snapshot (`inventory/data/prices.json`, loaded by a migration and
by `manage.py load_prices`) or from the providers' public price lists
(`manage.py refresh_prices`). A blank region is the any-region fallback. Read it through
`inventory.pricing`, never directly: that module knows the fallbacks and the units.
"""

from __future__ import annotations

from django.db import models

from mcloud.clouds.registry import provider_choices


class PriceKind(models.TextChoices):
    VM = "vm", "Virtual machine"
    DISK = "disk", "Disk"
    SNAPSHOT = "snapshot", "Snapshot"
    IP = "ip", "Public IP address"
    NAT_GATEWAY = "nat_gateway", "NAT gateway"
    LOAD_BALANCER = "load_balancer", "Load balancer"
    DATABASE = "database", "Database"
    STORAGE = "storage", "Object storage"


class PriceUnit(models.TextChoices):
    HOUR = "hour", "per hour"
    GIB_MONTH = "gib_month", "per GiB-month"
    MONTH = "month", "per month"


class Price(models.Model):
    """One list price: what one unit of `size` (a machine type, disk class or database
    class; blank where the kind has one price) of `kind` costs in `region` (blank: any)."""

    provider = models.CharField(max_length=10, choices=provider_choices)
    kind = models.CharField(max_length=16, choices=PriceKind.choices)
    size = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=32, blank=True, help_text="Blank: any region.")
    unit = models.CharField(max_length=10, choices=PriceUnit.choices)
    usd = models.DecimalField("price (USD)", max_digits=14, decimal_places=6)
    source = models.CharField(
        max_length=200, help_text="Where the figure comes from: the snapshot or a price list."
    )
    effective = models.DateField(help_text="The day the source published or was read.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "size", "region"], name="price_one_per_key"
            )
        ]
        ordering = ["provider", "kind", "size", "region"]

    def __str__(self) -> str:
        where = self.region or "any region"
        return (
            f"{self.provider} {self.kind} {self.size or '-'} ({where}): {self.usd} USD {self.unit}"
        )
