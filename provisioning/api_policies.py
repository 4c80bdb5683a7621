"""API: policy sets and policies (read by every member, written by admins), and testing a
policy against a deployment's last plan. The same forms, services and role checks as the
policy pages; a policy's Rego source is shown to admins only, as on the pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import QueryDict
from ninja import Field, Query, Router, Schema, Status

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import ApiRequest, get_for_org
from inventory.filters import MAX_PK
from mcloud.api.errors import InvalidInput, responses
from mcloud.api.security import role_auth
from provisioning.forms import PolicyForm, PolicySetForm
from provisioning.models import Deployment, Policy, PolicySet
from provisioning.selectors import policy_list, policy_set_list
from provisioning.services import policies as services
from provisioning.services import policy_sets as set_services

router = Router(tags=["policies"])
ADMIN = role_auth(Role.ADMIN)
Pk = Annotated[int, Field(ge=1, le=MAX_PK)]


class PolicySetIn(Schema):
    name: str
    description: str = ""
    scope: Literal["all", "selected"] = Field(
        "all", description="all: every deployment; selected: those of `blueprints` or `accounts`."
    )
    blueprints: list[Pk] = Field(default_factory=list, description="Blueprint ids.")
    accounts: list[Pk] = Field(default_factory=list, description="Cloud account ids.")
    enabled: bool = True


class PolicySetOut(Schema):
    id: int
    name: str
    description: str
    scope: str
    blueprints: list[int]
    accounts: list[int]
    enabled: bool
    policies: list[int] = Field(description="The ids of its policies.")


class PolicyIn(Schema):
    name: str
    source: str = Field(description="Rego v1: a package whose `deny` set holds the refusals.")
    enforcement: Literal["advisory", "mandatory"] = "advisory"
    description: str = ""
    enabled: bool = True
    policy_set: Pk | None = Field(
        None, description="The set's id; the organization's Default set when left out."
    )


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    enforcement: str
    enabled: bool
    policy_set: int
    example: str = Field(description="The bundled example it was loaded from, if any.")
    source: str | None = Field(description="Shown to admins only.")


class PolicyQuery(Schema):
    policy_set: Pk | None = None


class PolicyTestIn(Schema):
    source: str
    deployment: Pk = Field(description="A deployment whose last plan the policy reads.")


class PolicyTestOut(Schema):
    status: str = Field(description="passed, failed or error")
    messages: list[str]


def _invalid(form: Any) -> InvalidInput:
    return InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})


def _set_out(policy_set: PolicySet) -> dict[str, Any]:
    return {
        "id": policy_set.pk, "name": policy_set.name, "description": policy_set.description,
        "scope": policy_set.scope, "enabled": policy_set.enabled,
        "blueprints": [b.pk for b in policy_set.blueprints.all()],
        "accounts": [a.pk for a in policy_set.accounts.all()],
        "policies": [p.pk for p in policy_set.policies.all()],
    }  # fmt: skip


def _policy_out(policy: Policy, request: ApiRequest) -> dict[str, Any]:
    admin = request.role.allows(Role.ADMIN)
    return {
        "id": policy.pk, "name": policy.name, "description": policy.description,
        "enforcement": policy.enforcement, "enabled": policy.enabled,
        "policy_set": policy.policy_set_id, "example": policy.example,
        "source": policy.source if admin else None,
    }  # fmt: skip


def _policy_set(request: ApiRequest, set_id: int) -> PolicySet:
    return get_for_org(policy_set_list(organization=request.organization), request, pk=set_id)


def _save_set(request: ApiRequest, body: PolicySetIn, policy_set: PolicySet | None) -> PolicySet:
    data = QueryDict(mutable=True)
    data.update({"name": body.name, "description": body.description, "scope": body.scope})
    if body.enabled:
        data["enabled"] = "on"
    data.setlist("blueprints", [str(pk) for pk in body.blueprints])
    data.setlist("accounts", [str(pk) for pk in body.accounts])
    form = PolicySetForm(data, organization=request.organization)
    if not form.is_valid():
        raise _invalid(form)
    saved = set_services.policy_set_save(
        organization=request.organization, user=request.user, policy_set=policy_set,
        ip=client_ip(request), **form.cleaned_data,
    )  # fmt: skip
    return _policy_set(request, saved.pk)


@router.get("/policy-sets", response=responses(list[PolicySetOut]))
def policy_sets(request: ApiRequest) -> list:
    return [_set_out(s) for s in policy_set_list(organization=request.organization)]


@router.post("/policy-sets", response=responses({201: PolicySetOut}), auth=ADMIN)
def policy_set_create(request: ApiRequest, body: PolicySetIn) -> Status:
    return Status(201, _set_out(_save_set(request, body, None)))


@router.get("/policy-sets/{set_id}", response=responses(PolicySetOut))
def policy_set(request: ApiRequest, set_id: int) -> dict:
    return _set_out(_policy_set(request, set_id))


@router.put("/policy-sets/{set_id}", response=responses(PolicySetOut), auth=ADMIN)
def policy_set_update(request: ApiRequest, set_id: int, body: PolicySetIn) -> dict:
    return _set_out(_save_set(request, body, _policy_set(request, set_id)))


@router.delete("/policy-sets/{set_id}", response=responses({204: None}), auth=ADMIN)
def policy_set_delete(request: ApiRequest, set_id: int) -> Status:
    policy_set = _policy_set(request, set_id)
    set_services.policy_set_delete(policy_set=policy_set, user=request.user, ip=client_ip(request))
    return Status(204, None)


def _policy(request: ApiRequest, policy_id: int) -> Policy:
    return get_for_org(Policy.objects.all(), request, pk=policy_id)


def _save_policy(request: ApiRequest, body: PolicyIn, policy: Policy | None) -> Policy:
    data = {
        "name": body.name, "source": body.source, "enforcement": body.enforcement,
        "description": body.description, "policy_set": body.policy_set or "",
    }  # fmt: skip
    if body.enabled:
        data["enabled"] = "on"
    form = PolicyForm(data, organization=request.organization)
    if not form.is_valid():
        raise _invalid(form)
    fields = {**form.cleaned_data, "user": request.user, "ip": client_ip(request)}
    try:
        if policy is None:
            return services.policy_create(organization=request.organization, **fields)
        return services.policy_update(policy=policy, **fields)
    except services.PolicyDoesNotCompile as problem:
        raise InvalidInput({"source": [problem.message]}) from problem


@router.get("/policies", response=responses(list[PolicyOut]))
def policies(request: ApiRequest, query: Query[PolicyQuery]) -> list:
    rows = policy_list(organization=request.organization).defer(None)
    if query.policy_set is not None:
        rows = rows.filter(policy_set_id=query.policy_set)
    return [_policy_out(p, request) for p in rows]


@router.post("/policies", response=responses({201: PolicyOut}), auth=ADMIN)
def policy_create(request: ApiRequest, body: PolicyIn) -> Status:
    """Saved only when the source compiles (422 with the compiler's words otherwise)."""
    return Status(201, _policy_out(_save_policy(request, body, None), request))


@router.post("/policies/test", response=responses(PolicyTestOut), auth=ADMIN)
def policy_test(request: ApiRequest, body: PolicyTestIn) -> dict:
    """Evaluate a policy's source (saved or not) against the deployment's last plan; 409 when
    it has no plan yet."""
    deployment = get_for_org(Deployment.objects.all(), request, pk=body.deployment)
    outcome = services.policy_test(policy_source=body.source, deployment=deployment)
    return {"status": outcome.status, "messages": outcome.messages}


@router.get("/policies/{policy_id}", response=responses(PolicyOut))
def policy(request: ApiRequest, policy_id: int) -> dict:
    return _policy_out(_policy(request, policy_id), request)


@router.put("/policies/{policy_id}", response=responses(PolicyOut), auth=ADMIN)
def policy_update(request: ApiRequest, policy_id: int, body: PolicyIn) -> dict:
    policy = _policy(request, policy_id)
    return _policy_out(_save_policy(request, body, policy), request)


@router.delete("/policies/{policy_id}", response=responses({204: None}), auth=ADMIN)
def policy_delete(request: ApiRequest, policy_id: int) -> Status:
    policy = _policy(request, policy_id)
    services.policy_delete(policy=policy, user=request.user, ip=client_ip(request))
    return Status(204, None)
