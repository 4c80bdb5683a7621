"""The sandbox's GCP estate (emulators.estate.build_gcp and emulators.estate_gcp), listed by
the adapter: every GCP type of the inventory, nothing skipped, and every attachment naming a
resource the listing holds."""

from __future__ import annotations

import random
from collections import Counter

from emulators import estate
from mcloud.clouds.base import Endpoints, GcpCredentials
from mcloud.clouds.gcp import GcpAdapter

GCP_TYPES = {
    "vm", "vm_group", "disk", "snapshot", "storage", "network", "subnet", "firewall",
    "load_balancer", "ip_address", "nat_gateway", "database", "nosql", "kubernetes",
    "function", "topic", "dns_zone",
}  # fmt: skip


def test_the_sandbox_estate_holds_every_type_with_attachments(gcp):
    described = estate.build_gcp(gcp, random.Random(2026))
    adapter = GcpAdapter(
        GcpCredentials(key_info=described["key"], project_ids=tuple(described["project_ids"])),
        Endpoints(gcp_compute_endpoint=gcp.url, gcp_asset_endpoint=gcp.url,
                  gcp_token_uri=f"{gcp.url}/token"),
    )  # fmt: skip

    for project in described["project_ids"]:
        listing = adapter.list_scope(project)
        assert listing.skips == []
        ids = {r.resource_id for r in listing}
        assert len(ids) == len(listing.records)
        per_type = Counter(r.type for r in listing)
        assert set(per_type) == GCP_TYPES, project
        # A handful of each new type: the big estate is the benchmark's.
        assert all(per_type[t] <= 12 for t in GCP_TYPES - {"vm", "disk", "subnet"}), per_type
        dangling = [(r.name, a) for r in listing for a in r.attached_to if a not in ids]
        # But for the old snapshot whose disk is gone (estate_gcp.orphan_snapshot, in one
        # project): it names the disk it was taken of.
        gone = [("prod-reports-data-final",
                 f"projects/{project}/zones/us-central1-a/disks/prod-reports-data")]  # fmt: skip
        assert dangling == (gone if project == estate.GCP_PROJECTS[0] else [])
        unattached = {r.type for r in listing if not r.attached_to}
        assert {"vm", "subnet", "firewall", "snapshot", "nat_gateway", "kubernetes"}.isdisjoint(
            unattached
        )
        vms = [r for r in listing if r.type == "vm"]
        assert all(any("/disks/" in a for a in vm.attached_to) for vm in vms)
        behind = [vm for vm in vms if any("/forwardingRules/" in a for a in vm.attached_to)]
        assert len(behind) == 2  # the web group's two servers
