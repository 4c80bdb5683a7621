"""Costs from the account's CUR 2.0 data export (AWS Data Exports, Parquet) in S3: the
history Cost Explorer no longer keeps per resource (14 days), as far back as the export goes.

The files are found by `export_files` and read with pyarrow, streamed: only the columns
`export_rows` reads, one batch of a row group at a time, so a file of any size is never in
memory whole; the sums per day are. A file that is not Parquet, or lacks the day or the cost
column, fails the read with a CloudError that names it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from mcloud.clouds.aws.export_files import (
    ExportPlace,
    S3Object,
    export_errors,
    export_periods,
    period_files,
)
from mcloud.clouds.aws.export_rows import COLUMNS, REQUIRED, PeriodTotals
from mcloud.clouds.aws.session import DEFAULT_REGION, AwsSession
from mcloud.clouds.base import CloudError, ExportedCosts

BATCH_ROWS = 20_000  # line items per batch handed to Python
READ_BUFFER = 4 * 1024 * 1024  # bytes per ranged read of a column chunk


def export_place(session: AwsSession) -> ExportPlace | None:
    c = session.credentials
    if not c.export_bucket:
        return None
    return ExportPlace(c.export_bucket, c.export_prefix, c.export_name)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


class CostExportReader:
    """The billing periods of one account's export, and their costs."""

    def __init__(self, session: AwsSession, place: ExportPlace) -> None:
        self.session = session
        self.place = place
        self._s3: Any = None

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self.session.client("s3", DEFAULT_REGION)
        return self._s3

    def periods(self) -> list[date]:
        return export_periods(self.s3, self.place)

    def costs(self, period: date, before: date, keys: list[str]) -> ExportedCosts:
        """The period's costs of its days before `before` (`export_rows.PeriodTotals`)."""
        period = period.replace(day=1)
        end = min(next_month(period), before)
        account_id = self.session.identity().account_id
        totals = PeriodTotals(
            period, max(period, end), keys, account_id,
            by_account=self.session.credentials.costs_by_account,
        )  # fmt: skip
        if end <= period:
            return totals.result()
        for file in period_files(self.s3, self.place, period):
            with export_errors(self.place, f"read {file.key} of the data export"):
                self._read(S3Object(self.s3, self.place.bucket, file), file.key, totals)
        return totals.result()

    def _read(self, raw: S3Object, key: str, totals: PeriodTotals) -> None:
        where = f"s3://{self.place.bucket}/{key}"
        try:
            parquet = pq.ParquetFile(raw, buffer_size=READ_BUFFER)
            names = set(parquet.schema_arrow.names)
            missing = [name for name in REQUIRED if name not in names]
            if missing:
                raise CloudError(
                    f"{where} has no {', '.join(missing)} column: is the export a CUR 2.0 export?",
                    permanent=True,
                    code="NotCur2",
                )
            wanted = [name for name in COLUMNS if name in names]
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                columns = {name: _values(batch.column(name)) for name in wanted}
                totals.add_batch(columns, batch.num_rows)
        except (ClientError, BotoCoreError, CloudError):
            raise
        except (pa.ArrowException, OSError, ValueError, TypeError) as error:
            raise CloudError(
                f"{where} could not be read as Parquet ({error.__class__.__name__})",
                code="NotParquet",
            ) from None


def _values(column: pa.Array) -> list[Any]:
    """A column as Python values; timestamps as their UTC day (a timestamp beyond the years
    Python's datetime holds would not convert)."""
    if pa.types.is_timestamp(column.type):
        column = (
            column.cast(pa.int64())
            .cast(pa.timestamp(column.type.unit))
            .cast(pa.date32(), safe=False)
        )
    return column.to_pylist()
