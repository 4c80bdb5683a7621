"""One project's listing: which asset types it asks Cloud Asset Inventory for, and which
builder turns each item into a record.

- Instances come from Compute's aggregated list, not the asset inventory: the inventory's copy
  of an instance lags behind it (by seconds to minutes), and a VM's power state is the one
  field that changes all the time and that stop/start and costs depend on.
- Everything else comes from one paged ListAssets call (content type RESOURCE: each asset
  with its service's own JSON, which is where attachments are named).
- The attachments no single item names (firewall rules that apply to a VM, load balancers
  that reach it, members of instance groups) are indexed from all items first (`Links`).
- A call GCP denies (PERMISSION_DENIED: the role lacks that API's permissions, or the API is
  not enabled) is not fatal when the other one succeeds: the listing says what it could not
  list (a Skip) and marks the types that call makes `unlisted`, so their stored rows are kept
  as they were. Both denied: the project fails, as one the account may not read.
- Any other failed call fails the whole project (a failed scope removes nothing); an item
  that cannot be read is a Skip, never a failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcloud.clouds.base import TYPES, CloudError, Listing, ResourceRecord, ResourceType, Skip
from mcloud.clouds.gcp.assets import COMPUTE, LINK_TYPES, AssetItem, asset_item
from mcloud.clouds.gcp.errors import translate_errors
from mcloud.clouds.gcp.fields import listed, made
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

if TYPE_CHECKING:
    from mcloud.clouds.gcp.adapter import GcpAdapter

Builder = Callable[[AssetItem, Links], ResourceRecord | Skip]
BUILDERS: dict[str, Builder] = {
    COMPUTE + "Disk": disk_record,
    COMPUTE + "RegionDisk": disk_record,
    COMPUTE + "Snapshot": snapshot_record,
    COMPUTE + "InstanceGroupManager": group_record,
    COMPUTE + "Network": network_record,
    COMPUTE + "Subnetwork": subnetwork_record,
    COMPUTE + "Firewall": firewall_record,
    COMPUTE + "Address": address_record,
    COMPUTE + "GlobalAddress": address_record,
    COMPUTE + "Router": nat_record,
    COMPUTE + "ForwardingRule": forwarding_rule_record,
    COMPUTE + "GlobalForwardingRule": forwarding_rule_record,
    COMPUTE + "BackendService": backend_service_record,
    COMPUTE + "RegionBackendService": backend_service_record,
    "storage.googleapis.com/Bucket": bucket_record,
    "sqladmin.googleapis.com/Instance": sql_record,
    "firestore.googleapis.com/Database": firestore_record,
    "container.googleapis.com/Cluster": cluster_record,
    "container.googleapis.com/NodePool": node_pool_record,
    # Every generation of Cloud Functions ("CloudFunction" would be the 1st only).
    "cloudfunctions.googleapis.com/Function": function_record,
    "run.googleapis.com/Service": run_record,
    "pubsub.googleapis.com/Topic": topic_record,
    "dns.googleapis.com/ManagedZone": dns_zone_record,
}
ASSET_TYPES = (*BUILDERS, *LINK_TYPES)
# Types of which only some items are resources of ours: Cloud NAT is a router with NATs.
DENIED = "not listed: GCP denied access"
WANTED: dict[str, Callable[[AssetItem], bool]] = {
    COMPUTE + "Router": lambda item: bool(listed(item.get("nats"))),
}


def list_project(adapter: GcpAdapter, project: str) -> Listing:
    """Every resource of one project, paged to the end. Raises CloudError when a listing of
    the project fails."""
    listing = Listing()
    denied: list[CloudError] = []
    instances: list[Any] = []
    try:
        with translate_errors(f"list the instances of project {project}"):
            instances = list(adapter.instances(project))
    except CloudError as error:
        if error.code != "Forbidden":
            raise
        denied.append(error)
        listing.add(Skip(f"{DENIED} (PERMISSION_DENIED)", "Compute Engine instances"))
        listing.unlisted.add(ResourceType.VM)
    assets: list[AssetItem] = []
    skips: list[Skip] = []
    try:
        with translate_errors(f"list the resources of project {project}"):
            for asset in adapter.assets(project, ASSET_TYPES):
                item = asset_item(asset)
                if isinstance(item, Skip):
                    skips.append(item)
                else:
                    assets.append(item)
    except CloudError as error:
        if error.code != "Forbidden":
            raise
        if denied:  # both denied: nothing was listed, the project fails with the first
            raise denied[0] from None
        assets, skips = [], [Skip(f"{DENIED} (PERMISSION_DENIED)", "Cloud Asset Inventory")]
        listing.unlisted.update(TYPES - {ResourceType.VM})
    for skip in skips:
        listing.add(skip)
    links = Links.build(project, assets, instances)
    for instance in instances:
        listing.add(made("instance", instance, instance_record, project, links))
    for item in assets:
        build = BUILDERS.get(item.asset_type)
        wanted = WANTED.get(item.asset_type)
        if build is not None and (wanted is None or _quietly_true(wanted, item)):
            listing.add(made(item.asset_type.rsplit("/", 1)[-1], item, build, links))
    return listing


def _quietly_true(test: Callable[[AssetItem], bool], item: AssetItem) -> bool:
    try:
        return test(item)
    except Exception:  # noqa: BLE001 - then its builder says what is wrong with it
        return True
