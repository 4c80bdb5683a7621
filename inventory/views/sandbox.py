"""The "Load a sandbox estate" button."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.tenancy import SignedInRequest, set_current_organization
from inventory.services.sandbox import sandbox_load, sandbox_start
from mcloud.errors import ActionRefused


@login_required
@require_POST
def sandbox_create(request: SignedInRequest) -> HttpResponse:
    """A new organization with the sandbox accounts, synced by the workers."""
    if not settings.SANDBOX_ENABLED:
        raise Http404
    try:
        organization = sandbox_load(owner=request.user)
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("home")
    set_current_organization(request, organization)
    sandbox_start(organization=organization, owner=request.user)
    messages.success(request, f"{organization.name} is ready: its accounts are syncing now.")
    return redirect("inventory:account_list")
