"""Load the shipped price snapshot (inventory/data/prices.json) into the price catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.services.prices import SNAPSHOT, PriceDataError, prices_load


class Command(BaseCommand):
    help = "Load the shipped price snapshot into the price catalog (replaces the same prices)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=SNAPSHOT, help="Another snapshot file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = prices_load(path=options["file"])
        except PriceDataError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(f"Loaded {count} prices from {options['file']}.")
