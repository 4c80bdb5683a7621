"""Month to date, forecast and month over month on fixed data; currencies never summed
silently."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.selectors import (
    CostFilters,
    billing_settings,
    breakdown,
    cost_summary,
    top_resources,
)
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account, azure_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))


@pytest.fixture
def eur(org):
    """An Azure account of the same organization, whose costs the tests give in EUR."""
    return azure_account(
        org,
        "11111111-2222-3333-4444-555555555555",
        "66666666-7777-8888-9999-000000000000",
        "s",
        ["x"],
    )


def test_month_to_date_forecast_and_last_month(org, account):
    # October: 10 a day (31 days). November: 20 a day from the 1st to the 13th, then 30.
    store(account, daily(account, date(2026, 10, 1), 31, "10"))
    store(
        account,
        daily(account, date(2026, 11, 1), 13, "20") + daily(account, date(2026, 11, 14), 7, "30"),
    )
    summary = cost_summary(organization=org, today=TODAY)
    # Through the 20th, today's partial day included: 13*20 + 7*30.
    assert summary.total(summary.month_to_date) == Decimal(470)
    # Complete days (to the 19th) 13*20 + 6*30 = 440; the last 7 complete days (13th..19th)
    # average (20 + 6*30)/7 a day, for the 11 days from today to the 30th.
    rate = Decimal(200) / 7
    assert summary.total(summary.daily_rate) == rate
    assert summary.total(summary.forecast) == Decimal(440) + rate * 11
    assert summary.total(summary.last_month_same_day) == Decimal(200)  # Oct 1..20
    assert summary.change == pytest.approx(135.0)


def test_last_month_same_day_stops_at_a_short_months_end(org, account):
    store(account, daily(account, date(2026, 2, 1), 28, "1"))
    store(account, daily(account, date(2026, 3, 1), 31, "1"))
    summary = cost_summary(organization=org, today=date(2026, 3, 31))
    assert summary.total(summary.last_month_same_day) == Decimal(28)


def test_currencies_are_never_summed_without_a_rate(org, account, eur):
    store(account, daily(account, date(2026, 11, 1), 10, "10"))
    store(eur, daily(eur, date(2026, 11, 1), 10, "5", currency="EUR", service="VMs"))
    summary = cost_summary(organization=org, today=TODAY)
    assert summary.total(summary.month_to_date) is None
    assert summary.month_to_date.amounts == {"USD": Decimal(100), "EUR": Decimal(50)}
    rows = breakdown(
        organization=org,
        start=date(2026, 11, 1),
        end=date(2026, 12, 1),
        by="provider",
        filters=CostFilters(),
        currency="USD",
        rates={},
    )
    assert {r["key"]: r["total"] for r in rows} == {"aws": Decimal(100), "azure": None}

    settings = billing_settings(org)
    settings.rates = {"EUR": 1.1}
    settings.save()
    summary = cost_summary(organization=org, today=TODAY)
    assert summary.total(summary.month_to_date) == Decimal(100) + Decimal(50) * Decimal("1.1")


def test_filters_narrow_every_figure(org, account):
    store(
        account,
        daily(account, date(2026, 11, 1), 5, "10", service="EC2")
        + daily(account, date(2026, 11, 1), 5, "1", service="S3"),
    )
    summary = cost_summary(organization=org, today=TODAY, filters=CostFilters(service="S3"))
    assert summary.total(summary.month_to_date) == Decimal(5)


def test_another_organizations_costs_never_appear(org, other_org, account):
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    store(theirs, daily(theirs, date(2026, 11, 1), 10, "1000"))
    store(account, daily(account, date(2026, 11, 1), 10, "1"))
    summary = cost_summary(organization=org, today=TODAY)
    assert summary.total(summary.month_to_date) == Decimal(10)


def test_top_resources_are_ranked_per_currency_and_converted_with_a_rate(org, account, eur):
    store(
        account,
        daily(account, date(2026, 11, 1), 10, "10", resource_id="i-web")  # 100 USD
        + daily(account, date(2026, 11, 1), 10, "3", resource_id="i-db"),  # 30 USD
    )
    store(
        eur,
        daily(eur, date(2026, 11, 1), 10, "5", currency="EUR", service="VMs", resource_id="vm-a")
        + daily(
            eur, date(2026, 11, 1), 10, "20", currency="JPY", service="VMs", resource_id="vm-b"
        ),
    )  # 50 EUR, 200 JPY
    window = {"organization": org, "start": date(2026, 11, 1), "end": date(2026, 12, 1)}

    def ranking(rates: dict[str, float]) -> list[tuple[str, list[tuple[str, Decimal]]]]:
        groups = top_resources(**window, filters=CostFilters(), currency="USD", rates=rates)
        return [
            (g["currency"], [(r["resource_id"], r["total"]) for r in g["rows"]]) for g in groups
        ]

    # 200 JPY is not more than 100 USD: each currency without a rate is ranked on its own.
    assert ranking({}) == [
        ("USD", [("i-web", Decimal(100)), ("i-db", Decimal(30))]),
        ("EUR", [("vm-a", Decimal(50))]),
        ("JPY", [("vm-b", Decimal(200))]),
    ]
    converted = ranking({"EUR": 2.5})
    assert [(c, [rid for rid, _ in rows]) for c, rows in converted] == [
        ("USD", ["vm-a", "i-web", "i-db"]),
        ("JPY", ["vm-b"]),
    ]
    assert converted[0][1][0][1] == pytest.approx(Decimal(125))
