"""Policy sets: named groups of an organization's policies and the deployments they apply to.

Invariants:
- every policy belongs to one set of its organization; an organization without sets gets a
  "Default" set (every deployment) when its first policy is saved without one;
- a set scoped to "selected" names at least one blueprint (the organization's or a bundled
  one) or cloud account of the organization, and applies to deployments of any of them;
- a set is deleted only once it holds no policy (policies are never dropped with their set).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from accounts.audit import audit_record
from accounts.models import Organization, User
from inventory.models import CloudAccount
from mcloud.errors import ActionRefused
from provisioning.models import Blueprint, DeploymentRun, Policy, PolicySet

DEFAULT_SET = "Default"


def default_policy_set(organization: Organization) -> PolicySet:
    """The set a policy saved without one joins: "Default", made on first use."""
    policy_set, _ = PolicySet.objects.get_or_create(
        organization=organization, name=DEFAULT_SET, defaults={"scope": PolicySet.Scope.ALL}
    )
    return policy_set


def _audit(policy_set: PolicySet, action: str, user: User, ip: str | None, **data: Any) -> None:
    audit_record(
        organization=policy_set.organization, action=f"policy_set.{action}", actor=user,
        target=policy_set, data={"name": policy_set.name, **data}, ip=ip,
    )  # fmt: skip


def policy_set_save(
    *,
    organization: Organization,
    user: User,
    policy_set: PolicySet | None = None,
    name: str,
    description: str = "",
    scope: str = PolicySet.Scope.ALL,
    enabled: bool = True,
    blueprints: Iterable[Blueprint] = (),
    accounts: Iterable[CloudAccount] = (),
    ip: str | None = None,
) -> PolicySet:
    """Create (`policy_set` None) or change a set; ActionRefused, and nothing saved, when the
    scope names nothing or something outside the organization."""
    blueprints, accounts = list(blueprints), list(accounts)
    if any(b.organization_id not in (None, organization.pk) for b in blueprints) or any(
        a.organization_id != organization.pk for a in accounts
    ):
        raise ActionRefused("Choose blueprints and accounts of this organization.")
    if scope == PolicySet.Scope.SELECTED and not (blueprints or accounts):
        raise ActionRefused("Choose at least one blueprint or account, or apply it everywhere.")
    if scope == PolicySet.Scope.ALL:
        blueprints, accounts = [], []
    created = policy_set is None
    policy_set = policy_set or PolicySet(organization=organization)
    policy_set.name, policy_set.description = name, description
    policy_set.scope, policy_set.enabled = scope, enabled
    try:
        with transaction.atomic():
            policy_set.save()
            policy_set.blueprints.set(blueprints)
            policy_set.accounts.set(accounts)
    except IntegrityError as error:
        raise ActionRefused(f"A policy set named {name} exists already.") from error
    _audit(
        policy_set, "created" if created else "updated", user, ip, scope=scope, enabled=enabled,
        blueprints=[b.slug for b in blueprints], accounts=[a.name for a in accounts],
    )  # fmt: skip
    return policy_set


def policy_set_delete(*, policy_set: PolicySet, user: User, ip: str | None = None) -> None:
    with transaction.atomic():
        if Policy.objects.filter(policy_set=policy_set).exists():
            raise ActionRefused(
                f"{policy_set.name} still holds policies: move or delete them first."
            )
        _audit(policy_set, "deleted", user, ip)
        policy_set.delete()


def policy_sets_applying(run: DeploymentRun) -> QuerySet[PolicySet]:
    """The enabled sets of the run's organization that apply to its deployment."""
    deployment = run.deployment
    matches = Q(scope=PolicySet.Scope.ALL) | Q(blueprints=run.blueprint_version.blueprint_id)
    if deployment.account_id is not None:
        matches |= Q(accounts=deployment.account_id)
    return (
        PolicySet.objects.filter(organization_id=run.organization_id, enabled=True)
        .filter(matches)
        .distinct()
    )
