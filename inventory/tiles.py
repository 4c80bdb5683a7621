"""The dashboard's tiles. Each is computed by its own function with a fixed number of
queries (aggregates, not per-row work), so a tile costs the same with 100 or 100,000
resources. Billing replaces the two cost tiles when it is installed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils.dateparse import parse_datetime

from accounts.tenancy import OrgRequest
from inventory.extensions import Tile, register_tile
from inventory.models import CloudAccount, ResourceEvent, SyncRun
from inventory.selectors import cloud_account_list, resource_figures
from mcloud.clouds.registry import provider_list


def resource_totals(request: OrgRequest) -> dict[str, Any]:
    return {"counts": resource_figures(organization=request.organization).counts}


def resources_by_provider(request: OrgRequest) -> dict[str, Any]:
    rows = resource_figures(organization=request.organization).by_provider
    return {"bars": bars([(p.label, rows.get(p.key, 0), p.key) for p in provider_list()])}


def bars[N: (int, float, Decimal)](items: Sequence[tuple[str, N, str]]) -> list[dict[str, Any]]:
    """Rows of a horizontal bar chart: label, value, width in percent of the largest, key."""
    largest = max((value for _, value, _ in items), default=0) or 1
    return [
        {"label": label, "value": value, "percent": round(100 * value / largest, 1), "key": key}
        for label, value, key in items
    ]


def provider_health(request: OrgRequest) -> dict[str, Any]:
    return {"accounts": list(cloud_account_list(organization=request.organization))}


def recent_activity(request: OrgRequest, limit: int = 12) -> dict[str, Any]:
    """The latest changes syncs recorded, and each finished sync once, newest first; syncs
    in a row that changed nothing fold into one line ("3 syncs, no change")."""
    events = list(
        ResourceEvent.objects.filter(organization=request.organization)
        .select_related("resource", "account")
        .order_by("-occurred_at", "-id")[:limit]
    )
    runs = list(
        SyncRun.objects.filter(organization=request.organization, status__in=SyncRun.FINAL)
        .select_related("account")
        .order_by("-finished_at", "-id")[: limit * 4]  # the quiet ones fold: read more
    )
    items = [("event", e.occurred_at, e) for e in events] + [
        ("run", r.finished_at, r)
        for r in runs
        if r.finished_at is not None  # always, for a final run
    ]
    items.sort(key=lambda item: item[1], reverse=True)
    return {"items": _fold_quiet_syncs(items)[:limit]}


def _quiet(item: tuple[str, Any, Any]) -> bool:
    kind, _, run = item
    return (
        kind == "run"
        and run.status == SyncRun.State.SUCCEEDED
        and not (run.created or run.updated or run.removed)
    )


def _fold_quiet_syncs(items: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    folded: list[tuple[str, Any, Any]] = []
    for item in items:
        if _quiet(item) and folded and folded[-1][0] == "quiet":
            quiet = folded[-1][2]
            quiet["count"] += 1
            quiet["accounts"].setdefault(item[2].account.name, None)
        elif _quiet(item):
            folded.append(
                ("quiet", item[1], {"count": 1, "accounts": {item[2].account.name: None}})
            )
        else:
            folded.append(item)
    return folded


def last_updated(request: OrgRequest) -> dict[str, Any]:
    """When the data last changed, and the latest finished sync whatever its outcome: a
    failed or partial sync changes the health and activity tiles too."""
    latest = CloudAccount.objects.filter(organization=request.organization).aggregate(
        synced=Max("last_synced_at")
    )["synced"]
    runs = SyncRun.objects.filter(organization=request.organization)
    running = runs.filter(status__in=[SyncRun.State.QUEUED, SyncRun.State.RUNNING]).count()
    last_run = (
        runs.filter(status__in=SyncRun.FINAL, finished_at__isnull=False)
        .only("status", "finished_at")
        .order_by("-finished_at", "-id")
        .first()
    )
    return {"last_synced": latest, "running": running, "last_run": last_run}


def sync_finished_since(last_run: SyncRun | None, since: str | None) -> bool:
    """Whether a sync finished after the poll marked `since` (the previous poll's latest
    finish; "" when none had finished yet, None on the first load, which needs no refresh)."""
    if since is None or last_run is None:
        return False
    try:
        seen = parse_datetime(since)
    except ValueError:
        seen = None
    finished = last_run.finished_at
    return seen is None or (finished is not None and finished > seen)


def no_cost_data(request: OrgRequest) -> dict[str, Any]:
    """Until billing imports costs, the cost tiles say so."""
    return {"no_cost_data": True}


DEFAULT_TILES = [
    Tile("resources", "Resources", "inventory/tiles/resources.html", resource_totals),
    Tile("running_vms", "Running VMs", "inventory/tiles/running_vms.html", resource_totals),
    Tile("storage", "Storage", "inventory/tiles/storage.html", resource_totals),
    Tile("cost_mtd", "Month to date", "inventory/tiles/no_cost.html", no_cost_data),
    Tile("by_provider", "Resources by provider", "inventory/tiles/by_provider.html",
         resources_by_provider, width="col-lg-6"),
    Tile("cost_by_provider", "Cost by provider", "inventory/tiles/no_cost.html", no_cost_data,
         width="col-lg-6"),
    Tile("health", "Provider health", "inventory/tiles/health.html", provider_health,
         width="col-lg-6"),
    Tile("activity", "Recent activity", "inventory/tiles/activity.html", recent_activity,
         width="col-lg-6"),
]  # fmt: skip


def register_default_tiles() -> None:
    for tile in DEFAULT_TILES:
        register_tile(tile)
