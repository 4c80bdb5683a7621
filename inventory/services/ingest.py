"""Writing one scope's listing into the inventory, in bulk.

A scope is a region, a subscription or a project: the unit an adapter lists completely or
not at all. For each scope the rows are compared with what is stored (one query), then
written with a handful of bulk statements whatever the number of resources:

- new and changed resources: INSERT ... ON CONFLICT (account, resource_id) DO UPDATE;
- unchanged resources: only `last_seen` moves (one UPDATE for the whole scope);
- resources missing from the listing: `deleted_at` is set (they stay, with their history),
  except those of a type the provider denied listing (`unlisted`): a permission taken away
  is not a resource deleted, so they are kept as they were (counted as `kept`);
- resources the provider lists as gone (terminated, deleting) are written with `deleted_at`
  set, like those that vanished: out of live totals, with their history and costs;
- each creation, status change, deletion and return is recorded as an event;
- the attachments (`attached_to`) of every written row replace its `ResourceLink`s: one
  DELETE for the scope and multi-row INSERTs (a COPY on PostgreSQL), with the rows' keys from
  the upsert's RETURNING. Attachments are part of the fingerprint, so a resource whose
  attachments change is written; a tombstone keeps the links it was last seen with.

The records come through `listing_checked` (mcloud.clouds.base), the one validation step:
the ingest never sees a record that does not fit its columns, nor an id twice. A scope is
written in one transaction (a savepoint inside a caller's): when anything fails while it is
written, nothing of it is, and its previous inventory stays as it was.

`scopes_retire` tombstones whole scopes that a successful listing of the account's scopes no
longer names (a disabled region, a subscription or project gone or taken out of the settings).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from inventory.estimates import monthly_estimates, price_query
from inventory.models import (
    MANAGED_TAG,
    CloudAccount,
    Resource,
    ResourceEvent,
    ResourceLink,
    ResourceTally,
    SyncRun,
)
from mcloud.bulk_insert import rows_insert
from mcloud.clouds.base import GONE_STATUSES, ResourceRecord
from mcloud.clouds.records import CheckedListing, listing_checked

BATCH_SIZE = 1000
# Written on insert only: who owns the row, and the day it was first seen.
INSERT_ONLY = ["organization_id", "account_id", "provider", "resource_id", "first_seen"]
# Written on insert and on every change.
UPSERT_FIELDS = [
    "name",
    "type",
    "region",
    "scope",
    "status",
    "tags",
    "metadata",
    "fingerprint",
    "monthly_estimate",
    "created_at",
    "last_seen",
    "updated_at",
    "deleted_at",
    "deployment_ref",
]
UPSERT_COLUMNS = [*INSERT_ONLY, *UPSERT_FIELDS]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    kept: int = 0  # live rows of types the provider denied listing, kept as they were

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.kept += other.kept


_JSON = DjangoJSONEncoder(sort_keys=True)  # one encoder: json.dumps(cls=...) makes one a call


def serialize(record: ResourceRecord, estimate: Decimal | None = None) -> tuple[str, str, str]:
    """(tags JSON, metadata JSON, fingerprint): the JSON as stored, and a hash of everything
    a sync writes, to tell a changed resource from an unchanged one with no second encoding.
    The list-price `estimate` is part of it, so a price the catalog changed is written."""
    tags, metadata = _JSON.encode(record.tags), _JSON.encode(record.metadata)
    created = record.created_at.isoformat() if record.created_at else ""
    parts = [record.name, record.type, record.region, record.status, created, tags, metadata]
    if record.attached_to:  # without any, the fingerprints of before attachments still hold
        parts.append("\x1e".join(sorted(record.attached_to)))
    if estimate is not None:  # without one, the fingerprints of before estimates still hold
        parts.append(f"\x1d{estimate}")
    key = "\x1f".join(parts)
    return tags, metadata, hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()


def ingest_scope(
    *,
    account: CloudAccount,
    scope: str,
    records: CheckedListing | Iterable[ResourceRecord],
    run: SyncRun | None = None,
    now: datetime | None = None,
) -> Counts:
    """Make the stored inventory of one scope match a complete, successful listing of it.

    `records` that did not come through `listing_checked` go through it here."""
    now = now or timezone.now()
    if not isinstance(records, CheckedListing):
        records = listing_checked(records)
    listed = {record.resource_id: record for record in records.records}
    # One read of the price catalog for the whole scope.
    estimates = monthly_estimates(
        (
            rid,
            price_query(
                provider=account.provider,
                type=record.type,
                region=record.region,
                metadata=record.metadata,
            ),
        )
        for rid, record in listed.items()
    )
    counts = Counts()
    with transaction.atomic():
        stored = {
            rid: (pk, fp, status, deleted_at, kind)
            for pk, rid, fp, status, deleted_at, kind in Resource.objects.filter(
                account=account, scope=scope
            ).values_list("pk", "resource_id", "fingerprint", "status", "deleted_at", "type")
        }
        # The first listing of a scope creates rows without an event each: the run's
        # summary ("+N new") says it, and the feed is not flooded.
        first_listing = not stored
        writes: list[Write] = []
        events: list[tuple[str, str, str, str]] = []  # (resource id, kind, old, new status)
        for rid, record in listed.items():
            estimate = estimates[rid]
            tags, metadata, fp = serialize(record, estimate)
            known = stored.get(rid)
            gone = record.status in GONE_STATUSES
            if known is not None and known[1] == fp and (known[3] is not None) == gone:
                counts.unchanged += 1
                continue
            # A tombstone keeps the time it became one.
            deleted_at = ((known[3] if known else None) or now) if gone else None
            writes.append((record, tags, metadata, fp, estimate, deleted_at))
            if known is None:
                counts.created += 1
                if not first_listing and not gone:
                    events.append((rid, ResourceEvent.Kind.CREATED, "", record.status))
            elif known[3] is not None:
                if gone:  # still gone, details changed: nothing live moved
                    counts.unchanged += 1
                else:
                    counts.created += 1
                    events.append((rid, ResourceEvent.Kind.RESTORED, known[2], record.status))
            elif gone:
                counts.removed += 1
                events.append((rid, ResourceEvent.Kind.DELETED, known[2], record.status))
            else:
                counts.updated += 1
                if known[2] != record.status:
                    events.append((rid, ResourceEvent.Kind.STATUS, known[2], record.status))
        written = _upsert(account, scope, writes, now)
        _relink(account, scope, writes, written, now)

        unlisted = records.unlisted
        missing = [
            (pk, status)
            for rid, (pk, _, status, deleted, kind) in stored.items()
            if deleted is None and rid not in listed and kind not in unlisted
        ]
        counts.kept = sum(
            1
            for rid, (*_, deleted, kind) in stored.items()
            if deleted is None and rid not in listed and kind in unlisted
        )
        for start in range(0, len(missing), BATCH_SIZE):
            chunk = [pk for pk, _ in missing[start : start + BATCH_SIZE]]
            Resource.objects.filter(pk__in=chunk).update(deleted_at=now, updated_at=now)
        counts.removed += len(missing)

        # Everything still here was seen now; written rows got it from the upsert already.
        # Rows of unlisted types were not seen, unless listed anyway (by another listing).
        live = Resource.objects.filter(account=account, scope=scope, deleted_at__isnull=True)
        live.exclude(last_seen=now).exclude(type__in=unlisted).update(last_seen=now)
        seen_anyway = [rid for rid, record in listed.items() if record.type in unlisted]
        for start in range(0, len(seen_anyway), BATCH_SIZE):
            live.filter(resource_id__in=seen_anyway[start : start + BATCH_SIZE]).exclude(
                last_seen=now
            ).update(last_seen=now)

        _retally(account, scope)
        ids = _primary_keys(account, [rid for rid, *_ in events])
        ResourceEvent.objects.bulk_create(
            [_event(account, run, ids[rid], kind, old, new, now) for rid, kind, old, new in events]
            + [
                _event(account, run, pk, ResourceEvent.Kind.DELETED, status, "", now)
                for pk, status in missing
            ],
            batch_size=BATCH_SIZE,
        )
    return counts


def scopes_retire(
    *,
    account: CloudAccount,
    scopes: Iterable[str],
    run: SyncRun | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Tombstone every live resource of `scopes` (one UPDATE for them all), with a `deleted`
    event each: {scope: resources retired}. For scopes a successful listing of the account's
    scopes no longer names; their rows stay, with their history."""
    scopes = sorted(set(scopes))
    if not scopes:
        return {}
    now = now or timezone.now()
    with transaction.atomic():
        rows = Resource.objects.filter(account=account, scope__in=scopes, deleted_at__isnull=True)
        live = list(rows.values_list("pk", "scope", "status"))
        rows.update(deleted_at=now, updated_at=now)
        for scope in scopes:
            _retally(account, scope)
        ResourceEvent.objects.bulk_create(
            [
                _event(account, run, pk, ResourceEvent.Kind.DELETED, status, "", now)
                for pk, _, status in live
            ],
            batch_size=BATCH_SIZE,
        )
    per_scope = Counter(scope for _, scope, _ in live)
    return {scope: per_scope[scope] for scope in scopes}


def live_scopes(*, account: CloudAccount) -> set[str]:
    """The scopes that hold live resources of the account (from its tallies: no row scan)."""
    return set(
        ResourceTally.objects.filter(account=account, live=True, count__gt=0)
        .values_list("scope", flat=True)
        .distinct()
    )


# (record, tags JSON, metadata JSON, fingerprint, monthly estimate, deleted_at)
Write = tuple[ResourceRecord, str, str, str, Decimal | None, datetime | None]


def _upsert(
    account: CloudAccount,
    scope: str,
    writes: list[Write],
    now: datetime,
) -> dict[str, int]:
    """INSERT ... ON CONFLICT (account, resource_id) DO UPDATE for every written row; their
    primary keys by provider id (RETURNING, so no second query).

    Written in SQL because the ORM's bulk_create spends most of its time compiling the
    statement in Python: SQLite gets multi-row INSERTs, PostgreSQL a COPY into a temporary
    table and one INSERT ... SELECT (see bench/ingest.py for the figures).
    """
    if not writes:
        return {}
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    rows = [
        (
            account.organization_id, account.pk, account.provider, record.resource_id, stamp,
            record.name[:255], record.type, record.region, scope, record.status,
            tags, metadata, fp, ops.adapt_decimalfield_value(estimate, 14, 4),
            ops.adapt_datetimefield_value(record.created_at), stamp, stamp,
            ops.adapt_datetimefield_value(deleted_at), str(record.tags.get(MANAGED_TAG, ""))[:64],
        )
        for record, tags, metadata, fp, estimate, deleted_at in writes
    ]  # fmt: skip
    q = ops.quote_name
    table = q(Resource._meta.db_table)
    names = ", ".join(q(c) for c in UPSERT_COLUMNS)
    conflict = f"ON CONFLICT ({q('account_id')}, {q('resource_id')}) DO UPDATE SET " + ", ".join(
        f"{q(c)} = EXCLUDED.{q(c)}" for c in UPSERT_FIELDS
    )
    conflict += f" RETURNING {q('resource_id')}, {q('id')}"
    keys: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy_and_merge(cursor.cursor, table, names, conflict, rows)
            return dict(cursor.cursor.fetchall())
        # Many rows per statement, not executemany: the search index (FTS5, filled by a
        # trigger) flushes at the end of each statement, which made one row cost three.
        row_marks = "(" + ", ".join(["%s"] * len(UPSERT_COLUMNS)) + ")"
        limit = connection.features.max_query_params  # SQLite's; None: no limit
        size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit // len(UPSERT_COLUMNS))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values = ", ".join([row_marks] * len(chunk))
            # The driver's cursor, as for PostgreSQL's COPY: Django's debug wrapper would
            # format every parameter of these long statements into its query log.
            cursor.cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {values} {conflict}",  # noqa: S608 - names only
                [value for row in chunk for value in row],
            )
            keys.update(cursor.cursor.fetchall())
    return keys


def _relink(
    account: CloudAccount, scope: str, writes: list[Write], keys: dict[str, int], now: datetime
) -> None:
    """Replace the links of the rows just written (those of the scope stamped `now`) with
    their records' attachments: one DELETE, then many rows per INSERT."""
    if not writes:
        return
    ResourceLink.objects.filter(
        resource__in=Resource.objects.filter(account=account, scope=scope, updated_at=now)
    ).delete()  # a fast delete: nothing refers to links
    rows_insert(
        ResourceLink,
        ("organization", "resource", "target_id", "target_key"),
        (
            (account.organization_id, keys[record.resource_id], target, target.lower())
            for record, *_ in writes
            for target in record.attached_to
        ),
    )


def _copy_and_merge(raw: Any, table: str, names: str, conflict: str, rows: list[tuple]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then merge them in one statement."""
    raw.execute("DROP TABLE IF EXISTS pg_temp.mcloud_resource_stage")
    raw.execute(
        f"CREATE TEMP TABLE mcloud_resource_stage ON COMMIT DROP AS "  # noqa: S608 - names only
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    with raw.copy(f"COPY mcloud_resource_stage ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    raw.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608 - names only
        f"FROM mcloud_resource_stage {conflict}"
    )


def _retally(account: CloudAccount, scope: str) -> None:
    """Rewrite the scope's tallies (counts and cost / month per region, type, status, cost
    basis and currency) from its rows."""
    ResourceTally.objects.filter(account=account, scope=scope).delete()
    live, gone = Q(deleted_at__isnull=True), Q(deleted_at__isnull=False)
    groups = (
        Resource.objects.filter(account=account, scope=scope)
        .values("region", "type", "status", "cost_basis", "cost_currency")
        .annotate(live=Count("id", filter=live), gone=Count("id", filter=gone),
                  live_cost=Sum("monthly_cost", filter=live),
                  gone_cost=Sum("monthly_cost", filter=gone))
        .order_by()
    )  # fmt: skip
    common = {"organization_id": account.organization_id, "account_id": account.pk,
              "scope": scope, "provider": account.provider}  # fmt: skip
    ResourceTally.objects.bulk_create(
        ResourceTally(
            **common, region=g["region"], type=g["type"], status=g["status"], live=live, count=n,
            cost_basis=g["cost_basis"], cost_currency=g["cost_currency"], monthly_cost=cost or 0,
        )
        for g in groups
        for live, n, cost in ((True, g["live"], g["live_cost"]), (False, g["gone"], g["gone_cost"]))
        if n
    )  # fmt: skip


def tallies_rewrite(*, account: CloudAccount, scopes: Iterable[str]) -> None:
    """Rewrite the tallies of some of the account's scopes from their rows: for an app that
    changed what they sum (billing, the resources' cost / month). Call it in a transaction."""
    for scope in sorted(set(scopes)):
        _retally(account, scope)


def _primary_keys(account: CloudAccount, resource_ids: list[str]) -> dict[str, int]:
    """The primary keys of a few rows that just got events."""
    ids: dict[str, int] = {}
    for start in range(0, len(resource_ids), BATCH_SIZE):
        chunk = resource_ids[start : start + BATCH_SIZE]
        ids.update(
            Resource.objects.filter(account=account, resource_id__in=chunk).values_list(
                "resource_id", "pk"
            )
        )
    return ids


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
