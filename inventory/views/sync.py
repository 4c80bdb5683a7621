"""Sync now, and the live progress of a sync run."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.models import CloudAccount, SyncRun
from inventory.services.sync import sync_run_request

SYNC_FINISHED_EVENT = "syncFinished"  # HTMX event: dashboard tiles refresh on it


@org_view(Role.MEMBER)
@require_POST
@vary_on_headers("HX-Request")
def sync_now(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount, request, pk=pk)
    if not account.is_active:
        messages.error(request, f"{account.name} is disabled or paused: resume it first.")
        return redirect("inventory:account_detail", pk=account.pk)
    run, created = sync_run_request(
        account=account, trigger=SyncRun.Trigger.MANUAL, requested_by=request.user
    )
    if request.htmx:
        return render(request, "inventory/htmx/sync_progress.html", {"run": run})
    if created:
        messages.info(request, f"The sync of {account.name} has started.")
    else:
        messages.info(request, f"A sync of {account.name} is already under way.")
    return redirect("inventory:account_detail", pk=account.pk)


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def sync_run_progress(request: OrgRequest, pk: int) -> HttpResponse:
    """The run's progress; it polls itself until the run is final."""
    run = get_for_org(SyncRun.objects.select_related("account"), request, pk=pk)
    response = render(request, "inventory/htmx/sync_progress.html", {"run": run})
    if run.is_final:
        response["HX-Trigger"] = SYNC_FINISHED_EVENT
    return response
