"""Inventories for page tests, written through the real ingest (as a sync would)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from accounts.models import Organization
from inventory.models import CloudAccount
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord

TYPES = ("vm", "vm", "disk", "storage", "network", "database")


def account(org: Organization, name: str, provider: str = "aws") -> CloudAccount:
    return CloudAccount.objects.create(organization=org, name=name, provider=provider,
                                       config={"regions": []})  # fmt: skip


def fill(acct: CloudAccount, count: int, *, region: str = "eu-west-1", prefix: str = "res",
         **tags: str) -> list[ResourceRecord]:  # fmt: skip
    """`count` resources of every type in one region; half of the VMs are stopped."""
    records = [
        ResourceRecord(
            resource_id=f"{acct.provider}-{prefix}-{n}",
            name=f"{prefix}-{n:04d}",
            type=TYPES[n % len(TYPES)],
            region=region,
            status=("stopped" if n % 3 == 0 else "running") if TYPES[n % len(TYPES)] == "vm"
            else "available",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            tags={"env": ("prod", "dev")[n % 2], **tags},
            metadata={"instance_type": "t3.micro", "n": n},
        )
        for n in range(count)
    ]  # fmt: skip
    ingest_scope(account=acct, scope=region, records=records)
    return records


def deploy(org: Organization, user: Any, version: Any, name: str, *provider_ids: str) -> Any:
    """A deployment of `version` whose current Terraform state holds `provider_ids` (saved as
    an apply would save it): what makes them managed."""
    from provisioning.services.deployments import deployment_create, values_validate
    from provisioning.services.state import DatabaseStateStore

    deployment = deployment_create(organization=org, name=name, version=version, account=None,
                                   values=values_validate(version, {"secret_token": "x"}),
                                   user=user)  # fmt: skip
    DatabaseStateStore(deployment).save(terraform_state(*provider_ids))
    return deployment


def terraform_state(*provider_ids: str) -> bytes:
    """A Terraform state (format 4) with one managed resource per id, and a data source that
    reads one more id (`data-...`): reading is not managing."""
    resources: list[dict[str, Any]] = [
        {"mode": "managed", "type": "aws_instance", "name": f"r{n}", "provider": "p",
         "instances": [{"attributes": {"id": rid, "tags": {}}}]}
        for n, rid in enumerate(provider_ids)
    ]  # fmt: skip
    resources.append({"mode": "data", "type": "aws_vpc", "name": "main", "provider": "p",
                      "instances": [{"attributes": {"id": "data-vpc"}}]})  # fmt: skip
    return json.dumps({"version": 4, "serial": 1, "lineage": "l", "resources": resources}).encode()
