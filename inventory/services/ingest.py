"""Writing one scope's listing into the inventory, in bulk.

A scope is a region, a subscription or a project: the unit an adapter lists completely or
not at all. For each scope the rows are compared with what is stored (one query), then
written with a handful of bulk statements whatever the number of resources:

- new and changed resources: INSERT ... ON CONFLICT (account, resource_id) DO UPDATE;
- unchanged resources: only `last_seen` moves (one UPDATE for the whole scope);
- resources missing from the listing: `deleted_at` is set (they stay, with their history);
- each creation, status change, deletion and return is recorded as an event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import CloudAccount, Resource, ResourceEvent, SyncRun
from mcloud.clouds.base import ResourceRecord

BATCH_SIZE = 1000
# Every column but first_seen, which keeps the day the resource was first seen.
UPSERT_FIELDS = [
    "name",
    "type",
    "region",
    "scope",
    "status",
    "tags",
    "metadata",
    "fingerprint",
    "created_at",
    "last_seen",
    "updated_at",
    "deleted_at",
]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed


def fingerprint(record: ResourceRecord) -> str:
    """A hash of everything a sync writes, to tell a changed resource from an unchanged one."""
    fields = [record.name, record.type, record.region, record.status, record.tags]
    payload = json.dumps(
        [*fields, record.metadata, record.created_at],
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.md5(payload.encode(), usedforsecurity=False).hexdigest()


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """Metadata as JSON stores it (datetimes as ISO strings)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def ingest_scope(
    *,
    account: CloudAccount,
    scope: str,
    records: list[ResourceRecord],
    run: SyncRun | None = None,
    now: datetime | None = None,
) -> Counts:
    """Make the stored inventory of one scope match a complete, successful listing of it."""
    now = now or timezone.now()
    listed = {record.resource_id: record for record in records}
    counts = Counts()
    with transaction.atomic():
        stored = {
            rid: (pk, fp, status, deleted_at)
            for pk, rid, fp, status, deleted_at in Resource.objects.filter(
                account=account, scope=scope
            ).values_list("pk", "resource_id", "fingerprint", "status", "deleted_at")
        }
        # The first listing of a scope creates rows without an event each: the run's
        # summary ("+N new") says it, and the feed is not flooded.
        first_listing = not stored
        writes: list[Resource] = []
        events: list[tuple[Resource, str, str, str]] = []  # (row, kind, old, new status)
        for rid, record in listed.items():
            fp = fingerprint(record)
            known = stored.get(rid)
            if known is not None and known[3] is None and known[1] == fp:
                counts.unchanged += 1
                continue
            row = _row(account, scope, record, fp, now)
            writes.append(row)
            if known is None:
                counts.created += 1
                if not first_listing:
                    events.append((row, ResourceEvent.Kind.CREATED, "", record.status))
            elif known[3] is not None:
                counts.created += 1
                events.append((row, ResourceEvent.Kind.RESTORED, known[2], record.status))
            else:
                counts.updated += 1
                if known[2] != record.status:
                    events.append((row, ResourceEvent.Kind.STATUS, known[2], record.status))
        # The upsert sets each row's primary key (RETURNING), which the events need.
        Resource.objects.bulk_create(
            writes,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["account", "resource_id"],
            update_fields=UPSERT_FIELDS,
        )

        missing = [
            (pk, status)
            for rid, (pk, _, status, deleted) in stored.items()
            if deleted is None and rid not in listed
        ]
        for start in range(0, len(missing), BATCH_SIZE):
            chunk = [pk for pk, _ in missing[start : start + BATCH_SIZE]]
            Resource.objects.filter(pk__in=chunk).update(deleted_at=now, updated_at=now)
        counts.removed = len(missing)

        # Everything still here was seen now; written rows got it from the upsert already.
        Resource.objects.filter(account=account, scope=scope, deleted_at__isnull=True).exclude(
            last_seen=now
        ).update(last_seen=now)

        ResourceEvent.objects.bulk_create(
            [_event(account, run, row.pk, kind, old, new, now) for row, kind, old, new in events]
            + [
                _event(account, run, pk, ResourceEvent.Kind.DELETED, status, "", now)
                for pk, status in missing
            ],
            batch_size=BATCH_SIZE,
        )
    return counts


def _row(
    account: CloudAccount, scope: str, record: ResourceRecord, fp: str, now: datetime
) -> Resource:
    return Resource(
        organization_id=account.organization_id,
        account_id=account.pk,
        provider=account.provider,
        resource_id=record.resource_id,
        name=record.name[:255],
        type=record.type,
        region=record.region,
        scope=scope,
        status=record.status,
        tags=_jsonable(record.tags),
        metadata=_jsonable(record.metadata),
        fingerprint=fp,
        created_at=record.created_at,
        first_seen=now,
        last_seen=now,
        updated_at=now,
        deleted_at=None,
    )


def _event(
    account: CloudAccount,
    run: SyncRun | None,
    resource_pk: int,
    kind: str,
    old: str,
    new: str,
    now: datetime,
) -> ResourceEvent:
    return ResourceEvent(
        organization_id=account.organization_id,
        account_id=account.pk,
        resource_id=resource_pk,
        sync_run=run,
        kind=kind,
        old_status=old,
        new_status=new,
        occurred_at=now,
    )
