"""One subscription's resources: the Resource Graph rows of every listed type, each made a
record by the builder of its type, with the rest of the rows to resolve what it is attached
to (mcloud.clouds.azure.related).

- Every row becomes a record or a Skip, never an error: a row that is not an object, or whose
  builder fails on something unforeseen, is a Skip naming it.
- Network interfaces are read, not listed (they lead VMs to their networks); an SQL server's
  master database is not listed (Azure keeps it, nobody manages it).
- A virtual network's row also gives its subnets, one record each.
- Nothing is `unlisted` (Listing.unlisted): Resource Graph answers one query with the rows the
  principal may read and denies no type on its own; a refused query fails the subscription,
  which keeps its stored inventory as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import mcloud.clouds.azure.records_compute as compute
import mcloud.clouds.azure.records_network as network
import mcloud.clouds.azure.records_services as services
from mcloud.clouds.azure.fields import get, made, text
from mcloud.clouds.azure.related import NIC_TYPE, VNET_TYPE, Related
from mcloud.clouds.base import Listing, ResourceRecord, Skip
from mcloud.clouds.records import clean_text

Builder = Callable[[Any, Related], ResourceRecord | Skip]
# Resource Graph's type (lower case) -> what the row is called in a skip, and its builder.
BUILDERS: dict[str, tuple[str, Builder]] = {
    "microsoft.compute/virtualmachines": ("virtual machine", compute.vm_record),
    "microsoft.compute/virtualmachinescalesets": ("scale set", compute.scale_set_record),
    "microsoft.compute/disks": ("disk", compute.disk_record),
    "microsoft.compute/snapshots": ("snapshot", compute.snapshot_record),
    "microsoft.storage/storageaccounts": ("storage account", services.storage_account_record),
    VNET_TYPE: ("virtual network", network.virtual_network_record),
    "microsoft.network/networksecuritygroups": (
        "network security group", network.security_group_record),
    "microsoft.network/loadbalancers": ("load balancer", network.load_balancer_record),
    "microsoft.network/applicationgateways": (
        "application gateway", network.application_gateway_record),
    "microsoft.network/publicipaddresses": ("public IP address", network.public_ip_record),
    "microsoft.network/natgateways": ("NAT gateway", network.nat_gateway_record),
    "microsoft.network/dnszones": ("DNS zone", network.dns_zone_record),
    "microsoft.sql/servers/databases": ("SQL database", services.sql_database_record),
    "microsoft.dbforpostgresql/flexibleservers": (
        "PostgreSQL flexible server", services.flexible_server_record),
    "microsoft.dbformysql/flexibleservers": (
        "MySQL flexible server", services.flexible_server_record),
    "microsoft.documentdb/databaseaccounts": ("Cosmos DB account", services.cosmos_account_record),
    "microsoft.containerservice/managedclusters": ("AKS cluster", services.aks_cluster_record),
    "microsoft.web/sites": ("app", services.site_record),
    "microsoft.servicebus/namespaces": ("Service Bus namespace", services.service_bus_record),
}  # fmt: skip
QUERIED_TYPES = (*BUILDERS, NIC_TYPE)


def listing_of(rows: list[Any]) -> Listing:
    """The records (and skips) of one subscription's rows."""
    related = Related.of(rows)
    listing = Listing()
    for row in rows:
        kind = (text(get(row, "type")) or "").lower()
        if not isinstance(row, dict):
            listing.add(Skip("not an object", "a resource"))
            continue
        if kind == NIC_TYPE or (kind == "microsoft.sql/servers/databases"
                                and services.is_system_database(row)):  # fmt: skip
            continue
        if kind not in BUILDERS:
            ref = clean_text(get(row, "id") or get(row, "name") or kind, 200)
            listing.add(Skip("not a type the inventory lists", f"resource {ref}"))
            continue
        label, build = BUILDERS[kind]
        listing.add(made(label, row, partial(_built, build, related=related)))
        if kind == VNET_TYPE:
            for subnet in network.subnets_of(row):
                of_network = partial(network.subnet_record, network=row, related=related)
                listing.add(made("subnet", subnet, of_network))
    return listing


def _built(build: Builder, row: Any, *, related: Related) -> ResourceRecord | Skip:
    return build(row, related)
