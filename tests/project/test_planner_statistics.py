"""Bulk writers refresh PostgreSQL's planner statistics of the tables they grew past
autovacuum's threshold, at once (`mcloud.planner_statistics`)."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import CloudAccount, Resource, ResourceLink
from mcloud.bulk_insert import rows_insert
from mcloud.planner_statistics import stale_after, statistics_refresh

pytestmark = pytest.mark.django_db


def known_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


def links(org, count: int) -> None:
    """`count` links of one resource, written as the ingest writes them."""
    account = CloudAccount.objects.create(organization=org, name="aws", provider="aws")
    vm = Resource.objects.create(
        organization=org, account=account, provider="aws", resource_id="i-1", name="vm",
        type="vm", region="eu-west-1", scope="eu-west-1", status="running", fingerprint="x",
    )  # fmt: skip
    rows = [(org.pk, vm.pk, f"vol-{n}", f"vol-{n}") for n in range(count)]
    rows_insert(ResourceLink, ("organization", "resource", "target_id", "target_key"), rows)


def test_statistics_go_stale_by_autovacuums_rule():
    assert stale_after(1, -1)  # never analyzed: the first rows change everything
    assert not stale_after(0, -1)
    assert not stale_after(150, 1000)  # 50 rows + 10 %
    assert stale_after(151, 1000)
    assert not stale_after(50, 0)
    assert stale_after(51, 0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_a_table_grown_past_the_threshold_is_analyzed_at_once(org):
    links(org, 80)
    if stale_after(80, known_rows("inventory_resourcelink")):
        assert "inventory_resourcelink" in statistics_refresh([ResourceLink], written=80)
    assert known_rows("inventory_resourcelink") >= 80  # this transaction's rows counted

    # A few rows more than the statistics know make no difference: nothing is analyzed.
    assert statistics_refresh([ResourceLink], written=10) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's case")
def test_sqlite_is_left_alone(org):
    links(org, 80)
    assert statistics_refresh([ResourceLink, Resource], written=80) == []
