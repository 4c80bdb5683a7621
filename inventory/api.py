"""API: cloud accounts (secrets write-only), syncs, and the inventory with the same filters,
sorting and pages as the HTML list. Same forms, services and role checks as the pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django import forms
from django.core.paginator import Paginator
from django.http import QueryDict
from ninja import Field, Query, Router, Schema, Status

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import ApiRequest, get_for_org
from inventory.attachments import resource_attachments
from inventory.filters import MAX_PK, ResourceFilterForm
from inventory.forms.cloud_account import CloudAccountForm
from inventory.managed import ManagedBy, managed_by
from inventory.models import ActionRun, CloudAccount, Resource, SyncRun
from inventory.providers import AccountProvider, account_provider
from inventory.selectors import (
    account_choices,
    cloud_account_list,
    region_choices,
    resource_events,
    resource_summary,
)
from inventory.selectors import resource_list as resource_list_selector
from inventory.services import accounts as services
from inventory.services.actions import ACTION_ROLE, resource_action_request
from inventory.services.cleanups import CLEANUP_ROLE, action_run_approve, action_run_reject
from inventory.services.health import connection_check
from inventory.services.sync import sync_run_request
from mcloud.api.errors import InvalidInput, responses
from mcloud.api.security import role_auth
from mcloud.clouds.registry import UnknownProvider
from mcloud.errors import ActionRefused

router = Router(tags=["inventory"])


# --- schemas ------------------------------------------------------------------------------
class HealthOut(Schema):
    status: str
    response_ms: int | None
    message: str
    checked_at: datetime


class CloudAccountOut(Schema):
    id: int
    name: str
    provider: str
    enabled: bool
    paused: bool
    pause_reason: str
    sync_interval_minutes: int
    last_synced_at: datetime | None
    config: dict[str, Any]
    secrets_set: list[str] = Field(description="Names of the stored secrets; never values.")
    health: HealthOut | None
    parent_id: int | None = Field(
        None, description="For a member account: the connection that discovered it."
    )
    member_id: str = Field("", description="For a member account: the provider's id of it.")
    member_path: str = ""
    retired_at: datetime | None = Field(None, description="When it left the organization.")


class CloudAccountIn(Schema):
    provider: str = Field(
        description="The provider's key: aws, azure, gcp, or another this install registers."
    )
    name: str
    enabled: bool = True
    sync_interval_minutes: int | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The provider's fields, as on the form: auth_method, role_arn, "
        "access_key_id, secret_access_key, session_token, regions (list), export_bucket, "
        "export_prefix, export_name (its CUR 2.0 data export) for AWS; tenant_id, "
        "client_id, client_secret, subscription_ids (list) for Azure; service_account_key "
        "(the JSON key), project_ids (list), billing_table for GCP. Secrets are write-only.",
    )


class CloudAccountPatch(Schema):
    name: str | None = None
    enabled: bool | None = None
    sync_interval_minutes: int | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class SyncRunOut(Schema):
    id: int
    account_id: int
    status: str
    trigger: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    scopes_total: int
    scopes_done: int
    created: int
    updated: int
    unchanged: int
    removed: int
    scope_errors: dict[str, str]
    error: str
    skipped: int = Field(description="Listed items that could not become a resource.")
    merged: int = Field(description="Extra listings of an id already listed, merged.")
    notes: list[str] = Field(
        description="What the run skipped, merged and retired, in words, with the provider's "
        'ids: "1 item skipped: no id (...)", "region ap-east-1 no longer enabled: 12 '
        'resources removed".'
    )
    worker_lost: bool = Field(
        description="Running, but its worker is gone (its lease expired): the run is failed at "
        "the next request for a sync, and that request starts a new one."
    )


class ManagedByOut(Schema):
    name: str
    url: str


class AttachmentOut(Schema):
    provider_id: str
    resource: int | None = Field(description="The inventory's resource, when one has that id")


class ResourceOut(Schema):
    id: int
    resource_id: str
    name: str
    type: str
    provider: str
    account_id: int
    region: str
    status: str
    tags: dict[str, Any]
    managed: bool = Field(description="In the current Terraform state of a deployment")
    managed_by: list[ManagedByOut]
    deployment_ref: str = Field(description="The mcloud-deployment tag: a hint, never proof")
    first_seen: datetime
    last_seen: datetime
    deleted_at: datetime | None
    cost_per_month: Decimal | None = Field(
        description="Billed over the last 30 days, or an estimate from list prices (see "
        "cost_basis); null when neither is known"
    )
    cost_currency: str
    cost_basis: Literal["billed", "estimate", ""]


class CostTotalOut(Schema):
    currency: str
    amount: Decimal
    estimated: bool = Field(description="List-price estimates are part of it")


class EventOut(Schema):
    kind: str
    old_status: str
    new_status: str
    occurred_at: datetime


class ResourceDetailOut(ResourceOut):
    scope: str
    created_at: datetime | None
    metadata: dict[str, Any]
    events: list[EventOut]
    attached_to: list[AttachmentOut]
    attached_here: list[int] = Field(description="Live resources attached to this one")


class ActionRunOut(Schema):
    id: int
    resource_id: int = Field(description="The resource's id in mcloud.")
    action: str = Field(description="start, stop or reboot; delete or release (clean-ups)")
    status: str = Field(
        description="awaiting (a clean-up waiting for another admin's approval), queued, "
        "running, succeeded, noop (nothing to do), failed, rejected"
    )
    message: str = Field(description="The provider's answer, in words.")
    error: str
    code: str = Field(description="The provider's error code, when it refused.")
    status_before: str
    status_after: str = Field(description="The resource's status after the re-sync.")
    requested_by: str | None = Field(None, description="Who asked (their email).")
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_requested_by(run: ActionRun) -> str | None:
        return run.requested_by.email if run.requested_by else None


class ResourcePage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    cost_per_month: list[CostTotalOut] = Field(
        description="What every resource the filter matches costs a month, per currency"
    )
    results: list[ResourceOut]


_ANY_OF = "Repeat the parameter to match any of several values"


class ResourceQuery(Schema):
    q: str = ""
    provider: list[str] = Field(default_factory=list, description=_ANY_OF)
    account: list[int] = Field(default_factory=list, description=_ANY_OF)
    region: list[str] = Field(default_factory=list, description=_ANY_OF)
    type: list[str] = Field(default_factory=list, description=f"{_ANY_OF}: ?type=vm&type=disk")
    status: list[str] = Field(default_factory=list, description=_ANY_OF)
    tag: str = Field("", description="key, or key=value")
    managed: Literal["", "managed", "unmanaged"] = ""
    attached_to: int | None = Field(
        None, ge=1, le=MAX_PK, description="Resources attached to this one, either way"
    )
    unattached: bool = Field(False, description="Disks and IP addresses that nothing uses")
    include_deleted: bool = False
    sort: str = Field(
        "name",
        description="name, type, provider, region, status, last_seen, cost (cost / month); "
        "a leading - reverses",
    )
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


# --- converters ---------------------------------------------------------------------------
def account_out(account: CloudAccount) -> dict[str, Any]:
    health = account.latest_health
    return {
        "id": account.pk,
        "name": account.name,
        "provider": account.provider,
        "enabled": account.enabled,
        "paused": account.is_paused,
        "pause_reason": account.pause_reason,
        "sync_interval_minutes": account.sync_interval_minutes,
        "last_synced_at": account.last_synced_at,
        "config": account.config,
        "secrets_set": sorted(k for k, v in account.secrets.items() if v),
        "parent_id": account.parent_id,
        "member_id": account.member_id,
        "member_path": account.member_path,
        "retired_at": account.retired_at,
        "health": None
        if health is None
        else {
            "status": health.status,
            "response_ms": health.response_ms,
            "message": health.message,
            "checked_at": health.checked_at,
        },
    }


def resource_out(r: Resource, owners: dict[str, list[ManagedBy]]) -> dict[str, Any]:
    managers = owners.get(r.resource_id.lower(), [])
    return {
        "id": r.pk,
        "resource_id": r.resource_id,
        "name": r.name,
        "type": r.type,
        "provider": r.provider,
        "account_id": r.account_id,
        "region": r.region,
        "status": r.status,
        "tags": r.tags,
        "managed": bool(managers),
        "managed_by": [{"name": m.name, "url": m.url} for m in managers],
        "deployment_ref": r.deployment_ref,
        "first_seen": r.first_seen,
        "last_seen": r.last_seen,
        "deleted_at": r.deleted_at,
        "cost_per_month": r.monthly_cost if r.cost_basis else None,
        "cost_currency": r.cost_currency,
        "cost_basis": r.cost_basis,
    }


def _provider(key: str) -> AccountProvider:
    try:
        return account_provider(key)
    except UnknownProvider as unknown:
        raise InvalidInput({"provider": [str(unknown)]}) from None


def _form_data(
    provider: AccountProvider, settings: dict[str, Any], base: dict[str, Any]
) -> QueryDict:
    """API input as the HTML form would post it, so the same validation applies."""
    data = QueryDict(mutable=True)
    fields = provider.form.base_fields
    for key, value in provider.form.from_api({**base, **settings}).items():
        if value is None or value is False:
            continue
        if isinstance(value, list) and isinstance(fields.get(key), forms.MultipleChoiceField):
            data.setlist(key, [str(v) for v in value])
            continue
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        data[key] = "on" if value is True else str(value)
    return data


def _validated(
    request: ApiRequest,
    provider: AccountProvider,
    data: QueryDict,
    account: CloudAccount | None = None,
) -> CloudAccountForm:
    form = provider.account_form(data, account=account, organization=request.organization)
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    return form


# --- cloud accounts -----------------------------------------------------------------------
@router.get("/cloud-accounts", response=responses(list[CloudAccountOut]))
def cloud_accounts(request: ApiRequest) -> list[dict]:
    rows = cloud_account_list(organization=request.organization).defer(None)
    return [account_out(a) for a in rows]


@router.post(
    "/cloud-accounts", response=responses({201: CloudAccountOut}), auth=role_auth(Role.ADMIN)
)
def cloud_account_create(request: ApiRequest, body: CloudAccountIn) -> Status:
    base = {
        "name": body.name,
        "enabled": body.enabled,
        "sync_interval_minutes": body.sync_interval_minutes,
    }
    provider = _provider(body.provider)
    form = _validated(request, provider, _form_data(provider, body.settings, base))
    account = services.cloud_account_create(
        organization=request.organization,
        provider=body.provider,
        **form.account_values(),
        user=request.user,
        ip=client_ip(request),
    )
    return Status(201, account_out(account))


@router.get("/cloud-accounts/{account_id}", response=responses(CloudAccountOut))
def cloud_account_detail(request: ApiRequest, account_id: int) -> dict:
    return account_out(
        get_for_org(CloudAccount.objects.select_related("latest_health"), request, pk=account_id)
    )


@router.patch(
    "/cloud-accounts/{account_id}", response=responses(CloudAccountOut), auth=role_auth(Role.ADMIN)
)
def cloud_account_update(request: ApiRequest, account_id: int, body: CloudAccountPatch) -> dict:
    account = get_for_org(CloudAccount, request, pk=account_id)
    only_enabled = body.enabled is not None and body.model_dump(exclude_unset=True).keys() == {
        "enabled"
    }
    if account.is_member:  # it may be included or excluded, nothing else
        if not only_enabled:
            raise services.member_refusal(account, "edited")
        services.cloud_account_set_enabled(
            account=account, enabled=bool(body.enabled), user=request.user, ip=client_ip(request)
        )
        return account_out(account)
    provider = account_provider(account.provider)
    current = provider.account_form(account=account, organization=request.organization).initial
    base = {
        **current,
        "name": body.name or account.name,
        "enabled": account.enabled if body.enabled is None else body.enabled,
        "sync_interval_minutes": body.sync_interval_minutes or account.sync_interval_minutes,
    }
    form = _validated(request, provider, _form_data(provider, body.settings, base), account)
    services.cloud_account_update(
        account=account,
        **form.account_values(),
        user=request.user,
        ip=client_ip(request),
    )
    return account_out(account)


@router.delete(
    "/cloud-accounts/{account_id}", response=responses({204: None}), auth=role_auth(Role.ADMIN)
)
def cloud_account_delete(request: ApiRequest, account_id: int) -> Status:
    services.cloud_account_delete(
        account=get_for_org(CloudAccount, request, pk=account_id),
        user=request.user,
        ip=client_ip(request),
    )
    return Status(204, None)


@router.post(
    "/cloud-accounts/{account_id}/test", response=responses(HealthOut), auth=role_auth(Role.ADMIN)
)
def cloud_account_test(request: ApiRequest, account_id: int) -> Any:
    return connection_check(
        account=get_for_org(CloudAccount, request, pk=account_id),
        user=request.user,
        ip=client_ip(request),
    )


# --- syncs --------------------------------------------------------------------------------
def _queue(request: ApiRequest, account: CloudAccount) -> SyncRun:
    run, _ = sync_run_request(
        account=account, trigger=SyncRun.Trigger.MANUAL, requested_by=request.user
    )
    return run


@router.post(
    "/sync",
    response=responses({202: list[SyncRunOut]}),
    summary="Sync every active account",
    auth=role_auth(Role.MEMBER),
)
def sync_all(request: ApiRequest) -> Status:
    accounts = CloudAccount.objects.active().filter(organization=request.organization)
    return Status(202, [_queue(request, account) for account in accounts])


@router.post(
    "/cloud-accounts/{account_id}/sync",
    response=responses({202: SyncRunOut}),
    auth=role_auth(Role.MEMBER),
)
def sync_account(request: ApiRequest, account_id: int) -> Status:
    account = get_for_org(CloudAccount, request, pk=account_id)
    if not account.is_active:
        raise ActionRefused(f"{account.name} is disabled or paused.")
    return Status(202, _queue(request, account))


@router.get("/sync-runs/{run_id}", response=responses(SyncRunOut))
def sync_run(request: ApiRequest, run_id: int) -> SyncRun:
    return get_for_org(SyncRun, request, pk=run_id)


# --- inventory ----------------------------------------------------------------------------
def _resource_page(request: ApiRequest, query: ResourceQuery, *, vm_only: bool) -> dict:
    data = QueryDict(mutable=True)
    for key, value in query.dict().items():
        if isinstance(value, list):
            data.setlist(key, [str(v) for v in value])
        elif value not in ("", None, False) and key not in ("page", "per_page"):
            data[key] = "on" if value is True else str(value)
    if vm_only:
        data["type"] = "vm"
    form = ResourceFilterForm(
        data,
        accounts=account_choices(organization=request.organization),
        regions=region_choices(organization=request.organization),
        organization=request.organization,
    )
    if not form.is_valid():  # the page shows the same messages beside the fields
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    filters = form.filters()
    rows = resource_list_selector(organization=request.organization, filters=filters)
    paginator = Paginator(rows, query.per_page)
    summary = resource_summary(organization=request.organization, filters=filters, rows=rows)
    paginator.count = summary.count
    page = paginator.get_page(query.page)
    shown = list(page)
    owners = managed_by(
        organization_id=request.organization.pk, resource_ids=[r.resource_id for r in shown]
    )
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "per_page": query.per_page,
        "cost_per_month": [vars(t) for t in summary.totals],
        "results": [resource_out(r, owners) for r in shown],
    }


@router.get("/resources", response=responses(ResourcePage))
def resources(request: ApiRequest, query: Query[ResourceQuery]) -> dict:
    return _resource_page(request, query, vm_only=False)


@router.get("/vms", response=responses(ResourcePage), summary="The virtual machines")
def vms(request: ApiRequest, query: Query[ResourceQuery]) -> dict:
    return _resource_page(request, query, vm_only=True)


@router.get("/resources/{resource_pk}", response=responses(ResourceDetailOut))
def resource_detail(request: ApiRequest, resource_pk: int) -> dict:
    resource = get_for_org(Resource, request, pk=resource_pk)
    events = [
        {
            "kind": e.kind,
            "old_status": e.old_status,
            "new_status": e.new_status,
            "occurred_at": e.occurred_at,
        }
        for e in resource_events(resource=resource)
    ]
    owners = managed_by(
        organization_id=request.organization.pk, resource_ids=[resource.resource_id]
    )
    attachments = resource_attachments(resource=resource)
    return {
        **resource_out(resource, owners),
        "scope": resource.scope,
        "created_at": resource.created_at,
        "metadata": resource.metadata,
        "events": events,
        "attached_to": [
            {"provider_id": a.target_id, "resource": a.resource.pk if a.resource else None}
            for a in attachments.attached_to
        ],
        "attached_here": [r.pk for r in attachments.attached_here],
    }


# --- actions ------------------------------------------------------------------------------
@router.post(
    "/resources/{resource_pk}/actions/{action}",
    response=responses({202: ActionRunOut}),
    summary="Start, stop or reboot a VM; delete or release a waste resource",
    description="`action` is start, stop or reboot (a VM; Member role), or a clean-up: "
    "delete (an unattached disk, an old snapshot) or release (an unassociated IP address), "
    "which needs the Admin role. "
    "Queues the action and answers at once with its run (202); poll "
    "`/action-runs/{id}` for its end. When the organization requires a second approver, a "
    "clean-up's run is `awaiting` until another admin approves it "
    "(`/action-runs/{id}/approve`). Asked again while a run of the resource is awaiting, "
    "queued or running, it answers that run. Refused (409) for anything but a live resource "
    "of an active account that the action applies to, or one a deployment manages.",
    auth=role_auth(ACTION_ROLE),
)
def resource_action(request: ApiRequest, resource_pk: int, action: str) -> Status:
    # `action` is checked by the service (409 for another word), after the resource's lookup:
    # another organization's resource is a 404 whatever the word.
    resource = get_for_org(Resource.objects.select_related("account"), request, pk=resource_pk)
    run, _ = resource_action_request(
        resource=resource, action=action, user=request.user, ip=client_ip(request)
    )
    return Status(202, run)


@router.get("/action-runs/{run_id}", response=responses(ActionRunOut))
def action_run(request: ApiRequest, run_id: int) -> ActionRun:
    return get_for_org(ActionRun.objects.select_related("requested_by"), request, pk=run_id)


class RejectIn(Schema):
    reason: str = Field("", max_length=300)


@router.post(
    "/action-runs/{run_id}/approve",
    response=responses({202: ActionRunOut}),
    summary="Approve a clean-up awaiting a second admin",
    description="Queues the run (202). Refused (409) unless it is awaiting approval, and for "
    "the admin who asked for it.",
    auth=role_auth(CLEANUP_ROLE),
)
def action_run_approve_api(request: ApiRequest, run_id: int) -> Status:
    run = get_for_org(ActionRun.objects.select_related("resource"), request, pk=run_id)
    return Status(202, action_run_approve(run=run, user=request.user, ip=client_ip(request)))


@router.post(
    "/action-runs/{run_id}/reject",
    response=responses(ActionRunOut),
    summary="Reject a clean-up awaiting a second admin",
    description="Ends the run with nothing sent. Refused (409) unless it is awaiting "
    "approval, and for the admin who asked for it.",
    auth=role_auth(CLEANUP_ROLE),
)
def action_run_reject_api(request: ApiRequest, run_id: int, body: RejectIn) -> ActionRun:
    run = get_for_org(ActionRun.objects.select_related("resource"), request, pk=run_id)
    return action_run_reject(run=run, user=request.user, reason=body.reason, ip=client_ip(request))
