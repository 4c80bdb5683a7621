"""Syncing the sandbox's GCP estate (every GCP type of the inventory) through the real sync
code, google-cloud-compute and google-cloud-asset, against the fake; on SQLite and PostgreSQL
alike."""

from __future__ import annotations

import random

import pytest

from emulators import estate
from inventory.models import Resource, SyncRun
from inventory.services.sync import cloud_account_sync
from tests.inventory.factories import gcp_account

pytestmark = pytest.mark.django_db


def test_every_gcp_type_syncs_and_a_second_sync_changes_nothing(gcp, org):
    gcp.page_size = 40  # several pages of instances and of assets
    described = estate.build_gcp(gcp, random.Random(2026))
    account = gcp_account(org, described["key"], described["project_ids"])

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert (run.skipped, run.merged) == (0, 0)
    rows = Resource.objects.filter(account=account)
    assert set(rows.values_list("type", flat=True)) == {
        "vm", "vm_group", "disk", "snapshot", "storage", "network", "subnet", "firewall",
        "load_balancer", "ip_address", "nat_gateway", "database", "nosql", "kubernetes",
        "function", "topic", "dns_zone",
    }  # fmt: skip
    assert all(r.metadata.get("provider_type") for r in rows)
    cluster = rows.get(name="prod-apps")
    assert (cluster.type, cluster.scope, cluster.region, cluster.status) == (
        "kubernetes", "acme-web-prod", "us-central1", "running",
    )  # fmt: skip
    assert (
        cluster.resource_id == "projects/acme-web-prod/locations/us-central1-b/clusters/prod-apps"
    )
    reports = rows.get(name="data-reports")
    assert (reports.type, reports.status, reports.region) == ("database", "stopped", "europe-west1")
    assert rows.get(name="unused-ip", scope="acme-data-lake").status == "available"
    assert rows.filter(type="nat_gateway").count() == 2

    again = cloud_account_sync(account=account)

    assert again.status == SyncRun.State.SUCCEEDED
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == rows.count()
