"""`rows_insert` stores what `bulk_create` would: dates, decimals, JSON and foreign keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.models import CostData
from inventory.models import CloudAccount
from mcloud.bulk_insert import rows_insert

pytestmark = pytest.mark.django_db
FIELDS = ("organization", "account", "member_id", "provider", "date", "billing_period",
          "service", "region", "resource_id", "amount", "currency", "metadata")  # fmt: skip


def stored(account) -> list[tuple]:
    return list(
        CostData.objects.filter(account=account)
        .order_by("date", "resource_id")
        .values_list("date", "service", "resource_id", "amount", "currency", "metadata")
    )


def test_rows_are_stored_as_bulk_create_stores_them(org):
    by_orm = CloudAccount.objects.create(organization=org, name="orm", provider="aws")
    by_rows = CloudAccount.objects.create(organization=org, name="rows", provider="aws")
    values = [
        (date(2026, 11, 30), "EC2", "i-1", Decimal("12.3456789"), "USD", {"usage": ["a", 1]}),
        (date(2026, 12, 1), "S3 \u00e9 'quoted'", "", Decimal("-0.000001"), "EUR", {}),
    ]
    CostData.objects.bulk_create(
        CostData(organization=org, account=by_orm, provider="aws", date=day,
                 billing_period=f"{day:%Y-%m}", service=service, region="", resource_id=rid,
                 amount=amount, currency=currency, metadata=metadata)
        for day, service, rid, amount, currency, metadata in values
    )  # fmt: skip
    count = rows_insert(
        CostData,
        FIELDS,
        (
            (org.pk, by_rows.pk, "", "aws", day, f"{day:%Y-%m}", service, "", rid, amount,
             currency, metadata)
            for day, service, rid, amount, currency, metadata in values
        ),
    )  # fmt: skip
    assert count == 2
    assert stored(by_rows) == stored(by_orm)
    assert stored(by_rows)[0][3] == Decimal("12.345679")  # the field's places, as the ORM's
    assert rows_insert(CostData, FIELDS, []) == 0


def test_more_rows_than_one_statement_holds(org):
    account = CloudAccount.objects.create(organization=org, name="many", provider="gcp")
    rows = [
        (org.pk, account.pk, "", "gcp", date(2026, 12, 1), "2026-12", "Compute", "", f"vm-{n}",
         Decimal(n), "USD", {})
        for n in range(2_500)
    ]  # fmt: skip
    assert rows_insert(CostData, FIELDS, rows) == 2_500
    assert CostData.objects.filter(account=account).count() == 2_500
