"""GCP through google-auth and the google-cloud-* clients (REST transport).

- `adapter`: GcpAdapter, the credentials, clients and retries; `errors`: Google's exceptions as
  display-safe CloudErrors.
- `inventory`: one project's listing: instances from Compute (their live status), everything
  else from Cloud Asset Inventory (`assets`), attachments indexed across items (`links`).
- `records_compute`, `records_network`, `records_services`: one builder per resource kind,
  each turning an item into a record or a Skip, never raising (`fields` reads what GCP sends).
- `costs`: daily costs from the Cloud Billing export in BigQuery.

Ids are resource paths from "projects/" (see `fields`), so that what one record is attached to
matches another record's id."""

from __future__ import annotations

from mcloud.clouds.gcp.adapter import GcpAdapter
from mcloud.clouds.gcp.assets import AssetItem, asset_item
from mcloud.clouds.gcp.costs import BILLING_TABLE
from mcloud.clouds.gcp.errors import translate_errors
from mcloud.clouds.gcp.fields import made
from mcloud.clouds.gcp.inventory import ASSET_TYPES, BUILDERS
from mcloud.clouds.gcp.links import Links
from mcloud.clouds.gcp.records_compute import (
    disk_record,
    group_record,
    instance_record,
    snapshot_record,
)
from mcloud.clouds.gcp.records_network import (
    address_record,
    backend_service_record,
    firewall_record,
    forwarding_rule_record,
    nat_record,
    network_record,
    subnetwork_record,
)
from mcloud.clouds.gcp.records_services import (
    bucket_record,
    cluster_record,
    dns_zone_record,
    firestore_record,
    function_record,
    node_pool_record,
    run_record,
    sql_record,
    topic_record,
)

__all__ = [
    "ASSET_TYPES",
    "BILLING_TABLE",
    "BUILDERS",
    "AssetItem",
    "GcpAdapter",
    "Links",
    "address_record",
    "asset_item",
    "backend_service_record",
    "bucket_record",
    "cluster_record",
    "disk_record",
    "dns_zone_record",
    "firestore_record",
    "firewall_record",
    "forwarding_rule_record",
    "function_record",
    "group_record",
    "instance_record",
    "made",
    "nat_record",
    "network_record",
    "node_pool_record",
    "run_record",
    "snapshot_record",
    "sql_record",
    "subnetwork_record",
    "topic_record",
    "translate_errors",
]
