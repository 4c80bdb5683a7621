"""Cloud account pages: list, detail, add, edit, test, pause/resume, disable, delete."""

from __future__ import annotations

import re
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.account_adapters import external_id_for
from inventory.extensions import ACCOUNT_PANELS
from inventory.forms.aws_account import ROLE_NAME
from inventory.forms.kept_keys import KeptKeys
from inventory.models import CloudAccount
from inventory.providers import AWS_MEMBER_ROLE, account_provider
from inventory.selectors import (
    cloud_account_list,
    health_history,
    member_list,
    sync_run_active,
    sync_run_list,
    sync_runs_active,
)
from inventory.services import accounts as services
from inventory.services.health import connection_check
from mcloud.clouds.registry import UnknownProvider, provider_choices, provider_list
from mcloud.errors import ActionRefused


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def account_list(request: OrgRequest) -> HttpResponse:
    """The accounts with their health and sync; while a check or a sync is pending, the
    table asks again every few seconds (HTMX gets the table only)."""
    accounts = list(cloud_account_list(organization=request.organization))
    active = sync_runs_active(organization=request.organization)
    for account in accounts:
        account.active_run = active.get(account.pk)
        if account.active_run is not None:
            account.active_run.account = account  # for its progress words, no query
    pending = any(
        a.active_run is not None or (a.is_active and a.latest_health is None) for a in accounts
    )
    template = "inventory/cloudaccount_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#accounts"
    return render(
        request,
        template,
        {
            "accounts": accounts,
            "pending": pending,
            "providers": provider_choices(),
            "can_manage": request.role.allows(Role.ADMIN),
        },
    )


@org_view(Role.VIEWER)
def account_detail(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount.objects.select_related("latest_health"), request, pk=pk)
    panels = []
    for panel in ACCOUNT_PANELS.values():
        context = panel.context(request, account)
        if context is not None:
            panels.append((panel.template, context))
    return render(
        request,
        "inventory/cloudaccount_detail.html",
        {
            "account": account,
            "checks": health_history(account=account),
            "runs": sync_run_list(account=account),
            "members": member_list(account=account),
            "active_run": sync_run_active(account=account),
            "can_sync": request.role.allows(Role.MEMBER),
            "secrets_set": sorted(k for k, v in account.secrets.items() if v),
            "provider": account_provider(account.provider),
            # Made on first use: only a provider whose panel shows it (AWS) creates one.
            "external_id": partial(external_id_for, request.organization),
            "can_manage": request.role.allows(Role.ADMIN),
            "panels": panels,
        },
    )


@org_view(Role.ADMIN)
def account_create(request: OrgRequest) -> HttpResponse:
    try:
        provider = account_provider(request.GET.get("provider", ""))
    except UnknownProvider:
        return render(request, "inventory/cloudaccount_choose.html", {"providers": provider_list()})
    form = provider.account_form(
        request.POST or None,
        request.FILES or None,
        organization=request.organization,
        kept_keys=KeptKeys(request.session),
    )
    if request.method == "POST" and form.is_valid():
        account = services.cloud_account_create(
            organization=request.organization,
            provider=provider.key,
            **form.account_values(),
            user=request.user,
            ip=client_ip(request),
        )
        form.forget_kept_key()
        messages.success(request, f"Added {account.name}. Test its connection below.")
        return redirect("inventory:account_detail", pk=account.pk)
    return render(
        request,
        "inventory/cloudaccount_form.html",
        {
            "form": form,
            "provider": provider,
            "external_id": partial(external_id_for, request.organization),
        },
    )


@org_view(Role.ADMIN)
def account_edit(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount, request, pk=pk)
    if account.is_sandbox or account.is_member:
        messages.info(
            request,
            "Sandbox accounts take their credentials from the emulators."
            if account.is_sandbox
            else services.member_refusal(account, "edited").message,
        )
        return redirect("inventory:account_detail", pk=account.pk)
    provider = account_provider(account.provider)
    form = provider.account_form(
        request.POST or None,
        request.FILES or None,
        account=account,
        organization=request.organization,
        kept_keys=KeptKeys(request.session),
    )
    if request.method == "POST" and form.is_valid():
        services.cloud_account_update(
            account=account,
            **form.account_values(),
            user=request.user,
            ip=client_ip(request),
        )
        form.forget_kept_key()
        messages.success(request, f"Saved {account.name}.")
        return redirect("inventory:account_detail", pk=account.pk)
    return render(
        request,
        "inventory/cloudaccount_form.html",
        {
            "form": form,
            "provider": provider,
            "account": account,
            "external_id": partial(external_id_for, request.organization),
        },
    )


@org_view(Role.ADMIN)
@require_POST
@vary_on_headers("HX-Request")
def account_test(request: OrgRequest, pk: int) -> HttpResponse:
    """Test the connection now; HTMX swaps the answer in place."""
    account = get_for_org(CloudAccount, request, pk=pk)
    check = connection_check(account=account, user=request.user, ip=client_ip(request))
    if request.htmx:
        # The answer in place, and the state and history panels refreshed out of band.
        account.latest_health = check
        context = {
            "check": check,
            "account": account,
            "can_manage": True,
            "checks": health_history(account=account),
        }
        return render(request, "inventory/htmx/test_result.html", context)
    level = messages.SUCCESS if check.status == "healthy" else messages.WARNING
    messages.add_message(request, level, check.message)
    return redirect("inventory:account_detail", pk=account.pk)


@org_view(Role.ADMIN)
@require_POST
def account_resume(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount, request, pk=pk)
    services.cloud_account_resume(account=account, user=request.user, ip=client_ip(request))
    messages.success(request, f"{account.name} is active again.")
    return redirect("inventory:account_detail", pk=account.pk)


@org_view(Role.ADMIN)
@require_POST
def account_toggle(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount, request, pk=pk)
    services.cloud_account_set_enabled(
        account=account, enabled=not account.enabled, user=request.user, ip=client_ip(request)
    )
    words = ("included", "excluded") if account.is_member else ("enabled", "disabled")
    messages.success(request, f"{account.name} is {words[0] if account.enabled else words[1]}.")
    back = account.parent_id if request.POST.get("back") == "connection" else None
    return redirect("inventory:account_detail", pk=back or account.pk)


@org_view(Role.ADMIN)
def account_delete(request: OrgRequest, pk: int) -> HttpResponse:
    account = get_for_org(CloudAccount, request, pk=pk)
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != account.name:
            messages.error(request, "Type the account's name exactly to delete it.")
        else:
            try:
                services.cloud_account_delete(
                    account=account, user=request.user, ip=client_ip(request)
                )
            except ActionRefused as refused:
                messages.error(request, refused.message)
                return redirect("inventory:account_detail", pk=account.pk)
            messages.success(request, f"Deleted {account.name}.")
            return redirect("inventory:account_list")
    return render(request, "inventory/cloudaccount_confirm_delete.html", {"account": account})


PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]{1,512}$")


@org_view(Role.ADMIN)
def aws_reader_role_template(request: OrgRequest) -> HttpResponse:
    """The CloudFormation template (for a StackSet) of the reader role that discovery assumes
    in each member account, with this organization's external ID; `?role=` and `?principal=`
    fill in the role name and mcloud's identity (by default AWS_PRINCIPAL_ARN) when valid."""
    role = request.GET.get("role", "")
    principal = request.GET.get("principal", "") or settings.AWS_PRINCIPAL_ARN
    response = render(
        request,
        "inventory/providers/aws_reader_role.yaml",
        {
            "role_name": role if ROLE_NAME.match(role) else AWS_MEMBER_ROLE,
            "principal": principal if PRINCIPAL.match(principal) else "",
            "external_id": external_id_for(request.organization),
        },
        content_type="application/yaml",
    )
    response["Content-Disposition"] = 'attachment; filename="mcloud-reader-role.yaml"'
    return response
