"""Start, stop and reboot on the resource page, and an action's live progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.models import ActionRun, Resource
from inventory.selectors import action_run_list
from inventory.services.actions import (
    ACTION_ROLE,
    ACTIVE,
    resource_action_refusal,
    resource_action_request,
)
from mcloud.clouds.base import ResourceType
from mcloud.errors import ActionRefused

PROGRESS = "inventory/htmx/action_progress.html"


def resource_actions_context(request: OrgRequest, resource: Resource) -> dict[str, Any]:
    """What the resource page's Actions card shows: the buttons the user may press, why there
    are none, the run under way and the latest runs (one query)."""
    if resource.type != ResourceType.VM:
        return {"show_actions": False}
    runs = action_run_list(resource=resource)
    for run in runs:
        run.resource = resource  # the run list shows no other resource: no query per row
    return {
        "show_actions": True,
        "may_act": request.role.allows(ACTION_ROLE),
        "action_refusal": resource_action_refusal(
            resource=resource, action="start", managed=getattr(resource, "managed_by", None)
        ),
        "action_choices": ActionRun.VM_CHOICES,
        "action_runs": runs,
        "active_run": next((r for r in runs if r.status in ACTIVE), None),
    }


@org_view(ACTION_ROLE)
@require_POST
@vary_on_headers("HX-Request")
def resource_action(request: OrgRequest, pk: int, action: str) -> HttpResponse:
    """Queue an action; HTMX gets its progress (which polls itself), others the page back."""
    resource = get_for_org(Resource.objects.select_related("account"), request, pk=pk)
    try:
        run, created = resource_action_request(
            resource=resource, action=action, user=request.user, ip=client_ip(request)
        )
    except ActionRefused as refused:
        if request.htmx:
            return render(request, PROGRESS, {"refused": refused.message})
        messages.error(request, refused.message)
        return redirect("inventory:resource_detail", pk=resource.pk)
    if request.htmx:
        return render(request, PROGRESS, {"run": run})
    if created:
        messages.info(request, f"{run.get_action_display()} of {resource.name} asked.")
    else:
        messages.info(request, f"An action on {resource.name} is already under way.")
    return redirect("inventory:resource_detail", pk=resource.pk)


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def action_run_progress(request: OrgRequest, pk: int) -> HttpResponse:
    """The run's progress; once it is final, the last answer stops the polling (HTTP 286)
    and brings the resource's new status and list of runs to the page."""
    run = get_for_org(ActionRun.objects.select_related("resource"), request, pk=pk)
    context: dict[str, Any] = {"run": run, "final_oob": run.is_final}
    if run.is_final:  # the badge and the list of runs follow, out of band
        context["action_runs"] = action_run_list(resource=run.resource)
        return HttpResponseStopPolling(render(request, PROGRESS, context).content)
    return render(request, PROGRESS, context)
