"""Page speed at scale: the dashboard, the inventory and a resource page with 100,000
resources, against the same pages with 1,000.

    python bench/pages.py

Builds each database through the real ingest (3 providers, 30 regions; a second listing
changes 5% of the statuses so the activity feed has events), then takes the median of
repeated renders through Django's test client. The dashboard is a page whose tiles (and
freshness line) are each their own HTMX request, so its figure is the page plus every one of
them: what one view of the dashboard costs the server (each request is printed too).
The search palette (/search/, as the palette asks for it on each keystroke) is measured for
two 3-letter texts: one that every resource holds ("nod") and one that some do ("001").
Targets: large over small at most 3x for every page; on SQLite the dashboard (page + tiles)
under 150 ms, the list and the palette under 100 ms, and the list sorted by cost / month (with
its total) and the Savings page (a quarter of the estate is unattached disks: 25,000 findings)
under 150 ms (median).

The cost rows name the inventory's resources, and are written as an import writes them: the
bill, each resource's daily costs and the inventory's cost / month figures (and tallies).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import database_url, postgres_available, run_child, setup_django, table

SIZES = {"small": 1_000, "large": 100_000}
PALETTE_TEXTS = {"palette_all": "nod", "palette_some": "001"}
COST_ROWS = {"small": 10_000, "large": 1_000_000}
COST_DAYS = 90
PROVIDERS = ("aws", "azure", "gcp")
REGIONS = 30
REPEAT = 15


def build(size: int) -> tuple:
    from accounts.models import Membership, Organization, User
    from inventory.models import CloudAccount
    from inventory.services.ingest import ingest_scope
    from mcloud.clouds.base import ResourceRecord

    org = Organization.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user(email="bench@example.test", password="x" * 20)
    Membership.objects.create(organization=org, user=user, role="owner")
    per_region = size // (len(PROVIDERS) * REGIONS)
    types = ("vm", "vm", "vm", "disk", "disk", "storage", "network", "database")
    launched = datetime(2026, 1, 1, tzinfo=UTC)
    for provider in PROVIDERS:
        account = CloudAccount.objects.create(
            organization=org, name=f"{provider}-bench", provider=provider
        )
        for region_no in range(REGIONS):
            region = f"{provider}-region-{region_no}"

            def records(generation: int, provider=provider, region=region,
                        region_no=region_no) -> list:  # fmt: skip
                return [
                    ResourceRecord(
                        resource_id=f"{region}-{n}", name=f"{provider}-{region_no}-node-{n:05d}",
                        type=types[n % len(types)], region=region,
                        status="stopped" if (n + generation * (n % 20 == 0)) % 4 == 0
                        else "running",
                        created_at=launched, tags={"env": ("prod", "dev", "test")[n % 3],
                                                   "team": f"team-{n % 12}"},
                        metadata={"instance_type": "t3.micro", "private_ip": f"10.0.{n % 250}.1"},
                    )
                    for n in range(per_region)
                ]  # fmt: skip

            ingest_scope(account=account, scope=region, records=records(0))
            ingest_scope(account=account, scope=region, records=records(1))
    build_costs(org, COST_ROWS["large" if size == SIZES["large"] else "small"])
    # The waste findings (every disk here is unattached: a quarter of the estate), as every
    # sync and import refreshes them.
    from billing.services.waste import findings_refresh

    findings_refresh(organization=org)
    # Planner statistics, as autovacuum (PostgreSQL) or `ANALYZE` keep them in production.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, user


def build_costs(org: object, rows: int) -> None:
    """`rows` daily cost rows over the last COST_DAYS days, resource-level (naming inventory
    resources), per account, then each resource's daily costs and cost / month as an import
    writes them."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from billing.services.imports import cost_records_replace
    from billing.services.resource_costs import resource_costs_replace, resource_figures_refresh
    from inventory.models import CloudAccount
    from mcloud.clouds.base import CostRecord

    end = timezone.localdate() + timedelta(days=1)
    start = end - timedelta(days=COST_DAYS)
    accounts = list(CloudAccount.objects.filter(organization=org))
    per_day = rows // (len(accounts) * COST_DAYS)
    services = (
        "Compute",
        "Storage",
        "Database",
        "Network",
        "Monitoring",
        "Queue",
        "Cache",
        "Functions",
        "DNS",
        "Backup",
    )
    for account in accounts:
        records = [
            CostRecord(
                date=start + timedelta(days=d),
                service=services[n % len(services)],
                amount=Decimal(f"{(n % 97) / 10 + 0.5:.2f}"),
                currency="USD",
                region=f"{account.provider}-region-{n % REGIONS}",
                resource_id=f"{account.provider}-region-{n % REGIONS}-{n // REGIONS}",
            )
            for d in range(COST_DAYS)
            for n in range(per_day)
        ]
        cost_records_replace(account=account, start=start, end=end, records=records)
        resource_costs_replace(account=account, start=start, end=end, records=None)
        resource_figures_refresh(account=account, today=end - timedelta(days=1))


def median_ms(client, url: str, **headers: str) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def dashboard_requests(figures: dict[str, float]) -> list[str]:
    """The requests one view of the dashboard makes: the page, each tile, the freshness line."""
    return [k for k in figures if k in ("dashboard_page", "freshness") or k.startswith("tile_")]


def dashboard_ms(figures: dict[str, float]) -> float:
    """The dashboard's figure: the page plus every tile, not only the slowest of them."""
    return sum(figures[k] for k in dashboard_requests(figures))


def child(backend: str, size_name: str) -> None:
    setup_django(database_url(backend, f"bench_pages_{size_name}"))
    from django.test import Client
    from django.urls import reverse

    from accounts.tenancy import SESSION_KEY
    from billing.models import CostData
    from inventory.extensions import TILES
    from inventory.models import Resource

    org, user = build(SIZES[size_name])
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()
    htmx = {"HX-Request": "true"}
    results: dict[str, float] = {"dashboard_page": median_ms(client, reverse("home"))}
    for name in TILES:
        results[f"tile_{name}"] = median_ms(
            client, reverse("inventory:dashboard_tile", args=[name]), **htmx
        )
    results["freshness"] = median_ms(client, reverse("inventory:dashboard_freshness"), **htmx)
    inventory = reverse("inventory:resource_list")
    results["list_filtered"] = median_ms(client, f"{inventory}?provider=aws&type=vm&status=running"
                                         "&tag=env%3Dprod")  # fmt: skip
    results["list_page_50"] = median_ms(client, f"{inventory}?page=50&per_page=20")
    # A name found in every region of both sizes (90 matches): the same page, found among
    # 1,000 or 100,000 rows (node-00042 exists only in the large one).
    results["list_search"] = median_ms(client, f"{inventory}?q=node-00004")
    results["list_htmx"] = median_ms(client, f"{inventory}?provider=gcp&sort=-last_seen", **htmx)
    # The dearest first, with the total of what matches (tallies): the page and its table.
    results["inventory_by_cost"] = median_ms(client, f"{inventory}?sort=-cost")
    results["inventory_by_cost_htmx"] = median_ms(
        client, f"{inventory}?type=vm&sort=-cost&page=3", **htmx
    )
    for key, text in PALETTE_TEXTS.items():
        results[key] = median_ms(client, f"{reverse('accounts:search')}?q={text}", **htmx)
    savings = reverse("billing:savings")
    results["savings_page"] = median_ms(client, savings)
    results["savings_filtered"] = median_ms(client, f"{savings}?rule=unattached_disk&page=3")
    billing = reverse("billing:overview")
    results["billing_page"] = median_ms(client, billing)
    results["billing_90_days"] = median_ms(client, f"{billing}?period=last_90&group=service")
    results["billing_filtered"] = median_ms(
        client, f"{billing}?provider=aws&service=Compute", **htmx
    )
    resource = Resource.objects.filter(organization=org).order_by("pk")[1000 % SIZES[size_name]]
    results["resource_page"] = median_ms(
        client, reverse("inventory:resource_detail", args=[resource.pk])
    )
    results["resources"] = Resource.objects.filter(organization=org).count()
    results["cost_rows"] = CostData.objects.filter(organization=org).count()
    print(json.dumps({"backend": backend, "size": size_name, **results}))


def main() -> None:
    backends = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    if len(backends) == 1:
        print("PostgreSQL does not answer on 127.0.0.1:5432: measuring SQLite only.")
    figures: dict[str, float] = {}
    for backend in backends:
        small = run_child(__file__, "--backend", backend, "--size", "small")
        large = run_child(__file__, "--backend", backend, "--size", "large")
        pages = [k for k in small if k not in ("backend", "size", "resources", "cost_rows")]
        rows = [(page, f"{small[page]:.1f}", f"{large[page]:.1f}",
                 f"{large[page] / small[page]:.2f}x") for page in pages]  # fmt: skip
        lists = [k for k in pages if k.startswith("list_")]
        by_cost = [k for k in pages if k.startswith("inventory_by_cost")]
        billing = [k for k in pages if k.startswith("billing_")]
        palette = [k for k in pages if k.startswith("palette_")]
        savings = [k for k in pages if k.startswith("savings_")]
        dash_small, dash_large = dashboard_ms(small), dashboard_ms(large)
        rows.append(("dashboard (page + every tile)", f"{dash_small:.1f}", f"{dash_large:.1f}",
                     f"{dash_large / dash_small:.2f}x"))  # fmt: skip
        print(f"\n{backend}: median ms over {REPEAT} renders, {small['resources']:,} vs "
              f"{large['resources']:,} resources, {small['cost_rows']:,} vs "
              f"{large['cost_rows']:,} cost rows\n")  # fmt: skip
        print(table(rows, ("page", "small ms", "large ms", "large/small")))
        worst_list = max(large[k] / small[k] for k in [*lists, "resource_page"])
        if backend == "sqlite":
            figures.update(
                billing_large_vs_small=round(max(large[k] / small[k] for k in billing), 2),
                billing_ms=round(max(large[k] for k in billing), 1),
                inventory_by_cost_large_vs_small=round(
                    max(large[k] / small[k] for k in by_cost), 2
                ),
                inventory_by_cost_ms=round(max(large[k] for k in by_cost), 1),
                palette_large_vs_small=round(max(large[k] / small[k] for k in palette), 2),
                palette_ms=round(max(large[k] for k in palette), 1),
                savings_large_vs_small=round(max(large[k] / small[k] for k in savings), 2),
                savings_ms=round(max(large[k] for k in savings), 1),
            )
            figures.update(dashboard_large_vs_small=round(dash_large / dash_small, 2),
                           inventory_large_vs_small=round(worst_list, 2),
                           dashboard_ms=round(dash_large, 1),
                           inventory_ms=round(max(large[k] for k in lists), 1))  # fmt: skip
        else:
            figures[f"dashboard_ms_{backend}"] = round(dash_large, 1)
            figures[f"inventory_ms_{backend}"] = round(max(large[k] for k in lists), 1)
            figures[f"billing_ms_{backend}"] = round(max(large[k] for k in billing), 1)
            figures[f"inventory_by_cost_ms_{backend}"] = round(max(large[k] for k in by_cost), 1)
            figures[f"palette_ms_{backend}"] = round(max(large[k] for k in palette), 1)
            figures[f"savings_ms_{backend}"] = round(max(large[k] for k in savings), 1)
    print("\nTargets: large/small <= 3x; on SQLite dashboard (page + tiles), billing, savings"
          " and the inventory by cost < 150 ms, list and palette < 100 ms.")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    if "--backend" in sys.argv:
        child(sys.argv[sys.argv.index("--backend") + 1], sys.argv[sys.argv.index("--size") + 1])
    else:
        main()
