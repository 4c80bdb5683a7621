"""Removing a waste finding's resource: the "Remove" of the Savings page and of the resource
page's waste panel, through the inventory's one action service (a clean-up: delete or
release, admins only, maybe awaiting a second admin). Once the run is final the findings are
refreshed (billing's action follow-up), so the finding and its saving leave the totals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.tenancy import OrgRequest, get_for_org, org_view
from billing.models import Finding
from billing.money import round_amount
from inventory.models import ActionRun
from inventory.services.actions import resource_action_request
from inventory.services.cleanups import (
    CLEANUP_ROLE,
    WORDS,
    action_settings,
    cleanup_of,
)
from mcloud.errors import ActionRefused


def latest_runs(resource_ids: Iterable[int]) -> dict[int, ActionRun]:
    """{resource id: its latest clean-up run} of these resources, in one query."""
    runs: dict[int, ActionRun] = {}
    rows = ActionRun.objects.filter(
        resource_id__in=list(resource_ids), action__in=[ActionRun.Action.DELETE,
                                                        ActionRun.Action.RELEASE],
    ).select_related("requested_by").order_by("-queued_at", "-id")  # fmt: skip
    for run in rows:
        runs.setdefault(run.resource_id, run)
    return runs


def removal_context(request: OrgRequest, findings: Iterable[Finding]) -> dict[str, Any]:
    """What the Remove buttons need: each finding's clean-up (`finding.cleanup`) and latest
    run (`finding.removal`), who may remove and approve."""
    findings = list(findings)
    runs = latest_runs(f.resource_id for f in findings)
    for finding in findings:
        finding.cleanup = cleanup_of(finding.resource)  # type: ignore[attr-defined]
        finding.removal = runs.get(finding.resource_id)  # type: ignore[attr-defined]
        finding.question = removal_question(finding)  # type: ignore[attr-defined]
    return {"can_remove": request.role.allows(CLEANUP_ROLE)}


def removal_question(finding: Finding) -> str:
    """The confirmation of a Remove: what goes, and the saving it brings."""
    verb = {"delete": "Delete", "release": "Release"}.get(cleanup_of(finding.resource), "Remove")
    saving = f"{round_amount(finding.saving, finding.currency)} {finding.currency}"
    return (
        f"{verb} {WORDS.get(finding.resource.type, 'resource')} {finding.resource.name} at "
        f"{finding.resource.get_provider_display()}? It saves about {saving} a month "
        "(estimate). This cannot be undone."
    )


@org_view(CLEANUP_ROLE)
@require_POST
def finding_remove_view(request: OrgRequest, pk: int) -> HttpResponse:
    """Ask for the finding's resource to be removed; back to the page the button was on."""
    finding = get_for_org(Finding.objects.select_related("resource__account"), request, pk=pk)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "billing:savings"
    action = cleanup_of(finding.resource)
    if not action:
        messages.error(request, "mcloud does not remove this kind of resource: dismiss it, "
                                "or stop it through its page.")  # fmt: skip
        return redirect(target)
    try:
        run, created = resource_action_request(
            resource=finding.resource, action=action, user=request.user, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect(target)
    name = finding.resource.name
    run.refresh_from_db()  # a worker in this process (q2's sync mode) may have run it already
    if not created:
        messages.info(request, f"A removal of {name} is already asked: {run.outcome}")
    elif run.status == ActionRun.State.AWAITING:
        messages.info(request, f"Removal of {name} asked: another admin must approve it.")
    elif run.is_final:  # done inline (a worker in the same process)
        level = messages.error if run.status == ActionRun.State.FAILED else messages.success
        level(request, f"{run.get_action_display()} {name}: {run.outcome}")
    else:
        messages.info(request, f"Removal of {name} asked: it runs in the background.")
    return redirect(target)


def waste_panel(request: OrgRequest, resource: Any) -> dict[str, Any] | None:
    """The resource page's waste card: its open finding, the saving and the Remove button
    (for the kinds mcloud removes; no query for the others)."""
    if not cleanup_of(resource):
        return None
    finding = (
        Finding.objects.filter(resource=resource, dismissed_at__isnull=True)
        .order_by("-saving")
        .first()
    )
    if finding is None:
        return None
    finding.resource = resource
    context = removal_context(request, [finding])
    rules = action_settings(request.organization)
    context.update(finding=finding, second_approver=rules.require_second_approver)
    return context
