"""SQLite's search index (FTS5, migration 0006) is kept by triggers on inventory_resource,
which Django's SQLite schema editor drops whenever a migration rebuilds that table (as
altering one of its columns does): they must be there after every migration."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.filters import ResourceFilters
from inventory.selectors import resource_list
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL searches with pg_trgm")
def test_the_search_triggers_survive_the_migrations():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        triggers = [name for (name,) in cursor.fetchall()]
    assert [t for t in triggers if t.startswith("inventory_resource_search")] == [
        "inventory_resource_search_ad",
        "inventory_resource_search_ai",
        "inventory_resource_search_au",
    ]


def test_a_new_and_a_renamed_resource_are_found_by_text(org):
    acct = estate.account(org, "aws-prod")
    record = ResourceRecord(resource_id="i-0abc123", name="checkout-web", type="vm",
                            region="eu-west-1", status="running")  # fmt: skip
    ingest_scope(account=acct, scope="eu-west-1", records=[record])

    def found(text: str) -> list[str]:
        return [r.name for r in resource_list(organization=org, filters=ResourceFilters(q=text))]

    assert found("kout-w") == ["checkout-web"]
    assert found("0ABC12") == ["checkout-web"]
    record.name = "payments-web"
    ingest_scope(account=acct, scope="eu-west-1", records=[record])
    assert found("kout-w") == []
    assert found("ments-w") == ["payments-web"]
