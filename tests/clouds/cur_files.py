"""CUR 2.0 data exports written as AWS Data Exports delivers them: real Parquet files (pyarrow)
with the CUR 2.0 column names and types, in
`<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`, put into moto's S3."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ACCOUNT = "123456789012"  # moto's account: the one the test keys sign in to
TAGS = pa.map_(pa.string(), pa.string())
# The CUR 2.0 columns mcloud reads, typed as the data dictionary types them (a few more
# that it does not read are there too, as in a real export).
SCHEMA = pa.schema(
    [
        ("bill_payer_account_id", pa.string()),
        ("line_item_usage_account_id", pa.string()),
        ("line_item_line_item_type", pa.string()),
        ("line_item_usage_start_date", pa.timestamp("ms", tz="UTC")),
        ("line_item_usage_end_date", pa.timestamp("ms", tz="UTC")),
        ("line_item_product_code", pa.string()),
        ("line_item_usage_type", pa.string()),
        ("line_item_resource_id", pa.string()),
        ("line_item_unblended_cost", pa.float64()),
        ("line_item_currency_code", pa.string()),
        ("product", TAGS),
        ("product_region_code", pa.string()),
        ("resource_tags", TAGS),
    ]
)
PRODUCT_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
}


def line_item(
    start: datetime, cost: float, *, product: str = "AmazonEC2", resource: str = "",
    kind: str = "Usage", region: str = "us-east-1", tags: dict[str, str] | None = None,
    account: str = ACCOUNT, payer: str = ACCOUNT, currency: str = "USD",
) -> dict[str, Any]:  # fmt: skip
    """One line item: `start` is its hour (UTC)."""
    name = PRODUCT_NAMES.get(product)
    return {
        "bill_payer_account_id": payer,
        "line_item_usage_account_id": account,
        "line_item_line_item_type": kind,
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": start,
        "line_item_product_code": product,
        "line_item_usage_type": "BoxUsage",
        "line_item_resource_id": resource,
        "line_item_unblended_cost": cost,
        "line_item_currency_code": currency,
        "product": list({"product_name": name}.items()) if name else [],
        "product_region_code": region,
        "resource_tags": list((tags or {}).items()),
    }


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def parquet(
    rows: list[dict[str, Any]], *, schema: pa.Schema = SCHEMA, row_group_size: int = 2
) -> bytes:
    """The rows as a Parquet file (snappy, as AWS writes them), in small row groups so that
    a read goes through several."""
    table = pa.Table.from_pylist(rows, schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=row_group_size, compression="snappy")
    return out.getvalue()


def put_period(
    s3: Any, bucket: str, prefix: str, name: str, period: str, files: dict[str, bytes], *,
    manifest: list[str] | None = None,
) -> None:  # fmt: skip
    """Deliver a billing period ("2026-09"): its files by name, and a manifest naming
    `manifest` of them when given."""
    base = "/".join(p for p in (prefix, name) if p)
    for file_name, body in files.items():
        s3.put_object(
            Bucket=bucket, Key=f"{base}/data/BILLING_PERIOD={period}/{file_name}", Body=body
        )
    if manifest is not None:
        document = {
            "exportName": name,
            "billingPeriod": period,
            "dataFiles": [
                f"s3://{bucket}/{base}/data/BILLING_PERIOD={period}/{f}" for f in manifest
            ],
        }
        s3.put_object(
            Bucket=bucket,
            Key=f"{base}/metadata/BILLING_PERIOD={period}/{name}-Manifest.json",
            Body=json.dumps(document).encode(),
        )
