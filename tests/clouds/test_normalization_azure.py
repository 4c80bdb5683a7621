"""The Azure builders against rows generated from Azure's own published models (the
azure-mgmt-* model classes, generated from the REST specifications; tests/clouds/schemas.py),
as Resource Graph returns them: the resource's JSON cut to the columns the query projects.

Properties, for any list of such rows, with network interfaces, public IPs, virtual networks
and clusters of any shape beside them to resolve attachments through:
- building never raises;
- a row with an id becomes a record, one without becomes a skip saying "no id" (or that its
  id is too long to keep);
- every record is valid as it leaves the adapter, attachments included;
- after the boundary check, each id is exactly one record: records + merged = made records.
"""

from __future__ import annotations

import re
import sys
from functools import cache, partial
from typing import Any

import pytest
from azure.mgmt.compute.models import Disk, Snapshot, VirtualMachine, VirtualMachineScaleSet
from azure.mgmt.containerservice.models import ManagedCluster
from azure.mgmt.cosmosdb.models import DatabaseAccountGetResults
from azure.mgmt.dns.models import Zone
from azure.mgmt.mysqlflexibleservers.models import Server as MySqlServer
from azure.mgmt.network.models import (
    ApplicationGateway,
    LoadBalancer,
    NatGateway,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    VirtualNetwork,
)
from azure.mgmt.postgresqlflexibleservers.models import Server as PostgresServer
from azure.mgmt.servicebus.models import SBNamespace
from azure.mgmt.sql.models import Database
from azure.mgmt.storage.models import StorageAccount
from azure.mgmt.web.models import Site
from hypothesis import given
from hypothesis import strategies as st

from mcloud.clouds.azure import made
from mcloud.clouds.azure import records_compute as compute
from mcloud.clouds.azure import records_network as network
from mcloud.clouds.azure import records_services as services
from mcloud.clouds.azure.graph import COLUMNS
from mcloud.clouds.azure.related import Related
from mcloud.clouds.base import MAX_ID, Listing, ResourceRecord, Skip
from mcloud.clouds.records import clean_text, listing_checked, record_problem
from tests.clouds import schemas

ACCEPTED_SKIPS = ("no id", f"id longer than {MAX_ID} characters")


# --- msrest models (the older generator: flattened "properties.x" keys) -----------------
@cache
def from_msrest_model(model: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """The wire JSON of an msrest model: its `_attribute_map` keys, dotted paths unflattened,
    "required" ones always present (every field is read-visible)."""
    models = sys.modules[model.__module__.rsplit(".", 1)[0]]
    required = {k for k, v in getattr(model, "_validation", {}).items() if v.get("required")}
    tree: dict[str, Any] = {}
    for attr, spec in model._attribute_map.items():  # type: ignore[attr-defined]
        if not spec["key"] or (depth >= schemas.MAX_DEPTH and attr not in required):
            continue
        path = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", spec["key"])]
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = (attr in required, _msrest_type(spec["type"], models, depth + 1))
    return _dictionaries(tree)


def _dictionaries(tree: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    required, optional = {}, {}
    for key, node in tree.items():
        if isinstance(node, dict):
            optional[key] = _dictionaries(node)
        else:
            (required if node[0] else optional)[key] = node[1]
    return st.fixed_dictionaries(required, optional=optional)


def _msrest_type(kind: str, models: Any, depth: int) -> st.SearchStrategy[Any]:
    if kind.startswith("["):
        inner = _msrest_type(kind[1:-1], models, depth + 1)
        return st.just([]) if depth >= schemas.MAX_DEPTH else st.lists(inner, max_size=2)
    if kind.startswith("{"):
        return st.dictionaries(
            schemas.text(), _msrest_type(kind[1:-1], models, depth + 1), max_size=3
        )
    simple = {
        "str": schemas.text(),
        "int": st.integers(-(2**63), 2**63 - 1),
        "long": st.integers(),
        "bool": st.booleans(),
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "object": st.one_of(st.none(), schemas.text(), st.integers()),
        "iso-8601": st.one_of(st.datetimes().map(lambda d: d.isoformat()), schemas.text()),
    }
    if kind in simple:
        return simple[kind]
    nested = getattr(models, kind, None)
    if nested is None or depth > schemas.MAX_DEPTH + 2:
        return st.one_of(st.none(), schemas.text())
    return from_msrest_model(nested, depth)


# --- rows as Resource Graph returns them ------------------------------------------------
def model_json(model: type) -> st.SearchStrategy[dict[str, Any]]:
    if hasattr(model, "_attribute_map"):
        return from_msrest_model(model)
    return schemas.from_azure_model(model)


def as_row(wire: dict[str, Any], extended: Any = None) -> dict[str, Any]:
    """The projected columns of one resource (Resource Graph's `type` in lower case)."""
    row = {column: wire.get(column) for column in COLUMNS}
    if isinstance(row["type"], str):
        row["type"] = row["type"].lower()
    if extended is not None and isinstance(row["properties"], dict):
        row["properties"]["extended"] = extended
    return row


POWER = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "instanceView": st.fixed_dictionaries(
                {
                    "powerState": st.dictionaries(
                        st.just("code"),
                        schemas.word(["PowerState/running", "PowerState/deallocated"]),
                    )
                }
            )
        }
    ),
    schemas.text(),
)
NEIGHBOURS = st.lists(
    st.one_of(
        *[
            model_json(m).map(as_row)
            for m in (NetworkInterface, PublicIPAddress, VirtualNetwork, ManagedCluster)
        ]
    ),
    max_size=3,
)

BUILDERS = [
    (VirtualMachine, "virtual machine", compute.vm_record),
    (VirtualMachineScaleSet, "scale set", compute.scale_set_record),
    (Disk, "disk", compute.disk_record),
    (Snapshot, "snapshot", compute.snapshot_record),
    (StorageAccount, "storage account", services.storage_account_record),
    (VirtualNetwork, "virtual network", network.virtual_network_record),
    (NetworkSecurityGroup, "network security group", network.security_group_record),
    (LoadBalancer, "load balancer", network.load_balancer_record),
    (ApplicationGateway, "application gateway", network.application_gateway_record),
    (PublicIPAddress, "public IP address", network.public_ip_record),
    (NatGateway, "NAT gateway", network.nat_gateway_record),
    (Zone, "DNS zone", network.dns_zone_record),
    (Database, "SQL database", services.sql_database_record),
    (PostgresServer, "PostgreSQL flexible server", services.flexible_server_record),
    (MySqlServer, "MySQL flexible server", services.flexible_server_record),
    (DatabaseAccountGetResults, "Cosmos DB account", services.cosmos_account_record),
    (ManagedCluster, "AKS cluster", services.aks_cluster_record),
    (Site, "app", services.site_record),
    (SBNamespace, "Service Bus namespace", services.service_bus_record),
]


def _usable(value: Any) -> bool:
    return isinstance(value, str) and bool(clean_text(value, MAX_ID + 1))


def _check(made_: list[ResourceRecord | Skip], has_id: list[bool]) -> None:
    for result, identified in zip(made_, has_id, strict=True):
        if identified:
            assert isinstance(result, ResourceRecord) or result.reason == ACCEPTED_SKIPS[1], result
        else:
            assert isinstance(result, Skip), result
            assert result.reason == "no id", result
    records = [r for r in made_ if isinstance(r, ResourceRecord)]
    for record in records:
        assert record_problem(record) is None, record
    listing = Listing()
    for result in made_:
        listing.add(result)
    checked = listing_checked(listing)
    assert {s.reason for s in checked.skips} <= set(ACCEPTED_SKIPS)
    assert len(checked.skips) == len(made_) - len(records)
    assert len(checked.records) + len(checked.merged) == len(records)


@pytest.mark.parametrize(
    ("model", "label", "build"),
    BUILDERS,
    ids=[f"{m.__module__.split('.')[2]}-{m.__name__}" for m, *_ in BUILDERS],
)
def test_azure_rows_normalize(model, label, build):
    @given(
        wires=st.lists(model_json(model), max_size=3),
        power=POWER,
        neighbours=NEIGHBOURS,
        duplicate=st.booleans(),
    )
    def check(wires, power, neighbours, duplicate) -> None:
        rows = [as_row(w, power if model is VirtualMachine else None) for w in wires]
        rows = rows + rows[:1] if duplicate else rows
        related = Related.of(rows + neighbours)
        made_ = [made(label, row, partial(build, related=related)) for row in rows]
        _check(made_, [_usable(row.get("id")) for row in rows])

    check()


def test_azure_subnets_normalize():
    @given(vnets=st.lists(model_json(VirtualNetwork), max_size=2), neighbours=NEIGHBOURS)
    def check(vnets, neighbours) -> None:
        rows = [as_row(v) for v in vnets]
        related = Related.of(rows + neighbours)
        subnets = [(s, row) for row in rows for s in network.subnets_of(row)]
        made_ = [
            made("subnet", s, partial(network.subnet_record, network=row, related=related))
            for s, row in subnets
        ]
        _check(made_, [_usable(s.get("id")) if isinstance(s, dict) else False for s, _ in subnets])

    check()
