"""The price catalog: the shipped snapshot's load, and lookups with the region fallback."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Price
from inventory.pricing import PriceQuery, hourly_usd, monthly_usd
from inventory.services.prices import SNAPSHOT, prices_load, snapshot_read

pytestmark = pytest.mark.django_db


def test_the_migration_loaded_the_snapshot():
    assert Price.objects.count() == len({r.key for r in snapshot_read()}) > 0


def test_it_prices_a_vm_per_month_at_730_hours():
    query = PriceQuery("aws", "vm", "t3.micro", "us-east-1")
    assert monthly_usd([query]) == {query: Decimal("0.0104") * 730}


def test_a_region_of_its_own_wins_over_the_any_region_price():
    Price.objects.create(
        provider="aws", kind="vm", size="t3.micro", region="eu-west-1", unit="hour",
        usd=Decimal("0.0114"), source="test", effective="2026-12-01",
    )  # fmt: skip
    ireland = PriceQuery("aws", "vm", "t3.micro", "eu-west-1")
    ohio = PriceQuery("aws", "vm", "t3.micro", "us-east-2")
    prices = monthly_usd([ireland, ohio])
    assert prices[ireland] == Decimal("0.0114") * 730
    assert prices[ohio] == Decimal("0.0104") * 730


def test_a_disk_is_priced_per_gib(django_assert_num_queries):
    disk = PriceQuery("aws", "disk", "gp3", "us-east-1", quantity=100)
    with django_assert_num_queries(1):
        prices = monthly_usd([disk])
    assert prices[disk] == Decimal("8.00")


def test_what_the_catalog_lacks_is_none_never_zero():
    query = PriceQuery("aws", "vm", "x9.unheard-of")
    assert monthly_usd([query]) == {query: None}
    assert hourly_usd("aws", "x9.unheard-of") is None
    assert hourly_usd("aws", "") is None


def test_sizes_match_without_regard_to_case():
    assert hourly_usd("azure", "standard_b1s") == hourly_usd("azure", "Standard_B1s") is not None


def test_hourly_covers_databases_too():
    assert hourly_usd("aws", "db.t3.micro") is not None


def test_many_queries_take_one_query(django_assert_num_queries):
    queries = [PriceQuery("gcp", "vm", size, "us-central1") for size in ("e2-micro", "e2-small")]
    queries += [PriceQuery("gcp", "disk", "pd-standard", "us-central1", quantity=10)]
    with django_assert_num_queries(1):
        prices = monthly_usd(queries)
    assert all(prices[q] is not None for q in queries)


def test_an_empty_catalog_fills_itself_from_the_snapshot():
    Price.objects.all().delete()
    assert hourly_usd("gcp", "e2-micro") is not None
    assert Price.objects.count() > 0


def test_a_bad_snapshot_changes_nothing(tmp_path):
    doc = json.loads(SNAPSHOT.read_text())
    doc["prices"][0][5] = "0.5"
    doc["prices"][1][5] = "free"
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps(doc))
    before = list(Price.objects.values_list("usd", flat=True))
    with pytest.raises(CommandError, match=r"Price 2 of .* is not a number\. Nothing was changed"):
        call_command("load_prices", file=bad)
    assert list(Price.objects.values_list("usd", flat=True)) == before


def test_loading_again_replaces_the_same_prices():
    Price.objects.filter(provider="gcp", kind="vm", size="e2-micro").update(usd=99)
    count = prices_load()
    assert Price.objects.count() == count
    assert hourly_usd("gcp", "e2-micro") != 99
