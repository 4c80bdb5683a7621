"""Longer history from a provider's billing export (`mcloud.clouds.base.BillingExport`: an AWS
account's CUR 2.0 data export in S3), read by each cost import of an account that names one.

- The export answers for the days before Cost Explorer's resource-level reach (the last
  `resource_cost_days`): the bill per day, service, region and resource, each resource's daily
  costs, and the costs by allocation tag. Days Cost Explorer covers stay Cost Explorer's.
- What is read is whole billing periods, each replacing the stored days it holds before that
  reach (rows of the bill, the rollups, the resources' days and the tags' days), in the
  import's transaction: a re-import replaces, never adds. A period is read when it was never
  read from this export (so the first import brings the export's whole history), when it may
  still change (AWS restates a closed period up to two weeks after it ends, so the ones
  ending within RESTATED_DAYS of the reach), when it holds days of the import's own window
  (Cost Explorer's rows of those days give way to the export's), and every period when an
  allocation key was just chosen (its tag costs are back-filled).
- Rows written from the export say so in their metadata (`source`, `export`), which is how a
  period counts as read from this export.
- An export that cannot be read (no bucket, access denied, not Parquet) fails the import,
  which then writes nothing: the stored costs stay as they were. A period without a single
  line item (no file yet, a delivery under way) replaces nothing either, and the import's
  note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from billing.models import CostData
from inventory.models import CloudAccount
from mcloud.clouds.base import BillingExport, ExportedCosts, ResourceCosts

SOURCE = "data_export"
RESTATED_DAYS = 45  # a closed period may change for two weeks: re-read the latest ones


@dataclass
class ExportRead:
    """What an import read from the account's export: the periods' costs, and a note."""

    location: str = ""
    periods: list[ExportedCosts] = field(default_factory=list)
    note: str = ""


def export_reach(adapter: object, end: date) -> date:
    """The first day the provider's own cost query keeps per resource: the export answers
    for the days before it."""
    days = adapter.resource_cost_days if isinstance(adapter, ResourceCosts) else 0
    return end - timedelta(days=days)


def export_periods_to_read(
    *, account: CloudAccount, location: str, listed: list[date], start: date, reach: date,
    refill: bool,
) -> list[date]:  # fmt: skip
    """The periods of `listed` (their first days) an import reads (see the module)."""
    candidates = [p for p in listed if p < reach]
    if refill or not candidates:
        return candidates
    read = set(
        CostData.objects.filter(
            account=account, date__lt=reach, metadata__source=SOURCE, metadata__export=location
        )
        .values_list("billing_period", flat=True)
        .distinct()
    )
    recent = min(start, reach - timedelta(days=RESTATED_DAYS))
    return [p for p in candidates if f"{p:%Y-%m}" not in read or _next_month(p) > recent]


def export_costs_read(
    *, account: CloudAccount, adapter: object, start: date, end: date, keys: list[str],
    refill: bool, check: Callable[[], None],
) -> ExportRead:  # fmt: skip
    """Read the periods the import needs from the account's export, if it names one;
    `check` runs between periods (the import's lease keeper). Raises CloudError when the
    export cannot be read."""
    if not isinstance(adapter, BillingExport):
        return ExportRead()
    location = adapter.export_location()
    if not location:
        return ExportRead()
    reach = export_reach(adapter, end)
    listed = adapter.export_periods()
    if not listed:
        return ExportRead(location, note=f"The data export {location} has no billing period yet.")
    read = ExportRead(location)
    periods = export_periods_to_read(
        account=account, location=location, listed=listed, start=start, reach=reach,
        refill=refill,
    )  # fmt: skip
    notes = []
    for period in periods:
        costs = adapter.export_costs(period, reach, keys)
        check()
        if costs.rows == 0:  # no file yet, or a delivery under way: keep what is stored
            notes.append(
                f"The data export had no line item for {period:%Y-%m}: its days were kept."
            )
            continue
        read.periods.append(costs)
    skipped = sum(p.skipped for p in read.periods)
    if skipped:
        notes.append(
            f"{skipped} line items of the data export were left out (no day or amount, "
            "another account's, or an unknown currency)."
        )
    read.note = " ".join(notes)
    return read


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
