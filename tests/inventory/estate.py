"""Inventories for page tests, written through the real ingest (as a sync would)."""

from __future__ import annotations

from datetime import UTC, datetime

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
