"""Run pages: the run with its live log, and approve & apply, discard, cancel.

The log streams by plain polling, so it works behind any proxy: the page holds the log up to
some offset and a poller element that asks `run_log?offset=N` every second. Each answer is the
new text and a new poller with the new offset; once the run is final the answer has no poller
(polling stops) and says `runFinished`, on which the status panel reloads.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from mcloud.errors import ActionRefused
from provisioning.models import DeploymentRun
from provisioning.selectors import (
    LOG_OFFSET_MAX,
    log_init_split,
    provisioning_settings,
    run_history,
    run_log_rows,
)
from provisioning.services import runs as services
from provisioning.services.state import lock_description

RUN_FINISHED_EVENT = "runFinished"
Kind, Status = DeploymentRun.Kind, DeploymentRun.Status


def _run(request: OrgRequest, pk: int, *, log: bool = False) -> DeploymentRun:
    rows = DeploymentRun.objects.select_related(
        "deployment", "started_by", "approved_by", "discarded_by", "plan_run",
        "blueprint_version__blueprint", "policy_override_by",
    ).defer(
        "plan_file", "plan_json", "plan_run__plan_file", "plan_run__plan_json", "plan_run__log"
    )  # fmt: skip
    if not log:
        rows = rows.defer("log")
    return get_for_org(rows, request, pk=pk)


def _panel_context(request: OrgRequest, run: DeploymentRun) -> dict[str, object]:
    rules = provisioning_settings(request.organization)
    same_person = rules.require_second_approver and run.started_by_id == request.user.pk
    results = list(run.policy_results.all()) if run.is_plan else []
    blocked = any(r.blocks for r in results)
    return {
        "policy_results": results,
        "policy_blocked": blocked,
        "approval_blocked": blocked and run.policy_override_at is None,
        "can_override": request.role.allows(Role.OWNER),
        "run": run,
        "history": run_history(run=run),
        "deployment": run.deployment,
        "can_plan": request.role.allows(Role.MEMBER),
        "can_manage": request.role.allows(Role.ADMIN),
        "needs_second_person": same_person,
        "outputs": sorted(run.outputs.items()),
        "apply_runs": list(run.apply_runs.only("id", "status")) if run.is_plan else [],
        # A failed run whose deployment's state is still locked: the error links to Force unlock.
        "lock": lock_description(run.deployment) if run.status == Status.FAILED else None,
    }


@org_view(Role.VIEWER)
def run_detail(request: OrgRequest, pk: int) -> HttpResponse:
    run = _run(request, pk, log=True)
    context = _panel_context(request, run)
    context["log_offset"] = len(run.log)
    context["init_log"], context["rest_log"] = log_init_split(run.log)
    return render(request, "provisioning/run_detail.html", context)


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def run_panel(request: OrgRequest, pk: int) -> HttpResponse:
    """The status, plan summary, outputs and actions of a run: a fragment for HTMX."""
    run = _run(request, pk)
    return render(request, "provisioning/run_detail.html#panel", _panel_context(request, run))


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def run_log(request: OrgRequest, pk: int) -> HttpResponse:
    """The log from character `offset` on: a fragment with the next poller for HTMX, plain
    text otherwise."""
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    offset = min(offset, LOG_OFFSET_MAX)
    run = get_for_org(run_log_rows(offset), request, pk=pk)
    # run_log_rows annotates `tail`; django-stubs loses that through get_for_org's type variable.
    tail = run.tail or ""  # type: ignore[attr-defined]
    if not request.htmx:
        response = HttpResponse(tail, content_type="text/plain; charset=utf-8")
        response["X-Log-Offset"] = str(offset + len(tail))
        return response
    response = render(
        request,
        "provisioning/htmx/run_log.html",
        {"run": run, "tail": tail, "offset": offset + len(tail)},
    )
    if run.is_final:
        response["HX-Trigger"] = RUN_FINISHED_EVENT
    return response


@org_view(Role.ADMIN)
@require_POST
def run_approve(request: OrgRequest, pk: int) -> HttpResponse:
    """Approve a plan and apply exactly its saved file (a destroy plan wants the name typed)."""
    plan = _run(request, pk)
    try:
        apply = services.run_approve(
            plan_run=plan,
            user=request.user,
            confirm_name=request.POST.get("confirm_name"),
            comment=request.POST.get("comment", ""),
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("provisioning:run_detail", pk=plan.pk)
    return redirect("provisioning:run_detail", pk=apply.pk)


@org_view(Role.MEMBER)
@require_POST
def run_discard(request: OrgRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        services.run_discard(
            run=run,
            user=request.user,
            comment=request.POST.get("comment", ""),
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.info(request, f"Discarded plan #{run.pk}.")
    return redirect("provisioning:run_detail", pk=run.pk)


@org_view(Role.MEMBER)
@require_POST
def run_cancel(request: OrgRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    services.cancel_permission_check(run, request.role)
    try:
        status = services.run_cancel(run=run, user=request.user, ip=client_ip(request))
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.info(
            request,
            f"Cancelled run #{run.pk}."
            if status == Status.CANCELLED
            else f"Asked Terraform to stop run #{run.pk}: it ends in a few seconds.",
        )
    return redirect("provisioning:run_detail", pk=run.pk)
