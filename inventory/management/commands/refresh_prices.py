"""Refresh the price catalog from the providers' public price lists."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.services.prices import PriceDataError, prices_refresh
from mcloud.clouds.registry import provider_list


class Command(BaseCommand):
    help = (
        "Re-price the catalog from the providers' public price lists (AWS Price List, Azure "
        "Retail Prices, GCP Cloud Billing Catalog). A list that fails changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        keys = [p.key for p in provider_list() if getattr(p, "price_source", "")]
        parser.add_argument("--provider", choices=keys, action="append", help="Only this one.")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = options["provider"] or [
            p.key for p in provider_list() if getattr(p, "price_source", "")
        ]
        failed = []
        for key in keys:
            self.stdout.write(f"{key}: reading its price list...")
            try:
                result = prices_refresh(provider=key)
            except PriceDataError as exc:
                self.stderr.write(f"{key}: {exc} Nothing was changed.")
                failed.append(key)
                continue
            self.stdout.write(
                f"{key}: {result.written} prices written; "
                f"{len(result.missing)} of the catalog not in the list (kept as they were)."
            )
        if failed:
            raise CommandError(f"The price list of {', '.join(failed)} could not be read.")
