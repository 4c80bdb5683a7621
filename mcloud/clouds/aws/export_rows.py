"""CUR 2.0 line items (AWS Data Exports' `COST_AND_USAGE_REPORT` table) as mcloud's cost
records, summed per day as they are read.

Columns read (names from AWS's CUR 2.0 data dictionary): `line_item_usage_start_date`
(timestamp, UTC), `line_item_unblended_cost` (double), `line_item_currency_code`,
`line_item_line_item_type`, `line_item_product_code`, `line_item_resource_id` (with the
export's "include resource IDs"), `line_item_usage_account_id`, `bill_payer_account_id`,
`product_region_code` (or an older `product_region`), the `product` map (for its
`product_name`) and the `resource_tags` map (cost allocation tags, a user-defined key `team`
written `user_team`). Only the day and the cost are required of a file; every other column may
be missing and any value null or odd: a line item without a day or a readable amount is
skipped and counted, odd text is cleaned and cut to the columns' sizes.

What becomes of a line item, as Cost Explorer's answers are read (`mcloud.clouds.aws.costs`):
- the bill per day, service, region and resource: every line item type (usage, tax, credits,
  fees), the service by its product name (tax as "Tax", as Cost Explorer says);
- each resource's own costs per day: the line items of type Usage that name a resource, as
  Cost Explorer's resource-level data filters on the Usage record type; an S3 bucket, named
  by its name, becomes its ARN as the inventory names it;
- the cost per value of each allocation tag key, "" for what carries no such tag: every line
  item, so that each key's values add up to the day's whole bill.
The line items of other accounts than the signed-in one are left out, unless it pays for them
(the management account sees its whole organization, as in Cost Explorer), so that two
connections pointed at one export count nothing twice. With `by_account` (a connection that
discovers its members), the bill and the tag costs name the usage account of each line item
as Cost Explorer's LINKED_ACCOUNT does (`member_id`, "" for the signed-in account's own).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mcloud.clouds.base import MAX_ID, MAX_REGION, CostRecord, ExportedCosts, TagCostRecord

DAY = "line_item_usage_start_date"
COST = "line_item_unblended_cost"
CURRENCY = "line_item_currency_code"
TYPE = "line_item_line_item_type"
PRODUCT = "line_item_product_code"
RESOURCE = "line_item_resource_id"
USAGE_ACCOUNT = "line_item_usage_account_id"
PAYER = "bill_payer_account_id"
REGIONS = ("product_region_code", "product_region")
PRODUCT_MAP = "product"
TAGS = "resource_tags"
REQUIRED = (DAY, COST)
COLUMNS = (DAY, COST, CURRENCY, TYPE, PRODUCT, RESOURCE, USAGE_ACCOUNT, PAYER, *REGIONS,
           PRODUCT_MAP, TAGS)  # fmt: skip

RESOURCE_TYPES = frozenset({"Usage"})  # Cost Explorer's RECORD_TYPE "Usage"
MAX_AMOUNT = Decimal(10) ** 12  # the amount columns hold 12 digits before the point
MAX_SERVICE = 200
MAX_TAG_VALUE = 256
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
REGION_CODE = re.compile(r"^[a-z0-9-]{1,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
S3_PRODUCT = "AmazonS3"


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, (bytes, bytearray)):
        return ""
    return CONTROL.sub("", str(value)).strip()[:limit]


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and abs(amount) < MAX_AMOUNT else None


def _account(value: Any) -> str:
    """An account id as AWS writes it: 12 digits (a numeric column drops leading zeros)."""
    text = _text(value, 32)
    if isinstance(value, int) or text.isdigit():
        return text.zfill(12)
    return text


def _mapping(value: Any) -> dict[str, Any]:
    """A map column's value (pyarrow gives a list of pairs) as a dict; {} for anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(pair[0]): pair[1] for pair in value
                if isinstance(pair, (tuple, list)) and len(pair) == 2}  # fmt: skip
    return {}


def tag_columns(key: str) -> tuple[str, ...]:
    """The `resource_tags` keys a cost allocation tag key may be written as, most exact
    first: AWS prefixes a user-defined key with `user_` and writes its other characters as
    lower-case letters, digits and underscores ("CostCenter" as "user_cost_center")."""
    plain = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    snake = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
    return tuple(dict.fromkeys([f"user_{key}", f"user_{plain}", f"user_{snake}",
                                f"user:{key}", key]))  # fmt: skip


class PeriodTotals:
    """The sums of one billing period's line items over [start, end), fed batch by batch."""

    def __init__(
        self, start: date, end: date, keys: list[str], account_id: str, *, by_account: bool = False
    ) -> None:
        self.start, self.end, self.account_id = start, end, account_id
        self.by_account = by_account
        self.keys = {key: tag_columns(key) for key in keys}
        self.bill: dict[tuple[date, str, str, str, str, str], Decimal] = {}
        self.usage: dict[tuple[str, date, str], Decimal] = {}
        self.tags: dict[tuple[date, str, str, str, str], Decimal] = {}
        self.rows = 0
        self.skipped = 0

    def add_batch(self, columns: dict[str, list[Any]], count: int) -> None:
        """Add `count` line items, given as lists per column (missing columns absent)."""
        empty = [None] * count
        values = [columns.get(name, empty) for name in COLUMNS]
        for row in zip(*values, strict=True):
            self.rows += 1
            if not self._add(*row):
                self.skipped += 1

    def _add(
        self, day_value: Any, cost: Any, currency_value: Any, kind: Any, product: Any,
        resource_value: Any, usage_account: Any, payer: Any, region_code: Any,
        region_name: Any, product_map: Any, tags: Any,
    ) -> bool:  # fmt: skip
        day = _day(day_value)
        amount = _amount(cost)
        if day is None or amount is None or not self.start <= day < self.end:
            return False
        payer_id, user_id = _account(payer), _account(usage_account)
        if self.account_id and (payer_id or user_id) and self.account_id not in (payer_id, user_id):
            return False
        currency = _text(currency_value, 8).upper() or "USD"
        if not CURRENCY_CODE.match(currency):
            return False
        line_type = _text(kind, 64)
        code = _text(product, MAX_SERVICE)
        service = _text(_mapping(product_map).get("product_name"), MAX_SERVICE) or code
        if line_type == "Tax":
            service = "Tax"
        region = _text(region_code, MAX_REGION).lower() or _text(region_name, MAX_REGION).lower()
        region = region if REGION_CODE.match(region) and region != "noregion" else ""
        resource = _text(resource_value, MAX_ID)
        if resource and code == S3_PRODUCT and not resource.startswith("arn:"):
            resource = f"arn:aws:s3:::{resource}"[:MAX_ID]
        member = user_id if self.by_account and user_id != self.account_id else ""
        key = (day, service or "Unknown", region, resource.lower(), currency, member)
        self.bill[key] = self.bill.get(key, Decimal(0)) + amount
        if resource and line_type in RESOURCE_TYPES:
            used = (resource.lower(), day, currency)
            self.usage[used] = self.usage.get(used, Decimal(0)) + amount
        if self.keys:
            found = _mapping(tags)
            for tag_key, columns in self.keys.items():
                value = next((found[c] for c in columns if found.get(c) is not None), "")
                tagged = (day, tag_key, _text(value, MAX_TAG_VALUE), currency, member)
                self.tags[tagged] = self.tags.get(tagged, Decimal(0)) + amount
        return True

    def result(self) -> ExportedCosts:
        return ExportedCosts(
            start=self.start,
            end=self.end,
            costs=[
                CostRecord(date=day, service=service, amount=amount, currency=currency,
                           region=region, resource_id=resource, member_id=member)
                for (day, service, region, resource, currency, member), amount
                in self.bill.items()
            ],
            resource_costs=[
                CostRecord(date=day, service="", amount=amount, currency=currency,
                           resource_id=resource)
                for (resource, day, currency), amount in self.usage.items()
            ],
            tag_costs=[
                TagCostRecord(date=day, key=key, value=value, amount=amount, currency=currency,
                              member_id=member)
                for (day, key, value, currency, member), amount in self.tags.items()
            ],
            rows=self.rows,
            skipped=self.skipped,
        )  # fmt: skip
