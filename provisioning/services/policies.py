"""Policies: what admins write, what each plan is checked against, and the owner's override.

Invariants:
- a policy is saved only when it compiles (checked in the sandbox, as it will run);
- every plan that awaits approval was evaluated against the enabled policies of the enabled
  sets that apply to its deployment (`policy_sets`) before it did (`policies_evaluate_run`,
  called by the worker), and its results are kept with the run, whatever becomes of the
  policies later;
- a mandatory policy that failed or could not be evaluated blocks approval (fail closed)
  until an owner overrides the plan with a reason, audited and announced;
- the document a policy reads is `{"plan": <terraform show -json>, "context": {...},
  "cost_estimate": null | {"monthly_delta", "currency"}}` (docs/policies.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from mcloud.errors import ActionRefused
from provisioning.models import (
    Deployment,
    DeploymentRun,
    Enforcement,
    Policy,
    PolicyResult,
    PolicySet,
)
from provisioning.policy_engine import (
    PolicyEngineUnavailable,
    PolicyLimits,
    PolicyOutcome,
    PolicySource,
    policies_evaluate,
)
from provisioning.services.policy_sets import default_policy_set, policy_sets_applying

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "policies"
_HEADER = re.compile(r"^#\s*(title|enforcement|description):\s*(.*)$")
# A Rego module opens with its package (after comments): checked before a sandbox starts.
_PACKAGE = re.compile(r"\A(?:\s*#[^\n]*\n|\s*\n)*\s*package\s+[A-Za-z_][\w.]*", re.ASCII)


class PolicyDoesNotCompile(ActionRefused):
    """The source is not a usable policy: the message holds the compiler's words."""


@dataclass(frozen=True)
class PolicyExample:
    """A bundled, documented policy (provisioning/policies/<key>.rego)."""

    key: str
    title: str
    description: str
    enforcement: str
    source: str


def policy_examples() -> list[PolicyExample]:
    """The bundled examples, read from their files' header comments."""
    examples = []
    for path in sorted(EXAMPLES_DIR.glob("*.rego")):
        source = path.read_text()
        fields: dict[str, str] = {}
        last = ""
        for line in source.splitlines():
            found = _HEADER.match(line)
            if found:
                last = found.group(1)
                fields[last] = found.group(2).strip()
            elif line.startswith("#   ") and last:
                fields[last] += " " + line[1:].strip()
            elif not line.startswith("#"):
                break
        examples.append(
            PolicyExample(
                key=path.stem,
                title=fields.get("title", path.stem),
                description=fields.get("description", ""),
                enforcement=fields.get("enforcement", Enforcement.ADVISORY),
                source=source,
            )
        )
    return examples


def policy_limits() -> PolicyLimits:
    return PolicyLimits(
        memory_mb=settings.POLICY_MAX_MEMORY_MB,
        cpu_seconds=settings.POLICY_MAX_CPU_SECONDS,
        wall_seconds=float(settings.POLICY_TIMEOUT_SECONDS),
        isolated=settings.TERRAFORM_ISOLATION == "on",
    )


def _evaluate(sources: list[PolicySource], document: dict[str, Any]) -> list[PolicyOutcome]:
    try:
        return policies_evaluate(sources, document, policy_limits())
    except PolicyEngineUnavailable as error:
        return [PolicyOutcome(s.key, PolicyResult.Status.ERROR, [str(error)]) for s in sources]


def policy_compile_error(source: str) -> str | None:
    """Why `source` is not a usable policy (None when it compiles), from the sandbox."""
    if not _PACKAGE.match(source):
        return "A policy is a Rego module: it starts with its package, e.g. `package tags`."
    [outcome] = _evaluate([PolicySource("check", source)], {})
    if outcome.status == PolicyResult.Status.ERROR:
        return "\n".join(outcome.messages) or "The policy does not compile."
    return None


def _audit(policy: Policy, action: str, user: User, ip: str | None, **data: Any) -> None:
    audit_record(
        organization=policy.organization, action=f"policy.{action}", actor=user,
        target=policy, data={"name": policy.name, **data}, ip=ip,
    )  # fmt: skip


def _set_of(organization: Organization, policy_set: PolicySet | None) -> PolicySet:
    if policy_set is None:
        return default_policy_set(organization)
    if policy_set.organization_id != organization.pk:
        raise ActionRefused("Choose a policy set of this organization.")
    return policy_set


def _saved(policy: Policy) -> Policy:
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as error:
        raise ActionRefused(f"A policy named {policy.name} exists already.") from error
    return policy


def policy_create(
    *,
    organization: Organization,
    user: User,
    name: str,
    source: str,
    enforcement: str,
    description: str = "",
    enabled: bool = True,
    example: str = "",
    policy_set: PolicySet | None = None,
    ip: str | None = None,
) -> Policy:
    """Save a new policy once it compiles (ActionRefused with the compiler's words if not),
    in `policy_set` or else the organization's default set."""
    problem = policy_compile_error(source)
    if problem:
        raise PolicyDoesNotCompile(problem)
    policy = _saved(
        Policy(
            organization=organization,
            policy_set=_set_of(organization, policy_set),
            name=name,
            source=source,
            enforcement=enforcement,
            description=description,
            enabled=enabled,
            example=example,
            created_by=user,
        )
    )
    _audit(
        policy, "created", user, ip, enforcement=enforcement, example=example,
        policy_set=policy.policy_set.name,
    )  # fmt: skip
    return policy


def policy_update(
    *,
    policy: Policy,
    user: User,
    name: str,
    source: str,
    enforcement: str,
    description: str = "",
    enabled: bool = True,
    policy_set: PolicySet | None = None,
    ip: str | None = None,
) -> Policy:
    """Change a policy, once the new source compiles (nothing is saved otherwise); it moves
    to `policy_set` when one is given."""
    problem = policy_compile_error(source)
    if problem:
        raise PolicyDoesNotCompile(problem)
    if policy_set is not None:
        policy.policy_set = _set_of(policy.organization, policy_set)
    policy.name, policy.source, policy.enforcement = name, source, enforcement
    policy.description, policy.enabled = description, enabled
    _saved(policy)
    _audit(
        policy, "updated", user, ip, enforcement=enforcement, enabled=enabled,
        policy_set=policy.policy_set.name,
    )  # fmt: skip
    return policy


def policy_delete(*, policy: Policy, user: User, ip: str | None = None) -> None:
    _audit(policy, "deleted", user, ip)
    policy.delete()


def policy_example_load(
    *,
    organization: Organization,
    user: User,
    key: str,
    policy_set: PolicySet | None = None,
    ip: str | None = None,
) -> Policy:
    """Copy a bundled example into the organization's policies, to be edited there."""
    example = next((e for e in policy_examples() if e.key == key), None)
    if example is None:
        raise ActionRefused("No such example.")
    return policy_create(
        organization=organization, user=user, name=example.title, source=example.source,
        enforcement=example.enforcement, description=example.description[:500],
        example=example.key, policy_set=policy_set, ip=ip,
    )  # fmt: skip


def policy_document(
    *, run: DeploymentRun, plan: dict[str, Any], cost_estimate: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a policy reads: the plan JSON and the context of the run (see the module doc)."""
    deployment = run.deployment
    version = run.blueprint_version
    account = deployment.account
    requester = run.started_by
    return {
        "plan": plan,
        "context": {
            "organization": {"id": deployment.organization_id,
                             "name": deployment.organization.name},
            "deployment": {"id": deployment.pk, "name": deployment.name},
            "blueprint": {"slug": version.blueprint.slug, "name": version.blueprint.name,
                          "version": version.number, "cloud": version.cloud or None},
            "account": None if account is None else {
                "id": account.pk, "name": account.name, "provider": account.provider,
            },
            "requester": None if requester is None else {"email": requester.email},
            "run": {"id": run.pk, "kind": run.kind},
        },
        "cost_estimate": cost_estimate,
    }  # fmt: skip


def policies_evaluate_run(
    *, run: DeploymentRun, plan: dict[str, Any], cost_estimate: dict[str, Any] | None = None
) -> list[PolicyResult]:
    """Check a plan against the enabled policies of the sets that apply to its deployment (one
    sandbox start for all) and keep the results with the run, replacing any earlier ones."""
    policies = list(
        Policy.objects.filter(enabled=True, policy_set__in=policy_sets_applying(run))
        .select_related("policy_set")
        .order_by("policy_set__name", "name", "id")
    )
    outcomes = {}
    if policies:
        document = policy_document(run=run, plan=plan, cost_estimate=cost_estimate)
        sources = [PolicySource(str(p.pk), p.source) for p in policies]
        outcomes = {o.key: o for o in _evaluate(sources, document)}
    results = []
    for policy in policies:
        outcome = outcomes.get(str(policy.pk))
        status = outcome.status if outcome else PolicyResult.Status.ERROR
        messages = outcome.messages if outcome else ["Not evaluated."]
        results.append(
            PolicyResult(
                organization_id=run.organization_id,
                run=run,
                policy=policy,
                policy_name=policy.name,
                policy_set_name=policy.policy_set.name,
                enforcement=policy.enforcement,
                status=status,
                messages=messages,
            )
        )
    with transaction.atomic():
        PolicyResult.objects.filter(run=run).delete()
        PolicyResult.objects.bulk_create(results)
    return results


def policy_test(*, policy_source: str, deployment: Deployment) -> PolicyOutcome:
    """Evaluate a policy (saved or not) against the deployment's last plan that has a plan
    JSON; ActionRefused when there is none."""
    run = (
        DeploymentRun.objects.filter(deployment=deployment, kind__in=DeploymentRun.PLAN_KINDS)
        .exclude(plan_json={})
        .select_related("deployment__organization", "deployment__account",
                        "blueprint_version__blueprint", "started_by")
        .order_by("-queued_at", "-id")
        .first()
    )  # fmt: skip
    if run is None:
        raise ActionRefused(f"{deployment.name} has no plan to test against yet: plan it first.")
    document = policy_document(run=run, plan=run.plan_json, cost_estimate=run.cost_estimate)
    [outcome] = _evaluate([PolicySource("test", policy_source)], document)
    return outcome


def run_policy_blockers(run: DeploymentRun) -> list[PolicyResult]:
    """The mandatory policies this plan failed (or that could not be evaluated)."""
    return [r for r in run.policy_results.all() if r.blocks]


def run_policy_refusal(run: DeploymentRun) -> str:
    """Why the plan cannot be approved for its policies ("" when it can)."""
    if run.policy_override_at is not None:
        return ""
    blockers = run_policy_blockers(run)
    if not blockers:
        return ""
    names = ", ".join(r.policy_name for r in blockers)
    return (
        f"Mandatory policies failed: {names}. Fix the plan, or an owner may override them "
        "with a reason."
    )


def run_policy_override(
    *, run: DeploymentRun, user: User, reason: str, ip: str | None = None
) -> DeploymentRun:
    """An owner lets a plan that failed mandatory policies be approved, with a reason;
    audited on the deployment and announced (`Event.POLICY_OVERRIDE`). The caller checks the
    owner role."""
    reason = reason.strip()[:500]
    if not reason:
        raise ActionRefused("Say why the policies are overridden.")
    with transaction.atomic():
        locked = DeploymentRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != DeploymentRun.Status.PLANNED or not locked.is_plan:
            raise ActionRefused("Only a plan awaiting approval can be overridden.")
        if locked.policy_override_at is not None:
            raise ActionRefused("This plan's policies were overridden already.")
        blockers = run_policy_blockers(locked)
        if not blockers:
            raise ActionRefused("No mandatory policy blocks this plan.")
        now = timezone.now()
        DeploymentRun.objects.filter(pk=run.pk).update(
            policy_override_by=user, policy_override_at=now, policy_override_reason=reason
        )
        run.policy_override_by, run.policy_override_at = user, now
        run.policy_override_reason = reason
        names = [r.policy_name for r in blockers]
        deployment = run.deployment
        audit_record(
            organization=deployment.organization, action="deployment.policy_overridden",
            actor=user, target=deployment, ip=ip,
            data={"run": run.pk, "policies": names, "reason": reason},
        )  # fmt: skip
        notify(
            organization=deployment.organization, event=Event.POLICY_OVERRIDE,
            title=f"{user.email} overrode policies on plan #{run.pk} of {deployment.name}",
            text=reason, url=reverse("provisioning:run_detail", args=[run.pk]),
            facts=[("Deployment", deployment.name), ("Policies", ", ".join(names)),
                   ("Overridden by", user.email)],
        )  # fmt: skip
    return run
