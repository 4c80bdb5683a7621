"""The GCP adapter's asset builders against items generated from Google's own published API
descriptions (tests/clouds/schemas.py: the discovery documents of each service, in the API
version its Cloud Asset Inventory asset carries), not from our fake.

Each generated resource goes into an asset as cloudasset.v1 describes one, through the SDK's
JSON parsing (the REST transport's own step: the resource becomes a protobuf Struct) and
`asset_item`, then through the project's link index and the type's builder, exactly as a
listing does. Properties, for any list of such items:
- neither indexing nor building raises;
- an asset with a usable name becomes a record (a router only when it runs Cloud NAT), one
  without becomes a skip saying "no id";
- every record is valid as it leaves the adapter (the boundary check finds nothing to skip);
- after the boundary check, each id is exactly one record: records + merged = made records.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.cloud import asset_v1
from hypothesis import given
from hypothesis import strategies as st

from mcloud.clouds.base import MAX_ID, Listing, ResourceRecord, Skip
from mcloud.clouds.gcp import BUILDERS, Links, asset_item, made
from mcloud.clouds.gcp.fields import asset_path
from mcloud.clouds.records import clean_text, listing_checked, record_problem
from tests.clouds import schemas

PROJECT = "acme-prod"
NO_NAT = "a router without Cloud NAT"
# asset type -> (discovery document, schema, the asset name's service and path prefix)
ASSETS: dict[str, tuple[str, str, str]] = {
    "compute.googleapis.com/Disk": ("compute.v1", "Disk", "zones/us-central1-a/disks"),
    "compute.googleapis.com/RegionDisk": ("compute.v1", "Disk", "regions/us-central1/disks"),
    "compute.googleapis.com/Snapshot": ("compute.v1", "Snapshot", "global/snapshots"),
    "compute.googleapis.com/InstanceGroupManager": (
        "compute.v1", "InstanceGroupManager", "zones/us-central1-a/instanceGroupManagers"),
    "compute.googleapis.com/Network": ("compute.v1", "Network", "global/networks"),
    "compute.googleapis.com/Subnetwork": (
        "compute.v1", "Subnetwork", "regions/us-central1/subnetworks"),
    "compute.googleapis.com/Firewall": ("compute.v1", "Firewall", "global/firewalls"),
    "compute.googleapis.com/Address": ("compute.v1", "Address", "regions/us-central1/addresses"),
    "compute.googleapis.com/GlobalAddress": ("compute.v1", "Address", "global/addresses"),
    "compute.googleapis.com/Router": ("compute.v1", "Router", "regions/us-central1/routers"),
    "compute.googleapis.com/ForwardingRule": (
        "compute.v1", "ForwardingRule", "regions/us-central1/forwardingRules"),
    "compute.googleapis.com/GlobalForwardingRule": (
        "compute.v1", "ForwardingRule", "global/forwardingRules"),
    "compute.googleapis.com/BackendService": (
        "compute.v1", "BackendService", "global/backendServices"),
    "compute.googleapis.com/RegionBackendService": (
        "compute.v1", "BackendService", "regions/us-central1/backendServices"),
    "storage.googleapis.com/Bucket": ("storage.v1", "Bucket", ""),
    "sqladmin.googleapis.com/Instance": ("sqladmin.v1beta4", "DatabaseInstance", "instances"),
    "firestore.googleapis.com/Database": (
        "firestore.v1", "GoogleFirestoreAdminV1Database", "databases"),
    "container.googleapis.com/Cluster": ("container.v1", "Cluster", "zones/us-east1-b/clusters"),
    "container.googleapis.com/NodePool": (
        "container.v1", "NodePool", "locations/us-east1/clusters/c1/nodePools"),
    "cloudfunctions.googleapis.com/Function": (
        "cloudfunctions.v2", "Function", "locations/us-central1/functions"),
    "run.googleapis.com/Service": ("run.v1", "Service", "locations/us-central1/services"),
    "pubsub.googleapis.com/Topic": ("pubsub.v1", "Topic", "topics"),
    "dns.googleapis.com/ManagedZone": ("dns.v1", "ManagedZone", "managedZones"),
}  # fmt: skip
_SERVICES = {"sqladmin.googleapis.com": "cloudsql.googleapis.com"}


def test_every_builder_is_tested():
    assert set(ASSETS) == set(BUILDERS)


def _asset_name(asset_type: str, prefix: str, data: Any) -> st.SearchStrategy[str]:
    """The name GCP would give the generated resource (from its own name), or any text."""
    service = asset_type.split("/", 1)[0]
    service = _SERVICES.get(service, service)
    own = data.get("name") if isinstance(data, dict) else None
    own = (own if isinstance(own, str) else "").rsplit("/", 1)[-1]
    if asset_type == "storage.googleapis.com/Bucket":
        real = f"//{service}/{own}"
    else:
        real = f"//{service}/projects/{PROJECT}/{prefix}/{own}"
    return st.one_of(st.just(real), schemas.text(surrogates=False))


def _asset(asset_type: str) -> st.SearchStrategy[dict[str, Any]]:
    document, schema, prefix = ASSETS[asset_type]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = draw(schemas.from_discovery(document, schema))
        return {
            "name": draw(_asset_name(asset_type, prefix, data)),
            "assetType": asset_type,
            "resource": {
                "version": "v1",
                "data": data,
                "location": draw(st.sampled_from(["us-central1", "us-central1-a", "global", ""])),
                "parent": "//cloudresourcemanager.googleapis.com/projects/123456789012",
            },
        }

    return build()


def _expected_id(asset: dict[str, Any]) -> bool:
    if asset["assetType"] == "storage.googleapis.com/Bucket":
        name = asset["resource"]["data"].get("name")
        name = name if isinstance(name, str) and name else asset_path(asset["name"])
        rid = f"projects/_/buckets/{name}" if name.strip() else ""
    else:
        rid = asset_path(asset["name"])
    return bool(clean_text(rid, MAX_ID + 1))


@pytest.mark.parametrize("asset_type", sorted(ASSETS))
def test_gcp_assets_normalize(asset_type: str) -> None:
    @given(assets=st.lists(_asset(asset_type), max_size=2), duplicate=st.booleans())
    def check(assets: list[dict[str, Any]], duplicate: bool) -> None:
        assets = assets + assets[:1] if duplicate else assets
        # As the REST transport reads a page: JSON into the message, unknown fields ignored.
        parsed = [asset_v1.Asset.from_json(json.dumps(a), ignore_unknown_fields=True)
                  for a in assets]  # fmt: skip
        items = [asset_item(a) for a in parsed]
        assert not any(isinstance(i, Skip) for i in items)  # generated numbers are finite
        links = Links.build(PROJECT, [i for i in items if not isinstance(i, Skip)], [])
        build = BUILDERS[asset_type]
        made_ = [made(asset_type, i, build, links) for i in items]
        for result, asset in zip(made_, assets, strict=True):
            data = asset["resource"]["data"]
            if asset_type.endswith("/Router") and not data.get("nats"):
                assert getattr(result, "reason", None) == NO_NAT, result
            elif _expected_id(asset):
                assert isinstance(result, ResourceRecord) or result.reason.startswith("id longer")
            else:
                assert getattr(result, "reason", None) == "no id", result
        _check_boundary(made_)

    check()


def _check_boundary(made_: list[ResourceRecord | Skip]) -> None:
    records = [r for r in made_ if isinstance(r, ResourceRecord)]
    for record in records:
        assert record_problem(record) is None, record
        assert record.metadata.get("provider_type"), record
    listing = Listing()
    for result in made_:
        listing.add(result)
    checked = listing_checked(listing)
    assert len(checked.skips) == len(made_) - len(records)
    assert len(checked.records) == len({r.resource_id for r in records})
    assert len(checked.records) + len(checked.merged) == len(records)
