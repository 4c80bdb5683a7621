"""Policy pages: the organization's policies and the bundled examples, the editor (validated
on save, testable against a deployment's last plan through HTMX), and the owner's override of
a plan's failed mandatory policies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from mcloud.errors import ActionRefused
from provisioning.forms import PolicyForm, PolicyOverrideForm, PolicyTestForm
from provisioning.models import Deployment, DeploymentRun, Policy
from provisioning.selectors import deployment_names, policy_list
from provisioning.services import policies as services


@org_view(Role.VIEWER)
def policy_list_view(request: OrgRequest) -> HttpResponse:
    return render(request, "provisioning/policy_list.html", {
        "policies": policy_list(organization=request.organization),
        "examples": services.policy_examples(),
        "can_manage": request.role.allows(Role.ADMIN),
    })  # fmt: skip


def _form_page(request: OrgRequest, form: PolicyForm, policy: Policy | None) -> HttpResponse:
    deployments = deployment_names(organization=request.organization)
    return render(request, "provisioning/policy_form.html", {
        "form": form, "policy": policy, "deployments": deployments,
    })  # fmt: skip


@org_view(Role.ADMIN)
def policy_create(request: OrgRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = services.policy_create(
                organization=request.organization, user=request.user, ip=client_ip(request),
                **form.cleaned_data,
            )  # fmt: skip
        except ActionRefused as refused:
            form.add_error("source", refused.message)
        else:
            messages.success(request, f"Saved the policy {policy.name}.")
            return redirect("provisioning:policy_list")
    return _form_page(request, form, None)


@org_view(Role.ADMIN)
def policy_edit(request: OrgRequest, pk: int) -> HttpResponse:
    policy = get_for_org(Policy.objects.all(), request, pk=pk)
    initial = {f: getattr(policy, f) for f in PolicyForm.base_fields}
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(
                policy=policy, user=request.user, ip=client_ip(request), **form.cleaned_data
            )
        except ActionRefused as refused:
            form.add_error("source", refused.message)
        else:
            messages.success(request, f"Saved the policy {policy.name}.")
            return redirect("provisioning:policy_list")
    return _form_page(request, form, policy)


@org_view(Role.ADMIN)
@require_POST
def policy_delete(request: OrgRequest, pk: int) -> HttpResponse:
    policy = get_for_org(Policy.objects.all(), request, pk=pk)
    services.policy_delete(policy=policy, user=request.user, ip=client_ip(request))
    messages.info(request, f"Deleted the policy {policy.name}.")
    return redirect("provisioning:policy_list")


@org_view(Role.ADMIN)
@require_POST
def policy_example_load(request: OrgRequest) -> HttpResponse:
    """Copy the bundled example named by the form's `example` into the organization's."""
    try:
        policy = services.policy_example_load(
            organization=request.organization, user=request.user,
            key=request.POST.get("example", ""), ip=client_ip(request),
        )  # fmt: skip
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("provisioning:policy_list")
    messages.success(request, f"Loaded {policy.name}: edit it to your organization's values.")
    return redirect("provisioning:policy_edit", pk=policy.pk)


@org_view(Role.ADMIN)
@require_POST
def policy_test(request: OrgRequest) -> HttpResponse:
    """The editor's source evaluated against a deployment's last plan: a fragment for HTMX."""
    form = PolicyTestForm(request.POST)
    context: dict[str, object] = {}
    if not form.is_valid():
        context["problem"] = "Choose a deployment, and write the policy first."
    else:
        deployment = get_for_org(
            Deployment.objects.all(), request, pk=form.cleaned_data["deployment"]
        )
        try:
            context["outcome"] = services.policy_test(
                policy_source=form.cleaned_data["source"], deployment=deployment
            )
        except ActionRefused as refused:
            context["problem"] = refused.message
        context["deployment"] = deployment
    return render(request, "provisioning/htmx/policy_test.html", context)


@org_view(Role.OWNER)
@require_POST
def run_policy_override(request: OrgRequest, pk: int) -> HttpResponse:
    run = get_for_org(
        DeploymentRun.objects.select_related("deployment__organization").defer(
            "log", "plan_file", "plan_json"
        ),
        request,
        pk=pk,
    )
    form = PolicyOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the policies are overridden.")
        return redirect("provisioning:run_detail", pk=run.pk)
    try:
        services.run_policy_override(
            run=run, user=request.user, reason=form.cleaned_data["reason"], ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Overridden: the plan may now be approved.")
    return redirect("provisioning:run_detail", pk=run.pk)
