"""The "Load a sandbox estate" button."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from accounts.exceptions import ActionRefused
from accounts.tenancy import set_current_organization
from inventory.models import CloudAccount, SyncRun
from inventory.services.sandbox import sandbox_load
from inventory.services.sync import sync_run_request


@login_required
@require_POST
def sandbox_create(request: HttpRequest) -> HttpResponse:
    """A new organization with the sandbox accounts, synced by the workers."""
    if not settings.SANDBOX_ENABLED:
        raise Http404
    try:
        organization = sandbox_load(owner=request.user)
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("home")
    set_current_organization(request, organization)
    for account in CloudAccount.objects.filter(organization=organization):
        sync_run_request(
            account=account, trigger=SyncRun.Trigger.SANDBOX, requested_by=request.user
        )
        transaction.on_commit(lambda pk=account.pk: async_task("inventory.tasks.check_account", pk))
    transaction.on_commit(
        lambda: async_task("inventory.tasks.finish_sandbox", organization.pk, request.user.pk)
    )
    messages.success(request, f"{organization.name} is ready: its accounts are syncing now.")
    return redirect("inventory:account_list")
