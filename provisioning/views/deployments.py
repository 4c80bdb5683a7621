"""Deployment pages: the provisioning page (list and settings), create, detail, edit, and the
actions that queue runs (plan, destroy) or free a stale state lock."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from mcloud.errors import ActionRefused
from provisioning import selectors
from provisioning.forms import DeploymentForm, ProvisioningSettingsForm
from provisioning.models import Deployment, DeploymentRun
from provisioning.services import deployments as services
from provisioning.services.runs import run_plan_queue
from provisioning.services.state import lock_description


def _deployment(request: OrgRequest, pk: int) -> Deployment:
    return get_for_org(
        Deployment.objects.select_related(
            "blueprint_version__blueprint", "account", "created_by", "last_run", "drift"
        ),
        request,
        pk=pk,
    )


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def deployment_list(request: OrgRequest) -> HttpResponse:
    """The deployments; archived ones (destroyed and put away) only when asked for; only the
    drifted ones with `?drift=drifted`. While a last run is queued or running, the table asks
    again every few seconds (HTMX gets the table only) and stops once none is."""
    drifted = request.GET.get("drift") == "drifted"
    rows = list(selectors.deployment_list(organization=request.organization, drifted=drifted))
    for deployment in rows:  # the last run's status reads its deployment's lease
        if deployment.last_run is not None:
            deployment.last_run.deployment = deployment
    show_archived = request.GET.get("archived") == "1"
    shown = [d for d in rows if show_archived or d.archived_at is None]
    context = {
        "deployments": shown,
        # A run whose worker is lost does not count: it waits for a recovery, not a worker.
        "busy": any(
            d.last_run is not None
            and d.last_run.status in DeploymentRun.ACTIVE
            and not d.last_run.worker_lost
            for d in shown
        ),
        "show_archived": show_archived,
        "drifted_filter": drifted,
        "archived_count": sum(1 for d in rows if d.archived_at is not None),
    }
    template = "provisioning/deployment_list.html"
    if request.htmx and not request.htmx.boosted:
        return render(request, template + "#deployments", context)
    rules = selectors.provisioning_settings(request.organization)
    context.update({
        "settings_form": ProvisioningSettingsForm(
            initial={"require_second_approver": rules.require_second_approver,
                     "drift_check_hours": rules.drift_check_hours},
            locked=rules.require_second_approver and request.role != Role.OWNER,
        ),
        "rules": rules,
        "can_plan": request.role.allows(Role.MEMBER),
        "can_manage": request.role.allows(Role.ADMIN),
    })  # fmt: skip
    return render(request, template, context)


@org_view(Role.ADMIN)
@require_POST
def settings_update(request: OrgRequest) -> HttpResponse:
    form = ProvisioningSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.provisioning_settings_update(
                organization=request.organization,
                require_second_approver=form.cleaned_data["require_second_approver"],
                drift_check_hours=form.cleaned_data["drift_check_hours"],
                user=request.user,
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, "Saved the provisioning settings.")
    else:
        messages.error(request, "Nothing was saved: choose one of the offered intervals.")
    return redirect("provisioning:deployment_list")


@org_view(Role.MEMBER)
def deployment_create(request: OrgRequest) -> HttpResponse:
    """Choose a blueprint, then fill in the form generated from its latest version."""
    blueprints = selectors.blueprint_list(organization=request.organization)
    chosen = request.GET.get("blueprint", "")
    if not chosen.isdigit():
        return render(request, "provisioning/deployment_choose.html", {"blueprints": blueprints})
    blueprint = get_object_or_404(blueprints, pk=int(chosen), latest_version__isnull=False)
    version = blueprint.latest_version
    assert version is not None  # the lookup above asked for one
    form = DeploymentForm(request.POST or None, version=version, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            deployment = services.deployment_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                version=version,
                account=form.cleaned_data["account"],
                values=form.values,
                user=request.user,
                ip=client_ip(request),
            )
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"Created {deployment.name}. Plan it to see what it does.")
            return redirect("provisioning:deployment_detail", pk=deployment.pk)
    return render(
        request,
        "provisioning/deployment_form.html",
        {"form": form, "version": version, "blueprint": blueprint},
    )


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def deployment_detail(request: OrgRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    runs = selectors.run_list(deployment=deployment)
    rules = selectors.provisioning_settings(request.organization)
    context = {
        "deployment": deployment,
        "runs": runs,
        "second_person_required": rules.require_second_approver,
        # A run whose worker is lost does not count: Force unlock recovers it first.
        "busy": any(r.status in DeploymentRun.ACTIVE and not r.worker_lost for r in runs),
        "can_plan": request.role.allows(Role.MEMBER),
        "can_manage": request.role.allows(Role.ADMIN),
    }
    template = "provisioning/deployment_detail.html"
    if request.htmx and not request.htmx.boosted:
        return render(request, template + "#runs", context)
    version = deployment.blueprint_version
    stored = {**deployment.variables}
    context.update({
        "variables": [
            {"name": v.name, "sensitive": v.sensitive, "value": stored.get(v.name),
             "is_set": bool(deployment.sensitive_variables.get(v.name))}
            for v in version.user_variables()
        ],
        "outputs": sorted(deployment.outputs.items()),
        "state": selectors.state_current(deployment=deployment),
        # Joined in by _deployment: None when it was never checked.
        "drift": getattr(deployment, "drift", None),
        "cost": selectors.deployment_cost(deployment=deployment, today=timezone.localdate()),
        "today": timezone.localdate(),
        "lock": lock_description(deployment),
    })  # fmt: skip
    return render(request, template, context)


@org_view(Role.MEMBER)
def deployment_edit(request: OrgRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    form = DeploymentForm(
        request.POST or None,
        version=deployment.blueprint_version,
        organization=request.organization,
        deployment=deployment,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.deployment_update(
                deployment=deployment,
                account=form.cleaned_data["account"],
                values=form.values,
                user=request.user,
                ip=client_ip(request),
            )
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"Saved {deployment.name}. Plan it to apply the change.")
            return redirect("provisioning:deployment_detail", pk=deployment.pk)
    return render(
        request,
        "provisioning/deployment_form.html",
        {"form": form, "version": deployment.blueprint_version, "deployment": deployment},
    )


def _queue_plan(request: OrgRequest, pk: int, *, destroy: bool) -> HttpResponse:
    deployment = _deployment(request, pk)
    try:
        run = run_plan_queue(
            deployment=deployment, user=request.user, destroy=destroy, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("provisioning:deployment_detail", pk=deployment.pk)
    return redirect("provisioning:run_detail", pk=run.pk)


@org_view(Role.MEMBER)
@require_POST
def deployment_plan(request: OrgRequest, pk: int) -> HttpResponse:
    return _queue_plan(request, pk, destroy=False)


@org_view(Role.ADMIN)
@require_POST
def deployment_destroy(request: OrgRequest, pk: int) -> HttpResponse:
    """A destroy plan; applying it then asks for the deployment's name."""
    return _queue_plan(request, pk, destroy=True)


@org_view(Role.ADMIN)
@require_POST
def deployment_unlock(request: OrgRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    try:
        released = services.state_force_unlock(
            deployment=deployment, user=request.user, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, "Released the state lock." if released else "The state was not locked."
        )
    return redirect("provisioning:deployment_detail", pk=deployment.pk)


def _archive(request: OrgRequest, pk: int, *, archived: bool) -> HttpResponse:
    deployment = _deployment(request, pk)
    try:
        services.deployment_archive(
            deployment=deployment, user=request.user, archived=archived, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("provisioning:deployment_detail", pk=deployment.pk)
    if archived:
        messages.success(request, f"Archived {deployment.name}: it is hidden from the list.")
        return redirect("provisioning:deployment_list")
    messages.success(request, f"{deployment.name} is back in the list.")
    return redirect("provisioning:deployment_detail", pk=deployment.pk)


@org_view(Role.ADMIN)
@require_POST
def deployment_archive(request: OrgRequest, pk: int) -> HttpResponse:
    return _archive(request, pk, archived=True)


@org_view(Role.ADMIN)
@require_POST
def deployment_unarchive(request: OrgRequest, pk: int) -> HttpResponse:
    return _archive(request, pk, archived=False)
