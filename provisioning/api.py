"""API: blueprints, deployments and their runs (plan, approve and apply, destroy, discard,
cancel, the log, outputs). The same forms, services and role checks as the pages; sensitive
variables are write-only and sensitive outputs are never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import QueryDict
from ninja import Field, Query, Router, Schema, Status

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import ApiRequest, get_for_org
from mcloud.api.errors import InvalidInput, responses
from mcloud.api.security import role_auth
from mcloud.errors import ActionRefused
from provisioning import selectors
from provisioning.forms import DeploymentForm, variable_as_text
from provisioning.models import BlueprintVersion, Deployment, DeploymentRun
from provisioning.services import policies as policy_services
from provisioning.services import runs as run_services
from provisioning.services.deployments import deployment_create as deployment_create_service
from provisioning.services.deployments import deployment_update as deployment_update_service
from provisioning.services.deployments import state_force_unlock
from provisioning.services.state import lock_description

router = Router(tags=["provisioning"])


# --- schemas ------------------------------------------------------------------------------
class VariableOut(Schema):
    name: str
    type: str
    description: str
    default: Any
    sensitive: bool
    required: bool


class BlueprintOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    bundled: bool
    version: int | None = Field(description="The latest version, which new deployments use.")
    cloud: str = Field(description="aws, azure, gcp, or empty when it needs no account.")
    variables: list[VariableOut]


class RunBrief(Schema):
    id: int
    kind: str
    status: str


class OutputOut(Schema):
    value: Any = Field(description="null when sensitive: sensitive outputs are never returned.")
    sensitive: bool
    type: Any = None


class LockOut(Schema):
    id: str
    who: str = Field(description="Who holds it, as Terraform says (user@host).")
    operation: str = Field(description="What Terraform was doing: Plan, Apply…")
    since: datetime | None
    run_id: int | None = Field(
        description="The run whose Terraform took it; null when it is held by anything else. "
        "A run whose worker died has its lock released when the run is recovered."
    )


class DeploymentOut(Schema):
    id: int
    name: str
    blueprint_id: int
    blueprint: str
    version: int
    account_id: int | None
    status: str
    variables: dict[str, Any] = Field(description="Plain values; sensitive ones are not shown.")
    sensitive_set: list[str] = Field(description="Names of sensitive variables with a value.")
    outputs: dict[str, OutputOut]
    last_run: RunBrief | None
    lock: LockOut | None = Field(description="Terraform's state lock, when it is held.")
    drifted_since: datetime | None = Field(
        description="When its resources were last found changed or deleted outside Terraform "
        "(by a sync or a drift check); null while they match its state."
    )
    created_at: datetime
    updated_at: datetime


class DeploymentIn(Schema):
    name: str
    blueprint_id: int
    account_id: int | None = None
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Values by variable name; lists, maps and objects as JSON values.",
    )


class DeploymentPatch(Schema):
    account_id: int | None = Field(None, description="Omit to keep the current account.")
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Only the values to change; a sensitive variable left out keeps its value.",
    )


class PolicyResultOut(Schema):
    policy_id: int | None = Field(description="null once the policy was deleted.")
    policy: str
    policy_set: str = Field(description="The set it was evaluated in.")
    enforcement: str = Field(description="advisory (shown) or mandatory (blocks approval)")
    status: str = Field(description="passed, failed or error (not evaluated: its limits, say)")
    messages: list[str]


class PolicyOverrideOut(Schema):
    by: str | None
    at: datetime
    reason: str


class CostLineOut(Schema):
    address: str
    type: str
    action: str = Field(description="create, update, replace, delete or no-op")
    before: float | None
    after: float | None
    delta: float | None = Field(description="null when not estimated")
    estimated: bool
    note: str = Field(description="Why it is not estimated (unknown type, billed by usage…).")


class CostEstimateOut(Schema):
    currency: str
    monthly_delta: float = Field(description="What the plan adds to the monthly bill.")
    monthly_total: float = Field(description="What the plan's priced resources cost a month.")
    not_estimated: int
    resources: list[CostLineOut]


class RunOut(Schema):
    id: int
    deployment_id: int
    kind: str = Field(
        description="plan, destroy (a destroy plan), apply or drift (a refresh-only drift check)"
    )
    status: str = Field(
        description="queued, running, planned (awaiting approval), no_changes (nothing to "
        "apply; for a drift check, no drift), approved, applied, failed, cancelled, discarded "
        "or drifted (a drift check that found changes made outside Terraform)"
    )
    comment: str = Field(description="Left by who approved or discarded the plan.")
    plan_run_id: int | None = Field(description="For an apply: the plan it applies.")
    started_by: str | None
    approved_by: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    error: str
    changes: dict[str, Any] = Field(description="The plan's summary: create, update, destroy…")
    outputs: dict[str, OutputOut]
    cancel_requested: bool
    worker_lost: bool = Field(
        description="Running, but its worker is gone (its lease expired): the next request for "
        "work on the deployment marks it failed and releases its state lock."
    )
    policies: list[PolicyResultOut] = Field(
        description="A plan's policy results, evaluated before it awaits approval."
    )
    policy_blocked: bool = Field(
        description="A mandatory policy failed (or errored) and no owner has overridden it: "
        "approving is refused (409)."
    )
    policy_override: PolicyOverrideOut | None
    cost_estimate: CostEstimateOut | None = Field(
        description="A plan's monthly cost estimate from list prices; null without changes."
    )


class LogOut(Schema):
    run_id: int
    status: str
    finished: bool
    offset: int
    next_offset: int = Field(description="Ask again from here for what comes next.")
    text: str


class UnlockOut(Schema):
    released: bool = Field(description="Whether the state was locked (it is not any more).")
    deployment: DeploymentOut


class OverrideIn(Schema):
    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log.")


class ApproveIn(Schema):
    confirm_name: str = Field("", description="A destroy plan: the deployment's name, typed.")
    comment: str = Field("", max_length=500, description="Kept in the run's history.")


# --- converters ---------------------------------------------------------------------------
def blueprint_out(blueprint: Any) -> dict[str, Any]:
    version: BlueprintVersion | None = blueprint.latest_version
    return {
        "id": blueprint.pk,
        "slug": blueprint.slug,
        "name": blueprint.name,
        "description": blueprint.description,
        "bundled": blueprint.is_bundled,
        "version": version.number if version else None,
        "cloud": version.cloud if version else "",
        "variables": [
            {**vars(v), "default": None if v.sensitive else v.default}
            for v in (version.user_variables() if version else [])
        ],
    }


def deployment_out(d: Deployment) -> dict[str, Any]:
    run = d.last_run
    return {
        "id": d.pk,
        "name": d.name,
        "blueprint_id": d.blueprint_version.blueprint_id,
        "blueprint": d.blueprint_version.blueprint.slug,
        "version": d.blueprint_version.number,
        "account_id": d.account_id,
        "status": d.status,
        "variables": d.variables,
        "sensitive_set": sorted(k for k, v in d.sensitive_variables.items() if v is not None),
        "outputs": d.outputs,
        "last_run": {"id": run.pk, "kind": run.kind, "status": run.status} if run else None,
        "lock": lock_description(d),
        "drifted_since": getattr(d, "drifted_since", None),  # deployment_list's annotation
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def run_out(run: DeploymentRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "deployment_id": run.deployment_id,
        "kind": run.kind,
        "status": run.status,
        "plan_run_id": run.plan_run_id,
        "started_by": run.started_by.email if run.started_by else None,
        "approved_by": run.approved_by.email if run.approved_by else None,
        "comment": run.comment,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "exit_code": run.exit_code,
        "error": run.error,
        "changes": run.plan_summary,
        "outputs": run.outputs,
        "cancel_requested": run.cancel_requested,
        "worker_lost": run.worker_lost,
        "cost_estimate": run.cost_estimate,
        **_policies_out(run),
    }


def _policies_out(run: DeploymentRun) -> dict[str, Any]:
    results = list(run.policy_results.all())
    overridden = run.policy_override_at is not None
    override = None
    if run.policy_override_at is not None:
        by = run.policy_override_by
        override = {
            "by": by.email if by else None,
            "at": run.policy_override_at,
            "reason": run.policy_override_reason,
        }
    return {
        "policies": [
            {"policy_id": r.policy_id, "policy": r.policy_name,
             "policy_set": r.policy_set_name, "enforcement": r.enforcement,
             "status": r.status, "messages": r.messages}
            for r in results
        ],
        "policy_blocked": not overridden and any(r.blocks for r in results),
        "policy_override": override,
    }  # fmt: skip


def _deployment(request: ApiRequest, deployment_id: int) -> Deployment:
    rows = selectors.deployment_list(organization=request.organization)
    return get_for_org(rows, request, pk=deployment_id)


def _run(request: ApiRequest, run_id: int) -> DeploymentRun:
    rows = (
        DeploymentRun.objects.select_related(
            "started_by", "approved_by", "deployment", "policy_override_by"
        )
        .prefetch_related("policy_results")
        .defer(
            "log", "plan_file", "plan_json", "deployment__sensitive_variables",
            "deployment__outputs",
        )
    )  # fmt: skip
    return get_for_org(rows, request, pk=run_id)


def _blueprint(request: ApiRequest, blueprint_id: int) -> Any:
    rows = selectors.blueprint_list(organization=request.organization)
    blueprint = rows.filter(pk=blueprint_id).first()
    if blueprint is None:
        raise InvalidInput({"blueprint_id": ["No such blueprint in this organization."]})
    if blueprint.latest_version is None:
        raise ActionRefused(f"{blueprint.name} has no version to deploy.")
    return blueprint


def _form(
    request: ApiRequest,
    version: BlueprintVersion,
    fields: dict[str, Any],
    variables: dict[str, Any],
    deployment: Deployment | None = None,
) -> DeploymentForm:
    """The page's form, filled from JSON, so the same validation applies."""
    known = {v.name: v for v in version.user_variables()}
    unknown = sorted(set(variables) - set(known))
    if unknown:
        raise InvalidInput({"variables": [f"Unknown variables: {', '.join(unknown)}."]})
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        if value is not None:
            data[key] = str(value)
    for name, var in known.items():
        if name in variables:
            value = variables[name]
        elif deployment is None:
            value = var.default
        elif not var.sensitive:  # unchanged (a sensitive one left blank keeps its value)
            value = deployment.variables.get(name, var.default)
        else:
            continue
        data[f"var_{name}"] = variable_as_text(value, var)
    form = DeploymentForm(
        data, version=version, organization=request.organization, deployment=deployment
    )
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    return form


# --- blueprints and deployments -----------------------------------------------------------
@router.get("/blueprints", response=responses(list[BlueprintOut]))
def blueprints(request: ApiRequest) -> list[dict]:
    rows = selectors.blueprint_list(organization=request.organization)
    return [blueprint_out(b) for b in rows]


@router.get("/deployments", response=responses(list[DeploymentOut]))
def deployments(request: ApiRequest) -> list[dict]:
    return [deployment_out(d) for d in selectors.deployment_list(organization=request.organization)]


@router.post("/deployments", response=responses({201: DeploymentOut}), auth=role_auth(Role.MEMBER))
def deployment_create(request: ApiRequest, body: DeploymentIn) -> Status:
    blueprint = _blueprint(request, body.blueprint_id)
    version = blueprint.latest_version
    form = _form(request, version, {"name": body.name, "account": body.account_id}, body.variables)
    deployment = deployment_create_service(
        organization=request.organization,
        name=form.cleaned_data["name"],
        version=version,
        account=form.cleaned_data["account"],
        values=form.values,
        user=request.user,
        ip=client_ip(request),
    )
    return Status(201, deployment_out(_deployment(request, deployment.pk)))


@router.get("/deployments/{deployment_id}", response=responses(DeploymentOut))
def deployment_detail(request: ApiRequest, deployment_id: int) -> dict:
    return deployment_out(_deployment(request, deployment_id))


@router.patch(
    "/deployments/{deployment_id}", response=responses(DeploymentOut), auth=role_auth(Role.MEMBER)
)
def deployment_update(request: ApiRequest, deployment_id: int, body: DeploymentPatch) -> dict:
    deployment = _deployment(request, deployment_id)
    account = body.account_id if "account_id" in body.model_fields_set else deployment.account_id
    form = _form(
        request, deployment.blueprint_version, {"account": account}, body.variables, deployment
    )
    deployment_update_service(
        deployment=deployment,
        account=form.cleaned_data["account"],
        values=form.values,
        user=request.user,
        ip=client_ip(request),
    )
    return deployment_out(_deployment(request, deployment_id))


@router.post(
    "/deployments/{deployment_id}/unlock",
    response=responses(UnlockOut),
    auth=role_auth(Role.ADMIN),
    summary="Force unlock the deployment's Terraform state",
    description="Releases a state lock that nothing holds any more (a Terraform that died with "
    "its worker, or one outside mcloud). Refused (409) while a run of the deployment is in "
    "progress. A run whose worker died needs no unlock: its lock is released when it is "
    "recovered, which this call (as any request for work) does first.",
)
def deployment_unlock(request: ApiRequest, deployment_id: int) -> dict:
    released = state_force_unlock(
        deployment=_deployment(request, deployment_id), user=request.user, ip=client_ip(request)
    )
    return {"released": released, "deployment": deployment_out(_deployment(request, deployment_id))}


@router.get("/deployments/{deployment_id}/outputs", response=responses(dict[str, OutputOut]))
def deployment_outputs(request: ApiRequest, deployment_id: int) -> dict:
    """The outputs of the last apply; sensitive values are null."""
    return _deployment(request, deployment_id).outputs


@router.get("/deployments/{deployment_id}/runs", response=responses(list[RunOut]))
def deployment_runs(request: ApiRequest, deployment_id: int) -> list[dict]:
    """The 50 latest runs, newest first."""
    deployment = _deployment(request, deployment_id)
    return [run_out(r) for r in selectors.run_list(deployment=deployment, with_policies=True)]


@router.post(
    "/deployments/{deployment_id}/plan",
    response=responses({202: RunOut}),
    auth=role_auth(Role.MEMBER),
    summary="Plan the deployment (queued; approve the plan to apply it)",
)
def deployment_plan(request: ApiRequest, deployment_id: int) -> Status:
    return _plan(request, deployment_id, destroy=False)


@router.post(
    "/deployments/{deployment_id}/destroy",
    response=responses({202: RunOut}),
    auth=role_auth(Role.ADMIN),
    summary="Plan the destruction of the deployment (approve it, with its name, to destroy)",
)
def deployment_destroy(request: ApiRequest, deployment_id: int) -> Status:
    return _plan(request, deployment_id, destroy=True)


def _plan(request: ApiRequest, deployment_id: int, *, destroy: bool) -> Status:
    run = run_services.run_plan_queue(
        deployment=_deployment(request, deployment_id),
        user=request.user,
        destroy=destroy,
        ip=client_ip(request),
    )
    return Status(202, run_out(_run(request, run.pk)))


# --- runs ---------------------------------------------------------------------------------
@router.get("/runs/{run_id}", response=responses(RunOut))
def run_detail(request: ApiRequest, run_id: int) -> dict:
    return run_out(_run(request, run_id))


@router.get("/runs/{run_id}/log", response=responses(LogOut))
def run_log(
    request: ApiRequest, run_id: int, offset: int = Query(0, ge=0, le=selectors.LOG_OFFSET_MAX)
) -> dict:
    """Terraform's output from character `offset` on; poll with `next_offset` until `finished`."""
    run = get_for_org(selectors.run_log_rows(offset), request, pk=run_id)
    # run_log_rows annotates `tail`; django-stubs loses that through get_for_org's type variable.
    text = run.tail or ""  # type: ignore[attr-defined]
    return {
        "run_id": run.pk,
        "status": run.status,
        "finished": run.is_final,
        "offset": offset,
        "next_offset": offset + len(text),
        "text": text,
    }


@router.post(
    "/runs/{run_id}/approve",
    response=responses({202: RunOut}),
    auth=role_auth(Role.ADMIN),
    summary="Approve a plan and apply it",
    description="Queues an apply of exactly the plan's saved file, and answers that apply run. "
    "A destroy plan needs the deployment's name in `confirm_name`. Refused (409) while a "
    "mandatory policy blocks the plan (`policy_blocked`).",
)
def run_approve(request: ApiRequest, run_id: int, body: ApproveIn) -> Status:
    apply = run_services.run_approve(
        plan_run=_run(request, run_id),
        user=request.user,
        confirm_name=body.confirm_name,
        comment=body.comment,
        ip=client_ip(request),
    )
    return Status(202, run_out(_run(request, apply.pk)))


@router.post(
    "/runs/{run_id}/override",
    response=responses(RunOut),
    auth=role_auth(Role.OWNER),
    summary="Override a plan's failed mandatory policies (owners)",
    description="Lets a plan that failed mandatory policies be approved. Needs a reason, which "
    "is audited and announced (the policy override event). Refused (409) when no mandatory "
    "policy blocks the plan, or it no longer awaits approval.",
)
def run_override(request: ApiRequest, run_id: int, body: OverrideIn) -> dict:
    policy_services.run_policy_override(
        run=_run(request, run_id), user=request.user, reason=body.reason, ip=client_ip(request)
    )
    return run_out(_run(request, run_id))


@router.post("/runs/{run_id}/discard", response=responses(RunOut), auth=role_auth(Role.MEMBER))
def run_discard(request: ApiRequest, run_id: int) -> dict:
    run = _run(request, run_id)
    run_services.run_discard(run=run, user=request.user, ip=client_ip(request))
    return run_out(_run(request, run_id))


@router.post(
    "/runs/{run_id}/cancel",
    response=responses({202: RunOut}),
    auth=role_auth(Role.MEMBER),
    summary="Cancel a run (members cancel plans; applies need an admin)",
    description="A queued run is cancelled at once; a running one is stopped by its worker "
    "within seconds (`cancel_requested` is true until then).",
)
def run_cancel(request: ApiRequest, run_id: int) -> Status:
    run = _run(request, run_id)
    run_services.cancel_permission_check(run, request.role)
    run_services.run_cancel(run=run, user=request.user, ip=client_ip(request))
    return Status(202, run_out(_run(request, run_id)))
