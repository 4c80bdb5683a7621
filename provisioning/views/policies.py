"""Policy pages: the organization's policy sets and their policies, the bundled examples, the
editors (a policy is validated on save and testable against a deployment's last plan through
HTMX), and the owner's override of a plan's failed mandatory policies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from mcloud.errors import ActionRefused
from provisioning.forms import PolicyForm, PolicyOverrideForm, PolicySetForm, PolicyTestForm
from provisioning.models import Deployment, DeploymentRun, Policy, PolicySet
from provisioning.selectors import deployment_names, policy_set_list
from provisioning.services import policies as services
from provisioning.services import policy_sets as set_services


@org_view(Role.VIEWER)
def policy_list_view(request: OrgRequest) -> HttpResponse:
    return render(request, "provisioning/policy_list.html", {
        "policy_sets": policy_set_list(organization=request.organization),
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
    form = PolicyForm(request.POST or None, organization=request.organization)
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
    form = PolicyForm(request.POST or None, initial=initial, organization=request.organization)
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


def _set_form_page(
    request: OrgRequest, form: PolicySetForm, policy_set: PolicySet | None
) -> HttpResponse:
    return render(request, "provisioning/policy_set_form.html", {
        "form": form, "policy_set": policy_set,
    })  # fmt: skip


def _policy_set_save(
    request: OrgRequest, form: PolicySetForm, policy_set: PolicySet | None
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            saved = set_services.policy_set_save(
                organization=request.organization, user=request.user, policy_set=policy_set,
                ip=client_ip(request), **form.cleaned_data,
            )  # fmt: skip
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"Saved the policy set {saved.name}.")
            return redirect("provisioning:policy_list")
    return _set_form_page(request, form, policy_set)


@org_view(Role.ADMIN)
def policy_set_create(request: OrgRequest) -> HttpResponse:
    form = PolicySetForm(request.POST or None, organization=request.organization)
    return _policy_set_save(request, form, None)


@org_view(Role.ADMIN)
def policy_set_edit(request: OrgRequest, pk: int) -> HttpResponse:
    policy_set = get_for_org(PolicySet.objects.all(), request, pk=pk)
    initial = {
        "name": policy_set.name, "description": policy_set.description,
        "scope": policy_set.scope, "enabled": policy_set.enabled,
        "blueprints": list(policy_set.blueprints.all()),
        "accounts": list(policy_set.accounts.all()),
    }  # fmt: skip
    form = PolicySetForm(request.POST or None, initial=initial, organization=request.organization)
    return _policy_set_save(request, form, policy_set)


@org_view(Role.ADMIN)
@require_POST
def policy_set_delete(request: OrgRequest, pk: int) -> HttpResponse:
    policy_set = get_for_org(PolicySet.objects.all(), request, pk=pk)
    try:
        set_services.policy_set_delete(
            policy_set=policy_set, user=request.user, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("provisioning:policy_set_edit", pk=policy_set.pk)
    messages.info(request, f"Deleted the policy set {policy_set.name}.")
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
