"""The AWS adapter's reader of a CUR 2.0 data export: boto3's S3 client against moto's server
(IAM auth on), real Parquet files written with pyarrow in the layout AWS Data Exports
delivers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.aws.export_rows import COST, DAY, PAYER, USAGE_ACCOUNT, PeriodTotals
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints
from tests.clouds.cur_files import SCHEMA, at, line_item, parquet, put_period

BUCKET = "acme-cur"
SEPTEMBER, OCTOBER = date(2026, 9, 1), date(2026, 10, 1)
BEFORE = date(2026, 11, 7)  # Cost Explorer answers from this day on
NO_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ],
    }
)


def adapter(aws, key, *, bucket: str = BUCKET, prefix: str = "cur/payer") -> AwsAdapter:
    return AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1], export_bucket=bucket,
                       export_prefix=prefix, export_name="acme-cur2"),
        Endpoints(aws_endpoint_url=aws.url, retries=0),
    )  # fmt: skip


@pytest.fixture
def s3(aws):
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_it_lists_the_periods_and_sums_each_days_line_items(aws, s3):
    day = date(2026, 10, 20)
    first = [
        line_item(at(day, 1), 1.25, resource="i-0abc", tags={"user_team": "web"}),
        line_item(at(day, 2), 1.25, resource="i-0abc", tags={"user_team": "web"}),
        line_item(at(day, 3), 0.5, product="AmazonS3", resource="acme-logs"),
        line_item(at(day, 4), -1.0, resource="i-0abc", kind="Credit"),
        line_item(at(day, 5), 0.3, kind="Tax", region=""),
    ]
    second = [
        # Another account of the organization: its payer is not the signed-in account.
        line_item(at(day, 6), 50.0, account="210987654321", payer="999999999999"),
        line_item(at(day, 7), 2.0, resource="i-0abc", tags={"user_cost_center": "cc-1"}),
    ]
    stale = [line_item(at(day, 8), 1000.0, resource="i-0abc")]  # an earlier delivery's
    put_period(s3, BUCKET, "cur/payer", "acme-cur2", "2026-10",
               {"part-1.snappy.parquet": parquet(first), "part-2.snappy.parquet": parquet(second),
                "old/part-1.snappy.parquet": parquet(stale)},
               manifest=["part-1.snappy.parquet", "part-2.snappy.parquet"])  # fmt: skip
    september = {"part-1.snappy.parquet": parquet([line_item(at(date(2026, 9, 3)), 4.0)])}
    put_period(s3, BUCKET, "cur/payer", "acme-cur2", "2026-09", september)
    reader = adapter(aws, aws.create_user_key("billing"))

    assert reader.export_location() == f"s3://{BUCKET}/cur/payer/acme-cur2"
    assert reader.export_periods() == [SEPTEMBER, OCTOBER]
    read = reader.export_costs(OCTOBER, BEFORE, ["team", "CostCenter"])

    assert (read.start, read.end, read.rows, read.skipped) == (OCTOBER, date(2026, 11, 1), 7, 1)
    bill = {(c.date, c.service, c.region, c.resource_id): c.amount for c in read.costs}
    assert bill == {
        (day, "Amazon Elastic Compute Cloud", "us-east-1", "i-0abc"): Decimal("3.5"),
        (day, "Amazon Simple Storage Service", "us-east-1", "arn:aws:s3:::acme-logs"): Decimal(
            "0.5"
        ),
        (day, "Tax", "", ""): Decimal("0.3"),
    }
    # Each resource's own usage: no credit, no tax.
    assert {(c.resource_id, c.date): c.amount for c in read.resource_costs} == {
        ("i-0abc", day): Decimal("4.5"),
        ("arn:aws:s3:::acme-logs", day): Decimal("0.5"),
    }
    tags = {(t.key, t.value): t.amount for t in read.tag_costs}
    assert tags == {
        ("team", "web"): Decimal("2.5"),
        ("team", ""): Decimal("1.8"),  # every other line item: the key's values add up
        ("CostCenter", "cc-1"): Decimal("2.0"),
        ("CostCenter", ""): Decimal("2.3"),
    }
    # A period is cut to the days before `before`.
    cut = reader.export_costs(OCTOBER, day, [])
    assert (cut.end, cut.costs, cut.rows, cut.skipped) == (day, [], 7, 7)


def test_hostile_line_items_are_cleaned_or_skipped_and_counted(aws, s3):
    loose = pa.schema(
        [
            ("line_item_usage_start_date", pa.string()),
            ("line_item_unblended_cost", pa.string()),
            ("line_item_currency_code", pa.string()),
            ("line_item_resource_id", pa.string()),
            ("line_item_line_item_type", pa.string()),
            ("product_region", pa.string()),  # an older name; no product code at all
            ("resource_tags", pa.string()),
        ]
    )
    rows = [
        {"line_item_usage_start_date": "2026-10-02T05:00:00Z", "line_item_unblended_cost": "1.5",
         "line_item_currency_code": " usd ", "line_item_resource_id": "i-0\x00abc\n" + "x" * 600,
         "line_item_line_item_type": "Usage", "product_region": "EU-WEST-1",
         "resource_tags": '{"user_team": "<b>ops</b>"}'},
        {"line_item_usage_start_date": "2026-10-02", "line_item_unblended_cost": None,
         "line_item_line_item_type": "Usage", "product_region": "<script>",
         "resource_tags": "not json"},
        {"line_item_usage_start_date": "yesterday", "line_item_unblended_cost": "2"},
        {"line_item_usage_start_date": None, "line_item_unblended_cost": "2"},
        {"line_item_usage_start_date": "2026-10-03", "line_item_unblended_cost": "NaN"},
        {"line_item_usage_start_date": "2026-10-03", "line_item_unblended_cost": "1e40"},
        {"line_item_usage_start_date": "2026-10-03", "line_item_unblended_cost": "abc"},
        {"line_item_usage_start_date": "2026-10-03", "line_item_unblended_cost": "1",
         "line_item_currency_code": "€€€"},
        {"line_item_usage_start_date": "2026-12-25", "line_item_unblended_cost": "1"},
        {"line_item_usage_start_date": "2026-10-04", "line_item_unblended_cost": "0.25",
         "product_region": "NoRegion", "line_item_line_item_type": None},
    ]  # fmt: skip
    put_period(s3, BUCKET, "cur/payer", "acme-cur2", "2026-10",
               {"odd.parquet": parquet(rows, schema=loose)})  # fmt: skip

    read = adapter(aws, aws.create_user_key("billing")).export_costs(OCTOBER, BEFORE, ["team"])

    assert (read.rows, read.skipped) == (10, 8)
    [first, last] = sorted(read.costs, key=lambda c: c.date)
    assert first.resource_id == "i-0abc" + "x" * 494  # control characters out, cut to 500
    assert (first.service, first.region, first.currency, first.amount) == (
        "Unknown", "eu-west-1", "USD", Decimal("1.5"),
    )  # fmt: skip
    assert (last.date, last.region, last.amount) == (date(2026, 10, 4), "", Decimal("0.25"))
    assert sorted((t.value, t.amount) for t in read.tag_costs) == [
        ("", Decimal("0.25")),
        ("<b>ops</b>", Decimal("1.5")),
    ]


def test_an_export_that_cannot_be_read_raises_a_clear_error(aws, s3):
    key = aws.create_user_key("billing")
    missing = adapter(aws, key, bucket="no-such-bucket")
    with pytest.raises(CloudError, match="bucket no-such-bucket does not exist"):
        missing.export_periods()

    denied = adapter(aws, aws.create_user_key("no-s3", NO_S3))
    with pytest.raises(CloudError, match=r"denied .* data export s3://acme-cur/cur/payer"):
        denied.export_periods()

    no_cost = SCHEMA.remove(SCHEMA.get_field_index("line_item_unblended_cost"))
    row = line_item(at(date(2026, 10, 2)), 1.0)
    del row["line_item_unblended_cost"]
    put_period(s3, BUCKET, "cur/payer", "acme-cur2", "2026-10",
               {"a.parquet": parquet([row], schema=no_cost)})  # fmt: skip
    with pytest.raises(CloudError, match="no line_item_unblended_cost column"):
        adapter(aws, key).export_costs(OCTOBER, BEFORE, [])

    put_period(s3, BUCKET, "cur/payer", "acme-cur2", "2026-09", {"b.parquet": b"PAR1 junk"})
    with pytest.raises(CloudError, match=r"b\.parquet could not be read as Parquet"):
        adapter(aws, key).export_costs(SEPTEMBER, BEFORE, [])


def test_a_connection_that_discovers_members_reads_each_line_items_usage_account():
    """As Cost Explorer's LINKED_ACCOUNT: the payer's own line items name no member, each
    other usage account's name it; tag costs likewise. Without discovery, none is named."""
    payer, web = "123456789012", "210987654321"
    columns = {
        DAY: [date(2026, 10, 2)] * 3,
        COST: [1.0, 2.0, 4.0],
        USAGE_ACCOUNT: [payer, web, web],
        PAYER: [payer] * 3,
    }
    split = PeriodTotals(date(2026, 10, 1), date(2026, 11, 1), ["team"], payer, by_account=True)
    split.add_batch(columns, 3)
    whole = PeriodTotals(date(2026, 10, 1), date(2026, 11, 1), ["team"], payer)
    whole.add_batch(columns, 3)

    read = split.result()
    assert {r.member_id: r.amount for r in read.costs} == {"": Decimal(1), web: Decimal(6)}
    assert {r.member_id: r.amount for r in read.tag_costs} == {"": Decimal(1), web: Decimal(6)}
    assert {r.member_id for r in read.resource_costs} <= {""}
    assert {r.member_id: r.amount for r in whole.result().costs} == {"": Decimal(7)}
