"""The inventory: one list of every resource with filters in the URL, the VM list, the CSV
export, saved views and the resource page."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import batched

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.attachment_graph import attachment_graph
from inventory.attachments import resource_attachments
from inventory.extensions import RESOURCE_PANELS
from inventory.filters import ResourceFilterForm, SavedViewForm, filter_chips
from inventory.managed import managed_by
from inventory.models import ActionRun, Resource, SavedView
from inventory.selectors import (
    account_choices,
    region_choices,
    resource_events,
    resource_summary,
    saved_view_list,
)
from inventory.selectors import resource_list as resource_list_selector
from inventory.services import saved_views
from inventory.services.actions import ACTION_ROLE
from inventory.services.saved_views import SavedViewExists, saved_view_save
from inventory.views.actions import resource_actions_context
from mcloud.errors import ActionRefused
from mcloud.exports import csv_lines

LIST_FIELDS = ("id", "name", "resource_id", "type", "provider", "region", "status", "first_seen",
               "last_seen", "deleted_at", "deployment_ref", "tags", "account__name",
               "monthly_cost", "cost_currency", "cost_basis")  # fmt: skip
FILTER_KEYS = ("q", "provider", "account", "region", "type", "status", "tag", "managed",
               "attached_to", "unattached", "include_deleted", "sort", "per_page")  # fmt: skip
ACTIVE_KEYS = FILTER_KEYS[:-2]  # what the phone's "Filters (n)" button counts: not sort, size
VM_HIDDEN_FILTERS = (
    "account",
    "type",
    "tag",
    "managed",
    "attached_to",
)  # not on the VM list's form
CARD_SORTS = (("name", "name"), ("status", "status"), ("region", "region"),
              ("last_seen", "last seen"))  # fmt: skip  # the phone's cards have no headers
CSV_COLUMNS = ("provider", "account", "type", "name", "resource_id", "region", "status",
               "tags", "first_seen", "last_seen", "deleted_at", "managed_by",
               "cost_per_month", "cost_currency", "cost_basis")  # fmt: skip


def _form(request: OrgRequest, data: dict | None = None) -> ResourceFilterForm:
    return ResourceFilterForm(
        request.GET if data is None else data,
        accounts=account_choices(organization=request.organization),
        regions=region_choices(organization=request.organization),
        organization=request.organization,
    )


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def resource_list(request: OrgRequest) -> HttpResponse:
    """Every resource, filtered, sorted and paged; HTMX gets the results only."""
    return _render_list(request, vm_only=False)


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def vm_list(request: OrgRequest) -> HttpResponse:
    """The virtual machines, with the provider, region and status filters."""
    return _render_list(request, vm_only=True)


def _render_list(request: OrgRequest, *, vm_only: bool) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("per_page", "50")
    if vm_only:
        data["type"] = "vm"
    form = _form(request, data)
    rows = _rows(request, form)
    paginator = Paginator(rows, form.page_size())
    summary = resource_summary(organization=request.organization, filters=form.filters(), rows=rows)
    paginator.count = summary.count  # counted with the totals: no COUNT query of its own
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = with_managed_by(request, list(page.object_list))
    # A refused filter value is left out and said beside its field (none on the VM list's
    # form for the fields it does not have); the sort's message goes above the table.
    shown = {
        name: message
        for name, message in form.messages()
        if not (vm_only and name in VM_HIDDEN_FILTERS)
    }
    sort_message = shown.pop("sort", "")
    context = {
        "form": form,
        "page": page,
        "vm_only": vm_only,
        "saved_views": saved_view_list(organization=request.organization, user=request.user),
        "query": _query(request.GET),
        "filter_messages": shown,
        "filter_fields": [(form[name], message) for name, message in shown.items()],
        "sort_message": sort_message,
        "ignored": sum(1 for message in [*shown.values(), sort_message] if message),
        "active_filters": sum(1 for key in ACTIVE_KEYS if request.GET.get(key)),
        "chips": filter_chips(form, request.GET, hidden=("type",) if vm_only else ()),
        "clear_query": _query(request.GET, keys=("sort", "per_page")),
        "may_act": request.role.allows(ACTION_ROLE),
        "action_choices": ActionRun.VM_CHOICES,
        "card_sorts": CARD_SORTS,
        "cost_totals": summary.totals,
    }
    template = "inventory/resource_list.html"
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template += "#results"
        context["oob"] = True  # the messages beside the filters are swapped in too
    return render(request, template, context)


def with_managed_by(request: OrgRequest, rows: list[Resource]) -> list[Resource]:
    """`rows`, each with `managed_by`: the deployments whose state holds it (one query)."""
    owners = managed_by(
        organization_id=request.organization.pk, resource_ids=[r.resource_id for r in rows]
    )
    for r in rows:
        r.managed_by = owners.get(r.resource_id.lower(), [])  # type: ignore[attr-defined]
    return rows


def _rows(request: OrgRequest, form: ResourceFilterForm) -> QuerySet[Resource]:
    return (
        resource_list_selector(organization=request.organization, filters=form.filters())
        .select_related("account")
        .only(*LIST_FIELDS)
    )


def _query(params: QueryDict, *, keys: tuple[str, ...] = FILTER_KEYS) -> str:
    """The filter part of a query string (known filters only, no page), for saved views and
    the export link; with `keys`, only those (what "Clear all" keeps: sort and page size)."""
    clean = QueryDict(mutable=True)
    for key in keys:
        for value in params.getlist(key):
            if value:
                clean.appendlist(key, value[:200])
    return clean.urlencode()


@org_view(Role.VIEWER)
def resource_export(request: OrgRequest) -> StreamingHttpResponse:
    """Exactly what the current filter matches, as CSV, streamed in chunks."""
    rows = _rows(request, _form(request))

    def cells() -> Iterator[tuple[object, ...]]:
        for chunk in batched(rows.iterator(chunk_size=2000), 2000):
            yield from chunk_cells(with_managed_by(request, list(chunk)))

    def chunk_cells(chunk: list[Resource]) -> Iterator[tuple[object, ...]]:
        for r in chunk:
            tags = ";".join(f"{k}={v}" for k, v in sorted(r.tags.items()))
            yield (r.provider, r.account.name, r.type, r.name, r.resource_id, r.region, r.status,
                   tags, r.first_seen.isoformat() if r.first_seen else "",
                   r.last_seen.isoformat(), r.deleted_at.isoformat() if r.deleted_at else "",
                   " ".join(d.name for d in r.managed_by),  # type: ignore[attr-defined]
                   r.monthly_cost if r.cost_basis else "", r.cost_currency,
                   r.cost_basis)  # fmt: skip

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        csv_lines(CSV_COLUMNS, cells()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="mcloud-inventory-{stamp}.csv"'
    return response


@org_view(Role.VIEWER)
def resource_detail(request: OrgRequest, pk: int) -> HttpResponse:
    resource = get_for_org(Resource.objects.select_related("account"), request, pk=pk)
    with_managed_by(request, [resource])
    attachments = resource_attachments(resource=resource)
    panels = []
    for panel in RESOURCE_PANELS.values():
        context = panel.context(request, resource)
        if context is not None:
            panels.append((panel.template, context))
    return render(request, "inventory/resource_detail.html", {
        "resource": resource, "events": resource_events(resource=resource), "panels": panels,
        "metadata": sorted(resource.metadata.items()), "tags": sorted(resource.tags.items()),
        "attachments": attachments, "graph": attachment_graph(resource, attachments),
        **resource_actions_context(request, resource),
    })  # fmt: skip


@org_view(Role.VIEWER)
@require_POST
@vary_on_headers("HX-Request")
def saved_view_create(request: OrgRequest) -> HttpResponse:
    """Save the current filters under a name. HTMX gets the popover's form back with what is
    wrong, or asking before an existing view is replaced; the filters are never lost."""
    form = SavedViewForm(request.POST)
    query = _query(QueryDict(request.POST.get("query", "")[:2000]))
    back = (
        f"{reverse('inventory:resource_list')}?{query}"
        if query
        else reverse("inventory:resource_list")
    )
    problem = ""
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            saved_view_save(
                organization=request.organization,
                owner=request.user,
                name=name,
                query=query,
                shared=form.cleaned_data["shared"] and request.role.allows(Role.MEMBER),
                replace=form.cleaned_data["replace"],
            )
        except SavedViewExists as exists:
            problem = exists.message
        else:
            messages.success(request, f"Saved the view {name!r}.")
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = back
                return response
            return redirect(back)
    else:
        problem = " ".join(str(e) for e in form.errors.get("name", [])) or "Give the view a name."
    if not request.htmx:
        messages.error(request, problem)
        return redirect(back)
    return render(request, "inventory/htmx/save_view_form.html", {
        "name": request.POST.get("name", ""), "shared": bool(request.POST.get("shared")),
        "problem": problem, "exists": form.is_valid(),
    })  # fmt: skip


@org_view(Role.VIEWER)
@require_POST
def saved_view_delete(request: OrgRequest, pk: int) -> HttpResponse:
    view = get_for_org(SavedView, request, pk=pk)
    try:
        saved_views.saved_view_delete(
            view=view, user=request.user, may_manage_shared=request.role.allows(Role.ADMIN)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Deleted the view {view.name!r}.")
    return redirect("inventory:resource_list")
