"""The billing page's chart in the dashboard's colours, with round ticks in the currency and
no clipped label; "(none)" links that filter; "Top resources" that says which providers
report per-resource costs; amounts rounded to the currency's minor unit in the CSV and the
API; duplicate rate lines refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from billing.charts import stacked_bars
from billing.selectors import billing_settings
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account, azure_account

pytestmark = [pytest.mark.django_db]

CHAR_WIDTH = 6.6  # the widest a character of the chart's 11 px font takes


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-11-20 12:00:00+00:00", tick=False):
        yield


@pytest.fixture
def costs(org):
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    store(
        aws,
        daily(aws, date(2026, 11, 1), 20, "12.2791010", service="EC2", region="eu-west-1")
        + daily(aws, date(2026, 11, 1), 20, "1.5", service="Tax", region=""),
    )
    return aws


def _svg(html: str) -> str:
    return html.split('<svg class="cost-chart"')[1].split("</svg>")[0]


def test_provider_bars_take_the_dashboards_colours(costs, login, vera):
    page = login(vera).get(reverse("billing:overview")).content.decode()
    assert 'class="series-aws"' in _svg(page)
    # The provider's colours come from its registry entry, into the page's head.
    css = page.split("<style>")[1].split("</style>")[0]
    dashboard = re.search(r"\.bar-chart \.bar-aws rect \{ fill: ([^;]+);", css).group(1)
    chart = re.search(r"\.series-aws \{ fill: ([^;]+);", css).group(1)
    assert dashboard == chart == "var(--provider-aws)"
    assert ":root { --provider-aws: #ff9900; }" in css


def test_ticks_are_round_and_carry_the_currency(costs, login, vera):
    svg = _svg(login(vera).get(reverse("billing:overview")).content.decode())
    ticks = re.findall(r'<text [^>]*class="tick" text-anchor="end">([^<]+)</text>', svg)
    assert len(ticks) >= 3
    for tick in ticks:
        number, currency = tick.rsplit(" ", 1)
        assert currency == "USD"
        value = Decimal(number.replace(",", ""))
        assert value == value.to_integral_value() or value * 4 == (value * 4).to_integral_value()
    values = [Decimal(t.split()[0].replace(",", "")) for t in ticks]
    steps = {b - a for a, b in pairwise(values)}
    assert len(steps) == 1  # evenly spaced


@pytest.mark.parametrize("days", [7, 20, 31, 90])
def test_no_label_sticks_out_of_the_chart(days):
    series = {
        "days": [
            {"date": date(2026, 8, 1).fromordinal(date(2026, 8, 1).toordinal() + n),
             "values": [Decimal("123456.78")], "total": Decimal("123456.78")}
            for n in range(days)
        ],
        "groups": ["AWS"],
        "keys": ["aws"],
    }  # fmt: skip
    chart = stacked_bars(series, "USD")
    markup = str(chart["labels"]) + "".join(
        f'<text x="{chart["axis"] - 6}" text-anchor="end">{t.get("label") or t["value"]}</text>'
        for t in chart["ticks"]
    )
    for x, attributes, text in re.findall(r'<text x="([\d.]+)"([^>]*)>([^<]+)</text>', markup):
        anchor = re.search(r'text-anchor="(\w+)"', attributes)
        anchor = anchor.group(1) if anchor else "start"
        width = len(text) * CHAR_WIDTH
        left = {"end": float(x) - width, "middle": float(x) - width / 2}.get(anchor, float(x))
        assert left >= 0, text
        assert left + width <= chart["width"], text


def test_the_none_region_link_filters_to_costs_without_a_region(costs, login, vera):
    client = login(vera)
    page = client.get(reverse("billing:overview"), {"provider": "aws"}).content.decode()
    link = re.search(r'<a href="(\?[^"]*)">\(none\)</a>', page).group(1).replace("&amp;", "&")
    assert "provider=aws" in link
    assert "region=" in link
    narrowed = client.get(reverse("billing:overview") + link).content.decode()
    assert 'id="billing-mtd">30.00 USD' in narrowed  # 20 days x 1.50, the region-less tax
    assert "region: (none)" in narrowed


def test_top_resources_say_which_providers_report_them(costs, org, login, vera):
    azure_account(
        org, "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000",
        "s", ["aaaaaaaa-0000-0000-0000-000000000001"],
    )  # fmt: skip
    page = login(vera).get(reverse("billing:overview")).content.decode()
    top = page[page.index("Top resources") :]
    assert "Azure reports costs per resource" in top
    assert "AWS reports costs per service and region only" in top


def test_amounts_are_rounded_to_the_currencys_minor_unit(costs, login, vera, token_for):
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(login(vera).get(reverse("billing:export")).streaming_content).decode()
            )
        )
    )
    assert {r["amount"] for r in rows if r["service"] == "EC2"} == {"12.28"}
    api = Client(headers={"Authorization": f"Bearer {token_for(vera)}"})
    summary = api.get("/api/costs/summary").json()
    assert summary["month_to_date"]["amounts"]["USD"] == "275.58"  # 20 x 13.779101
    assert summary["month_to_date"]["total"] == "275.58"
    breakdown = api.get("/api/costs/breakdown", {"by": "service"}).json()
    assert {r["label"]: r["total"] for r in breakdown}["EC2"] == "245.58"
    days = api.get("/api/costs/daily").json()["days"]
    assert days[0]["total"] == "13.78"
    assert days[0]["values"]["aws"] == "13.78"
    stats = api.get("/api/dashboard/stats").json()
    assert stats["month_to_date_total"] == "275.58"
    assert stats["cost_by_provider"]["aws"] == "275.58"


def test_minor_units_follow_the_currency():
    from billing.money import round_amount

    assert round_amount(Decimal("12.2791010000000"), "USD") == Decimal("12.28")
    assert round_amount(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert round_amount(Decimal("1.23456"), "KWD") == Decimal("1.235")


def test_a_duplicate_rate_line_is_refused(login, alice, org):
    response = login(alice).post(
        reverse("billing:settings"), {"currency": "USD", "rates": "EUR 1.08\nGBP 1.2\neur 1.1"}
    )
    assert "Line 3: EUR is given twice (line 1)" in response.content.decode()
    assert billing_settings(org).rates == {}


def test_a_bad_selection_value_is_said_beside_its_field_and_the_rest_applies(costs, login, vera):
    page = (
        login(vera)
        .get(reverse("billing:overview"), {"period": "last_month", "provider": "foo"})
        .content.decode()
    )
    assert "Not a provider: foo." in page
    assert "<strong>October 2026</strong>" in page  # the good value still applies
