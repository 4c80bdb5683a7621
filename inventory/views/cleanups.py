"""Approving or rejecting a clean-up another admin asked for, and the organization's rule
that makes them wait for one (`inventory.services.cleanups`). The clean-ups themselves are
asked where the waste shows (the Savings page, the resource page) and through the API."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.models import ActionRun
from inventory.services.cleanups import (
    CLEANUP_ROLE,
    action_run_approve,
    action_run_reject,
    action_settings_update,
)
from mcloud.errors import ActionRefused


def _back(request: OrgRequest, fallback: str) -> HttpResponse:
    """To the page the form was on (`next`, this site's only), else `fallback`."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return redirect(target)


@org_view(CLEANUP_ROLE)
@require_POST
def action_run_decide(request: OrgRequest, pk: int, decision: str) -> HttpResponse:
    """Approve (then it is queued) or reject a clean-up awaiting a second admin."""
    run = get_for_org(ActionRun.objects.select_related("resource"), request, pk=pk)
    fallback = reverse("inventory:resource_detail", args=[run.resource_id])
    try:
        if decision == "approve":
            run = action_run_approve(run=run, user=request.user, ip=client_ip(request))
        else:
            run = action_run_reject(run=run, user=request.user, ip=client_ip(request),
                                    reason=request.POST.get("reason", "")[:300])  # fmt: skip
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return _back(request, fallback)
    verb = "Approved" if decision == "approve" else "Rejected"
    messages.success(request, f"{verb}: {run.get_action_display().lower()} of "
                              f"{run.resource.name}. {run.outcome}")  # fmt: skip
    return _back(request, fallback)


@org_view(CLEANUP_ROLE)
@require_POST
def action_settings_edit(request: OrgRequest) -> HttpResponse:
    """Turn the second-approver rule of clean-ups on (an admin) or off (an owner)."""
    try:
        action_settings_update(
            organization=request.organization,
            require_second_approver=request.POST.get("require_second_approver") == "on",
            user=request.user,
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Saved the clean-up rules.")
    return _back(request, reverse("billing:savings"))
