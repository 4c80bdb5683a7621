"""Bulk actions from the inventory and VM lists: the confirmation (how many, which accounts
and providers, what would be skipped), the request, and the bulk action's live progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.filters import MAX_PK, ResourceFilterForm
from inventory.models import ActionRun, BulkAction, Resource
from inventory.selectors import (
    account_choices,
    bulk_action_failures,
    bulk_action_skips,
    region_choices,
)
from inventory.selectors import resource_list as resource_list_selector
from inventory.services.actions import ACTION_ROLE
from inventory.services.bulk_actions import (
    bulk_action_cancel,
    bulk_action_figures,
    bulk_action_plan,
    start_bulk_action,
)
from mcloud.errors import ActionRefused

MAX_IDS = 1000  # selected rows: a page holds at most 200


class Selection:
    """What the list's form chose: its rows (`ids`) or everything its filter matches
    (`scope=all` with the list's `query`), on the VM list or the whole inventory."""

    def __init__(self, request: OrgRequest, data: QueryDict) -> None:
        self.action = data.get("action", "")
        self.everything = data.get("scope") == "all"
        self.vm_only = data.get("vm_only") == "1"
        self.query = data.get("query", "")[:2000]
        self.ids = [int(i) for i in data.getlist("ids")[:MAX_IDS] if i.isdigit()]
        self.ids = [i for i in dict.fromkeys(self.ids) if 0 < i <= MAX_PK]
        self.request = request

    @property
    def empty(self) -> bool:
        return not self.everything and not self.ids

    def resources(self) -> QuerySet[Resource] | list[int]:
        if not self.everything:
            return self.ids
        data = QueryDict(self.query, mutable=True)
        if self.vm_only:
            data.setlist("type", ["vm"])
        organization = self.request.organization
        form = ResourceFilterForm(
            data,
            accounts=account_choices(organization=organization),
            regions=region_choices(organization=organization),
            organization=organization,
        )
        return resource_list_selector(organization=organization, filters=form.filters())

    def words(self) -> str:
        if self.everything:
            return f"everything a filter of the {self.list_name} matched"
        return f"{len(self.ids)} selected row{'s' if len(self.ids) != 1 else ''}"

    @property
    def list_name(self) -> str:
        return "VM list" if self.vm_only else "inventory"

    def back(self) -> str:
        url = reverse("inventory:vm_list" if self.vm_only else "inventory:resource_list")
        return f"{url}?{self.query}" if self.query else url

    def fields(self) -> list[tuple[str, str]]:
        """The hidden fields that carry the selection to the request."""
        found = [("action", self.action), ("query", self.query),
                 ("vm_only", "1" if self.vm_only else "")]  # fmt: skip
        if self.everything:
            return [*found, ("scope", "all")]
        return [*found, ("scope", "selected"), *(("ids", str(i)) for i in self.ids)]


@org_view(ACTION_ROLE)
def bulk_action_confirm(request: OrgRequest) -> HttpResponse:
    """What the bulk action would do, before anything is asked."""
    selection = Selection(request, request.GET)
    if selection.empty:
        messages.error(request, "Select rows first, or choose everything the filter matches.")
        return redirect(selection.back())
    try:
        plan = bulk_action_plan(
            organization=request.organization,
            action=selection.action,
            resources=selection.resources(),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect(selection.back())
    if not plan.rows:
        messages.error(request, "Nothing to act on: no resource matches.")
        return redirect(selection.back())
    return render(request, "inventory/bulk_action_confirm.html", {
        "plan": plan, "selection": selection,
        "action_label": dict(ActionRun.Action.choices).get(plan.action, plan.action),
    })  # fmt: skip


@org_view(ACTION_ROLE)
@require_POST
def bulk_action_create(request: OrgRequest) -> HttpResponse:
    selection = Selection(request, request.POST)
    if selection.empty:
        messages.error(request, "Select rows first, or choose everything the filter matches.")
        return redirect(selection.back())
    try:
        bulk = start_bulk_action(
            organization=request.organization, user=request.user, action=selection.action,
            resources=selection.resources(), selection=selection.words(),
            ip=client_ip(request),
        )  # fmt: skip
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect(selection.back())
    return redirect("inventory:bulk_action_detail", pk=bulk.pk)


def _progress_context(request: OrgRequest, bulk: BulkAction) -> dict[str, Any]:
    return {
        "bulk": bulk,
        "figures": bulk_action_figures(bulk=bulk),
        "failures": bulk_action_failures(bulk=bulk),
        "skips": bulk_action_skips(bulk=bulk),
        "may_act": request.role.allows(ACTION_ROLE),
    }


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def bulk_action_detail(request: OrgRequest, pk: int) -> HttpResponse:
    """The bulk action's figures, failures and skips; HTMX polls the progress part until it
    is final (HTTP 286 stops the polling)."""
    bulk = get_for_org(
        BulkAction.objects.select_related("requested_by", "cancelled_by"), request, pk=pk
    )
    context = _progress_context(request, bulk)
    if request.htmx and not request.htmx.boosted:
        response = render(request, "inventory/bulk_action_detail.html#progress", context)
        return HttpResponseStopPolling(response.content) if bulk.is_final else response
    return render(request, "inventory/bulk_action_detail.html", context)


@org_view(ACTION_ROLE)
@require_POST
def bulk_action_cancel_view(request: OrgRequest, pk: int) -> HttpResponse:
    bulk = get_for_org(BulkAction.objects.select_related("organization"), request, pk=pk)
    try:
        cancelled = bulk_action_cancel(bulk=bulk, user=request.user, ip=client_ip(request))
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.info(request, f"Cancelled {cancelled} run{'s' if cancelled != 1 else ''} "
                               "not yet started; those under way finish.")  # fmt: skip
    return redirect("inventory:bulk_action_detail", pk=bulk.pk)
