"""The dashboard: a page of tiles, each its own HTMX partial, and "Sync now" for every
account of the organization."""

from __future__ import annotations

import logging

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.roles import Role
from accounts.tenancy import OrgRequest, org_view
from inventory.extensions import TILES
from inventory.models import CloudAccount, SyncRun
from inventory.services.sync import sync_run_request
from inventory.tiles import last_updated, sync_finished_since
from inventory.views.sync import SYNC_FINISHED_EVENT

logger = logging.getLogger(__name__)


@org_view(Role.VIEWER)
def dashboard(request: OrgRequest) -> HttpResponse:
    has_accounts = CloudAccount.objects.filter(organization=request.organization).exists()
    return render(request, "inventory/dashboard.html", {
        "tiles": list(TILES.values()), "has_accounts": has_accounts,
        "can_sync": request.role.allows(Role.MEMBER),
    })  # fmt: skip


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def dashboard_tile(request: OrgRequest, name: str) -> HttpResponse:
    """One tile. A tile that fails shows its error in place; the others are not affected."""
    tile = TILES.get(name)
    if tile is None:
        raise Http404
    try:
        context = tile.context(request)
        return render(request, tile.template, {"tile": tile, **context})
    except Exception as error:  # a broken tile must not break the dashboard
        logger.exception("Dashboard tile %s failed", name)
        return render(
            request, "inventory/tiles/error.html", {"tile": tile, "error": error.__class__.__name__}
        )


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def dashboard_freshness(request: OrgRequest) -> HttpResponse:
    """When the data was last updated. It polls, and tells every tile to refresh (the
    syncFinished event) when a sync of the organization finished since the last poll,
    the first one and failed ones included."""
    context = last_updated(request)
    response = render(request, "inventory/tiles/freshness.html", context)
    if sync_finished_since(context["last_run"], request.GET.get("since")):
        response["HX-Trigger"] = SYNC_FINISHED_EVENT
    return response


@org_view(Role.MEMBER)
@require_POST
def dashboard_sync(request: OrgRequest) -> HttpResponse:
    """Sync every active account of the organization now; the progress of each shows live."""
    runs = []
    for account in CloudAccount.objects.active().filter(organization=request.organization):
        run, _ = sync_run_request(
            account=account, trigger=SyncRun.Trigger.MANUAL, requested_by=request.user
        )
        runs.append(run)
    if not request.htmx:
        return redirect("home")
    return render(request, "inventory/htmx/sync_all.html", {"runs": runs})
