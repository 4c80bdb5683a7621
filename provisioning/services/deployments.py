"""Deployments: creating them, changing their variables, the organization's rules, and the
state lock an admin may force open."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from inventory.models import CloudAccount
from mcloud.errors import ActionRefused
from provisioning.models import (
    DEPLOYMENT_ID_VARIABLE,
    DRIFT_CHECK_INTERVALS,
    BlueprintVersion,
    Deployment,
    DeploymentRun,
    ProvisioningSettings,
)
from provisioning.selectors import provisioning_settings
from provisioning.services.runs import deployment_for_work, plans_discard_pending
from provisioning.services.state import DatabaseStateStore, deployment_lease_live
from provisioning.variable_values import validate_values


def provisioning_settings_update(
    *,
    organization: Organization,
    require_second_approver: bool,
    user: User,
    drift_check_hours: int | None = None,
    ip: str | None = None,
) -> ProvisioningSettings:
    """Change the approval rules and the drift checks' interval (None: unchanged; 0: off).
    Turning the second-approver rule off weakens a control that an owner may rely on, so only
    owners may; admins may turn it on."""
    if provisioning_settings(organization).require_second_approver and not require_second_approver:
        membership = Membership.objects.filter(organization=organization, user=user).first()
        if membership is None or membership.role_enum != Role.OWNER:
            raise ActionRefused("Only an owner can stop requiring a second approver.")
    if drift_check_hours is not None and drift_check_hours not in dict(DRIFT_CHECK_INTERVALS):
        raise ActionRefused("Choose one of the offered drift check intervals.")
    defaults: dict[str, Any] = {"require_second_approver": require_second_approver,
                                "updated_by": user}  # fmt: skip
    if drift_check_hours is not None:
        defaults["drift_check_hours"] = drift_check_hours
    row, _ = ProvisioningSettings.objects.update_or_create(
        organization=organization, defaults=defaults
    )
    audit_record(
        organization=organization, action="provisioning.settings_changed", actor=user,
        data={"require_second_approver": require_second_approver,
              "drift_check_hours": row.drift_check_hours}, ip=ip,
    )  # fmt: skip
    return row


def split_values(
    version: BlueprintVersion, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain values, sensitive values): the second kind is only ever stored encrypted."""
    sensitive = version.sensitive_names
    plain = {k: v for k, v in values.items() if k not in sensitive and k != DEPLOYMENT_ID_VARIABLE}
    secret = {k: v for k, v in values.items() if k in sensitive and k != DEPLOYMENT_ID_VARIABLE}
    return plain, secret


def values_check(
    version: BlueprintVersion, raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(typed values with defaults applied, errors by variable name), as hcl.validate_values."""
    variables = version.variable_list()
    if any(v.name == DEPLOYMENT_ID_VARIABLE for v in variables):
        raw = {**raw, DEPLOYMENT_ID_VARIABLE: "0"}  # the app fills it in at run time
    values, errors = validate_values(variables, raw)
    values.pop(DEPLOYMENT_ID_VARIABLE, None)
    return values, errors


def values_validate(version: BlueprintVersion, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed values with defaults applied, or ActionRefused naming the bad ones."""
    values, errors = values_check(version, raw)
    if errors:
        raise ActionRefused("; ".join(f"{name}: {error}" for name, error in sorted(errors.items())))
    return values


def _check_account(version: BlueprintVersion, account: CloudAccount | None) -> None:
    if version.cloud and account is None:
        raise ActionRefused(f"This blueprint needs a {version.get_cloud_display()} account.")
    if version.cloud and account is not None and account.provider != version.cloud:
        raise ActionRefused(
            f"This blueprint needs a {version.get_cloud_display()} account, "
            f"not {account.get_provider_display()}."
        )


def deployment_create(
    *,
    organization: Organization,
    name: str,
    version: BlueprintVersion,
    account: CloudAccount | None,
    values: dict[str, Any],
    user: User | None,
    ip: str | None = None,
) -> Deployment:
    """A new deployment of `version` with validated `values` (see values_validate)."""
    _check_account(version, account)
    if account is not None and account.organization_id != organization.pk:
        raise ActionRefused("That cloud account belongs to another organization.")
    plain, secret = split_values(version, values)
    with transaction.atomic():
        if Deployment.objects.filter(organization=organization, name__iexact=name).exists():
            raise ActionRefused(f"This organization already has a deployment named {name!r}.")
        deployment = Deployment.objects.create(
            organization=organization, name=name, blueprint_version=version, account=account,
            variables=plain, sensitive_variables=secret, created_by=user,
        )  # fmt: skip
        audit_record(
            organization=organization, action="deployment.created", actor=user,
            target=deployment, ip=ip,
            data={"blueprint": version.blueprint.slug, "version": version.number,
                  "account": account.name if account else None, "variables": sorted(values)},
        )  # fmt: skip
    return deployment


def deployment_update(
    *,
    deployment: Deployment,
    account: CloudAccount | None,
    values: dict[str, Any],
    user: User,
    ip: str | None = None,
) -> Deployment:
    """New variable values (and account). Plans awaiting approval were made with the old
    values, so they are discarded."""
    version = deployment.blueprint_version
    _check_account(version, account)
    plain, secret = split_values(version, values)
    with deployment_for_work(deployment) as deployment:
        if deployment.runs.filter(status__in=DeploymentRun.ACTIVE).exists():
            raise ActionRefused("A run of this deployment is in progress: wait for it to finish.")
        changed = sorted(
            k for k in values
            if values[k] != {**deployment.variables, **deployment.sensitive_variables}.get(k)
        )  # fmt: skip
        deployment.account, deployment.variables = account, plain
        deployment.sensitive_variables = secret
        deployment.save()
        plans_discard_pending(deployment=deployment, reason="the variables changed", user=user)
        audit_record(
            organization=deployment.organization, action="deployment.updated", actor=user,
            target=deployment, ip=ip,
            data={"changed": changed, "account": account.name if account else None},
        )  # fmt: skip
    return deployment


def state_force_unlock(*, deployment: Deployment, user: User, ip: str | None = None) -> bool:
    """Release the state lock a dead worker left behind (whether the state was locked). Refused
    while a run holds the lease. A lock of a run whose worker died is released by the recovery
    this request does first (audited as such)."""
    was_locked = Deployment.objects.filter(pk=deployment.pk).exclude(state_lock_id="").exists()
    with deployment_for_work(deployment) as deployment:
        busy = deployment_lease_live(deployment)
        held = None if busy else DatabaseStateStore(deployment).force_unlock()
        if held is not None:
            audit_record(
                organization=deployment.organization, action="deployment.state_unlocked",
                actor=user, target=deployment, ip=ip,
                data={"lock": held.id, "at": timezone.now().isoformat()},
            )  # fmt: skip
    if busy:
        raise ActionRefused("A run of this deployment is in progress: its lock is not stale.")
    return was_locked


def deployment_archive(
    *, deployment: Deployment, user: User, archived: bool = True, ip: str | None = None
) -> Deployment:
    """Archive a destroyed deployment (hidden from the list unless asked for), or bring it
    back. Only a destroyed deployment is archived: one with resources must stay in sight."""
    if archived and deployment.status != Deployment.Status.DESTROYED:
        raise ActionRefused("Only a destroyed deployment can be archived: destroy it first.")
    deployment.archived_at = timezone.now() if archived else None
    deployment.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        organization=deployment.organization, actor=user, target=deployment, ip=ip,
        action="deployment.archived" if archived else "deployment.unarchived",
    )  # fmt: skip
    return deployment
