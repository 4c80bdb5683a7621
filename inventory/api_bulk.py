"""API: bulk actions (start, stop or reboot many VMs at once), by ids or by the inventory's
filters, through the same service as the inventory's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import QueryDict
from ninja import Field, Router, Schema, Status

from accounts.audit import client_ip
from accounts.tenancy import ApiRequest, get_for_org
from inventory.filters import MAX_PK, ResourceFilterForm
from inventory.models import BulkAction, Resource
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
    start_bulk_action,
)
from mcloud.api.errors import InvalidInput, responses
from mcloud.api.security import role_auth

router = Router(tags=["inventory"])
_ANY_OF = "Repeat the value to match any of several"


class BulkFilter(Schema):
    """The inventory's filters, as `GET /resources` takes them."""

    q: str = ""
    provider: list[str] = Field(default_factory=list, description=_ANY_OF)
    account: list[int] = Field(default_factory=list, description=_ANY_OF)
    region: list[str] = Field(default_factory=list, description=_ANY_OF)
    type: list[str] = Field(default_factory=list, description=_ANY_OF)
    status: list[str] = Field(default_factory=list, description=_ANY_OF)
    tag: str = Field("", description="key, or key=value")
    managed: Literal["", "managed", "unmanaged"] = ""
    attached_to: int | None = Field(None, ge=1, le=MAX_PK)
    unattached: bool = False
    include_deleted: bool = False


class BulkActionIn(Schema):
    action: Literal["start", "stop", "reboot"]
    ids: list[Annotated[int, Field(ge=1, le=MAX_PK)]] | None = Field(
        None, description="The resources' ids in mcloud; or give `filter`."
    )
    filter: BulkFilter | None = Field(
        None, description="Everything these filters match (the VMs among it are acted on)."
    )


class BulkFailureOut(Schema):
    run_id: int
    resource_id: int = Field(description="The resource's id in mcloud.")
    name: str
    error: str
    code: str = Field(description="The provider's error code; NotFound: the resource is gone.")


class BulkReasonOut(Schema):
    reason: str
    count: int


class BulkActionOut(Schema):
    id: int
    action: str = Field(description="start, stop or reboot")
    status: str = Field(
        description="running, settling (refreshing the inventory), finished or cancelled"
    )
    source: str = Field(description="manual (the inventory's pages), api or schedule")
    selection: str
    requested_by: str | None = Field(None, description="Who asked (their email).")
    queued_at: datetime
    finished_at: datetime | None
    cancelled_at: datetime | None
    total: int
    queued: int
    running: int
    done: int = Field(description="Acted on.")
    skipped: int = Field(description="Needing nothing, or not to be acted on: see `skips`.")
    failed: int
    gone: int = Field(description="Of the failed: the resource no longer exists.")
    cancelled: int
    failures: list[BulkFailureOut] = Field(description="The first 200 failures.")
    skips: list[BulkReasonOut] = Field(description="Why runs were skipped, most common first.")


def bulk_out(bulk: BulkAction) -> dict[str, Any]:
    figures = bulk_action_figures(bulk=bulk)
    return {
        "id": bulk.pk, "action": bulk.action, "status": bulk.status, "source": bulk.source,
        "selection": bulk.selection, "queued_at": bulk.queued_at,
        "requested_by": bulk.requested_by.email if bulk.requested_by else None,
        "finished_at": bulk.finished_at, "cancelled_at": bulk.cancelled_at,
        **figures.as_dict(),
        "failures": [
            {"run_id": run.pk, "resource_id": run.resource_id, "name": run.resource.name,
             "error": run.error, "code": run.code}
            for run in bulk_action_failures(bulk=bulk)
        ],
        "skips": [{"reason": r, "count": n} for r, n in bulk_action_skips(bulk=bulk)],
    }  # fmt: skip


def _filtered(request: ApiRequest, body: BulkFilter) -> Any:
    data = QueryDict(mutable=True)
    for key, value in body.dict().items():
        if isinstance(value, list):
            data.setlist(key, [str(v) for v in value])
        elif value not in ("", None, False):
            data[key] = "on" if value is True else str(value)
    form = ResourceFilterForm(
        data,
        accounts=account_choices(organization=request.organization),
        regions=region_choices(organization=request.organization),
        organization=request.organization,
    )
    if not form.is_valid():  # the same messages as GET /resources
        raise InvalidInput({f"filter.{k}": [str(m) for m in v] for k, v in form.errors.items()})
    return resource_list_selector(organization=request.organization, filters=form.filters())


@router.post(
    "/actions/bulk",
    response=responses({202: BulkActionOut}),
    summary="Start, stop or reboot many VMs",
    description="Give `ids` or `filter` (the inventory's filters), not both. Answers at once "
    "(202) with the bulk action: each resource gets a run, queued or skipped with its reason "
    "(not a VM, managed by a deployment, already in that state, an action under way). Poll "
    "`/actions/bulk/{id}` for its progress. Each provider's calls are rate-limited; a failure "
    "does not stop the others.",
    auth=role_auth(ACTION_ROLE),
)
def bulk_action_create(request: ApiRequest, body: BulkActionIn) -> Status:
    if (body.ids is None) == (body.filter is None):
        raise InvalidInput({"ids": ["Give ids or filter, one of them."]})
    if body.ids is not None:
        ids = list(dict.fromkeys(body.ids))
        known = set(
            Resource.objects.filter(organization=request.organization, pk__in=ids).values_list(
                "pk", flat=True
            )
        )
        if missing := [i for i in ids if i not in known][:10]:
            raise InvalidInput({"ids": [f"No resource {i} in this organization." for i in missing]})
        resources: Any = ids
        selection = f"{len(ids)} resources by id"
    else:
        assert body.filter is not None
        resources = _filtered(request, body.filter)
        selection = "everything a filter matched"
    bulk = start_bulk_action(
        organization=request.organization, user=request.user, action=body.action,
        resources=resources, source=BulkAction.Source.API, selection=selection,
        ip=client_ip(request),
    )  # fmt: skip
    return Status(202, bulk_out(bulk))


def _bulk(request: ApiRequest, bulk_id: int) -> BulkAction:
    return get_for_org(
        BulkAction.objects.select_related("requested_by", "organization"), request, pk=bulk_id
    )


@router.get("/actions/bulk/{bulk_id}", response=responses(BulkActionOut))
def bulk_action_detail(request: ApiRequest, bulk_id: int) -> dict[str, Any]:
    return bulk_out(_bulk(request, bulk_id))


@router.post(
    "/actions/bulk/{bulk_id}/cancel",
    response=responses(BulkActionOut),
    summary="Cancel a bulk action's runs that have not started",
    description="Runs already under way finish. Refused (409) once the bulk action is over.",
    auth=role_auth(ACTION_ROLE),
)
def bulk_action_cancel_api(request: ApiRequest, bulk_id: int) -> dict[str, Any]:
    bulk = _bulk(request, bulk_id)
    bulk_action_cancel(bulk=bulk, user=request.user, ip=client_ip(request))
    return bulk_out(bulk)
