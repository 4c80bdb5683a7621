"""Ingest speed: normalize and upsert 100,000 resource records (adapter output, no network),
with their 300,000 attachments.

    python bench/ingest.py

For SQLite and (when one answers on 127.0.0.1:5432) PostgreSQL, each in a fresh database:
1. our ingest into an empty inventory, then into the full one with every row changed;
2. the floor: a raw `executemany` INSERT of the same rows on the same connection;
3. the seed's per-row select-then-save upsert, each row's links replaced with it, on 5,000 rows.
Targets: each ingest within 2x the floor; at least 20x faster per row than the per-row upsert.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import database_url, postgres_available, run_child, setup_django, table

ROWS = 100_000
SCOPES = 10
PER_ROW_ROWS = 5_000


def records(count: int, generation: int) -> list:
    """Adapter output for `count` VMs; `generation` changes every row's metadata."""
    from mcloud.clouds.base import ResourceRecord

    launched = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        ResourceRecord(
            resource_id=f"i-{n:017x}", name=f"web-{n}", type="vm",
            region=f"region-{n % SCOPES}", status="running" if n % 5 else "stopped",
            created_at=launched + timedelta(minutes=n),
            tags={"env": ("prod", "staging", "dev")[n % 3], "team": f"team-{n % 17}",
                  "Name": f"web-{n}"},
            metadata={"instance_type": "t3.micro",
                      "private_ip": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                      "vpc_id": f"vpc-{n % 40:08x}", "subnet_id": f"subnet-{n % 160:08x}",
                      "security_groups": [f"sg-{n % 30:08x}"], "generation": generation,
                      "launch_time": (launched + timedelta(minutes=n)).isoformat(),
                      "provider_status": "running" if n % 5 else "stopped"},
            # As adapters give them: a VM names its network, subnet and firewall.
            attached_to=[f"vpc-{n % 40:08x}", f"subnet-{n % 160:08x}", f"sg-{n % 30:08x}"],
        )
        for n in range(count)
    ]  # fmt: skip


def by_scope(rows: list) -> dict[str, list]:
    scopes: dict[str, list] = {}
    for record in rows:
        scopes.setdefault(record.region, []).append(record)
    return scopes


def our_ingest(account, rows: list) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.services.ingest import ingest_scope

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        for scope, scope_rows in by_scope(rows).items():
            ingest_scope(account=account, scope=scope, records=scope_rows)
    return time.perf_counter() - started, len(queries)


def floor(account, rows: list) -> float:
    """The least work that puts the same records in the same table: tuples, one executemany,
    plain `json.dumps` and no fingerprint (ours computes one to skip unchanged rows)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from inventory.models import Resource

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_resourceevent")
        cursor.execute("DELETE FROM inventory_resourcelink")
        cursor.execute("DELETE FROM inventory_resource")
    columns = ["organization_id", "account_id", "provider", "resource_id", "name", "type",
               "region", "scope", "status", "tags", "metadata", "fingerprint", "created_at",
               "first_seen", "last_seen", "updated_at", "deployment_ref"]  # fmt: skip
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    marks = ", ".join(f"%s{cast}" if c in ("tags", "metadata") else "%s" for c in columns)
    sql = f"INSERT INTO {Resource._meta.db_table} ({', '.join(columns)}) VALUES ({marks})"
    started = time.perf_counter()
    now = timezone.now()
    values = [
        (account.organization_id, account.pk, "aws", r.resource_id, r.name, r.type, r.region,
         r.region, r.status, json.dumps(r.tags), json.dumps(r.metadata), "", r.created_at,
         now, now, now, "")
        for r in rows
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, values)
    return time.perf_counter() - started


def per_row(account, rows: list) -> float:
    """The seed's upsert: look each resource up, then save or create it, one at a time, and
    replace its links (what it is attached to) as the seed's style would: one DELETE and
    one INSERT of its links per resource. Ours writes the same rows and links."""
    from django.db import connection
    from django.utils import timezone

    from inventory.models import Resource, ResourceLink

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_resourcelink")
        cursor.execute("DELETE FROM inventory_resource")
    started = time.perf_counter()
    for r in rows:
        existing = Resource.objects.filter(account=account, resource_id=r.resource_id).first()
        fields = {"name": r.name, "type": r.type, "region": r.region, "scope": r.region,
                  "status": r.status, "tags": r.tags, "metadata": r.metadata,
                  "created_at": r.created_at, "last_seen": timezone.now()}  # fmt: skip
        if existing is None:
            existing = Resource.objects.create(
                organization_id=account.organization_id,
                account=account,
                provider="aws",
                resource_id=r.resource_id,
                **fields,
            )
        else:
            for key, value in fields.items():
                setattr(existing, key, value)
            existing.save()
        ResourceLink.objects.filter(resource=existing).delete()
        ResourceLink.objects.bulk_create(
            ResourceLink(organization_id=account.organization_id, resource=existing,
                         target_id=target, target_key=target.lower())
            for target in r.attached_to
        )  # fmt: skip
    return time.perf_counter() - started


def child(backend: str) -> None:
    setup_django(database_url(backend, "bench_ingest"))
    from accounts.models import Organization
    from inventory.models import CloudAccount, Resource

    org = Organization.objects.create(name="Bench", slug="bench")
    account = CloudAccount.objects.create(organization=org, name="bench", provider="aws")
    first, second = records(ROWS, 1), records(ROWS, 2)
    t_empty, _ = our_ingest(account, first)
    assert Resource.objects.count() == ROWS
    t_full, queries = our_ingest(account, second)
    assert Resource.objects.filter(metadata__generation=2).count() == ROWS
    t_floor = floor(account, first)
    t_per_row = per_row(account, first[:PER_ROW_ROWS])
    print(
        json.dumps(
            {
                "backend": backend,
                "empty_s": t_empty,
                "full_s": t_full,
                "floor_s": t_floor,
                "per_row_s": t_per_row,
                "queries": queries,
            }
        )
    )


def main() -> None:
    backends = ["sqlite"]
    if postgres_available():
        backends.append("postgresql")
    else:
        print("PostgreSQL does not answer on 127.0.0.1:5432: measuring SQLite only.")
    results = [run_child(__file__, "--backend", b) for b in backends]
    rows, figures = [], {}
    for r in results:
        worst = max(r["empty_s"], r["full_s"]) / r["floor_s"]
        ours_per_row = r["empty_s"] / ROWS
        seed_per_row = r["per_row_s"] / PER_ROW_ROWS
        figures[f"ingest_vs_floor_{r['backend']}"] = round(worst, 2)
        figures.setdefault("speedup_vs_per_row", []).append(round(seed_per_row / ours_per_row, 1))
        figures.setdefault("queries_per_1000", []).append(round(r["queries"] / (ROWS / 1000), 2))
        rows.append((r["backend"], f"{r['empty_s']:.2f}", f"{r['full_s']:.2f}",
                     f"{r['floor_s']:.2f}", f"{worst:.2f}x", f"{seed_per_row * 1e6:.0f}",
                     f"{ours_per_row * 1e6:.1f}", f"{seed_per_row / ours_per_row:.0f}x",
                     r["queries"]))  # fmt: skip
    print(f"Ingest of {ROWS:,} resources (per-row baseline on {PER_ROW_ROWS:,})\n")
    print(table(rows, ("backend", "empty s", "full s", "floor s", "vs floor", "seed us/row",
                       "ours us/row", "speedup", "queries")))  # fmt: skip
    print("\nTargets: vs floor <= 2x; speedup >= 20x.")
    figures["speedup_vs_per_row"] = min(figures["speedup_vs_per_row"])
    figures["queries_per_1000"] = max(figures["queries_per_1000"])
    print(json.dumps(figures))


if __name__ == "__main__":
    if "--backend" in sys.argv:
        child(sys.argv[sys.argv.index("--backend") + 1])
    else:
        main()
