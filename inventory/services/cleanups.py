"""Clean-ups of waste: delete an unattached disk or an old snapshot, release an unassociated
IP address, through its provider, on the same `ActionRun` as a VM's start and stop.

- Asking (`resource_cleanup_request`, reached through `resource_action_request` from the
  Savings page, the resource page and the API) needs an admin; the resource must be a live
  disk, snapshot or IP address of an active account whose provider removes it, with the
  clean-up of its type (`CLEANUP_OF`: delete or release), not managed by a deployment and
  refused by no guard (`inventory.extensions.ACTION_GUARDS`). A request while another run of
  the resource is awaiting approval, queued or running answers that run.
- When the organization requires a second approver (`ActionSettings`), the run waits
  (`awaiting`) until another admin approves it (`action_run_approve`: then it is queued) or
  an admin rejects it (`action_run_reject`); the one who asked can do neither. Turning the
  rule off needs an owner, as for Terraform plans.
- The run itself is `inventory.services.actions.action_run_execute`: the adapter reads the
  resource first (gone: a no-op that sends nothing; attached or associated now: refused), then
  removes it; the scope is re-synced, the event added, and the follow-ups
  (`inventory.extensions.ACTION_FOLLOWUPS`: billing's findings refresh) run.
Everything is audited.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from inventory.extensions import ACTION_GUARDS
from inventory.managed import ManagedBy, managed_by
from inventory.models import ActionRun, ActionSettings, Resource, ResourceActionLease
from inventory.services.actions import ACTION_RUNS, action_lease
from inventory.tasks import RESOURCE_ACTION
from mcloud.clouds.base import CLEANUP_OF
from mcloud.clouds.registry import provider_get
from mcloud.errors import ActionRefused
from mcloud.leases import row_lock, runs_recover

CLEANUP_ROLE = Role.ADMIN  # who may delete and release, and approve it
PENDING = (ActionRun.State.AWAITING, ActionRun.State.QUEUED, ActionRun.State.RUNNING)
WORDS = {"disk": "disk", "snapshot": "snapshot", "ip_address": "IP address"}
_PLURALS = {"disk": "disks", "snapshot": "snapshots", "ip_address": "IP addresses"}


def action_settings(organization: Organization) -> ActionSettings:
    """The organization's rules (defaults when it never saved any; not stored then)."""
    found = ActionSettings.objects.filter(organization=organization).first()
    return found or ActionSettings(organization=organization)


def action_settings_update(
    *, organization: Organization, require_second_approver: bool, user: User, ip: str | None = None
) -> ActionSettings:
    """Change the clean-up approval rule. Turning it off weakens a control an owner may rely
    on, so only owners may; admins may turn it on."""
    membership = _membership(organization.pk, user)
    if membership is None or not membership.role_enum.allows(CLEANUP_ROLE):
        raise PermissionDenied("Changing the clean-up rules needs the Admin role or higher.")
    was_on = action_settings(organization).require_second_approver
    if was_on and not require_second_approver and membership.role_enum != Role.OWNER:
        raise ActionRefused("Only an owner can stop requiring a second approver.")
    row, _ = ActionSettings.objects.update_or_create(
        organization=organization,
        defaults={"require_second_approver": require_second_approver, "updated_by": user},
    )
    audit_record(
        organization=organization, action="inventory.action_settings_changed", actor=user,
        data={"require_second_approver": require_second_approver}, ip=ip,
    )  # fmt: skip
    return row


def cleanup_of(resource: Resource) -> str:
    """The clean-up of the resource's type ("delete", "release"), or ""."""
    return CLEANUP_OF.get(resource.type, "")


def resource_cleanup_refusal(
    *, resource: Resource, action: str, managed: list[ManagedBy] | None = None
) -> str:
    """Why `action` (a clean-up) cannot be asked of `resource` whoever asks, or ""."""
    wanted = cleanup_of(resource)
    if not wanted:
        return "Only disks, snapshots and IP addresses can be removed."
    if action != wanted:
        return f"A {WORDS[resource.type]} is removed with {wanted!r}, not {action!r}."
    if resource.deleted_at is not None:
        return "This resource is gone: there is nothing to remove."
    if resource.type not in provider_get(resource.provider).cleanups:
        return f"mcloud cannot remove {_PLURALS[resource.type]} of this provider."
    if not resource.account.is_active:
        return f"{resource.account.name} is disabled or paused: resume it first."
    if managed is None:
        owners = managed_by(
            organization_id=resource.organization_id, resource_ids=[resource.resource_id]
        )
        managed = owners.get(resource.resource_id.lower(), [])
    if managed:
        return (
            f"The deployment {managed[0].name} manages it: change it through its "
            "deployment, or Terraform would undo it."
        )
    for guard in ACTION_GUARDS.values():
        if refusal := guard(resource, action):
            return refusal
    return ""


def _membership(organization_id: int, user: User) -> Membership | None:
    return Membership.objects.filter(organization_id=organization_id, user=user).first()


def _admin(organization_id: int, user: User, doing: str) -> Membership:
    membership = _membership(organization_id, user)
    if membership is None or not membership.role_enum.allows(CLEANUP_ROLE):
        raise PermissionDenied(f"{doing} needs the Admin role or higher.")
    return membership


def resource_cleanup_request(
    *, resource: Resource, action: str, user: User, ip: str | None = None
) -> tuple[ActionRun, bool]:
    """(the run that answers `user`'s request to remove `resource`, whether it is new): queued
    at commit, or awaiting another admin's approval when the organization says so.

    PermissionDenied below Admin, ActionRefused when it cannot be asked. See the module
    docstring."""
    membership = _admin(resource.organization_id, user, "Removing resources")
    if refusal := resource_cleanup_refusal(resource=resource, action=action):
        raise ActionRefused(refusal)
    runs_recover(ACTION_RUNS, owner_id=resource.pk)
    action_lease(resource)
    second = action_settings(membership.organization).require_second_approver
    with transaction.atomic():
        row_lock(ResourceActionLease.objects.all(), resource.pk)
        pending = (
            ActionRun.objects.filter(resource_id=resource.pk, status__in=PENDING)
            .order_by("-queued_at", "-id")
            .first()
        )
        if pending is not None:
            return pending, False
        run = ActionRun.objects.create(
            organization_id=resource.organization_id,
            resource=resource,
            action=action,
            requested_by=user,
            status_before=resource.status,
            status=ActionRun.State.AWAITING if second else ActionRun.State.QUEUED,
        )
        audit_record(
            organization=membership.organization, action="resource.action_requested",
            actor=user, target=resource, ip=ip,
            data={"run": run.pk, "action": action, "awaiting_approval": second},
        )  # fmt: skip
        if not second:
            RESOURCE_ACTION.enqueue(run.pk)
    return run, True


def _decide(run: ActionRun, user: User, doing: str) -> Membership:
    """The admin deciding on an awaiting run, who must not be the one who asked."""
    membership = _admin(run.organization_id, user, doing)
    if run.status != ActionRun.State.AWAITING:
        raise ActionRefused(f"This {run.get_action_display().lower()} is not awaiting approval.")
    if run.requested_by_id == user.pk:
        raise ActionRefused(
            "The organization requires a second approver: another admin than the one who "
            "asked must approve or reject it."
        )
    return membership


def action_run_approve(*, run: ActionRun, user: User, ip: str | None = None) -> ActionRun:
    """Another admin approves an awaiting clean-up: it is queued now."""
    membership = _decide(run, user, "Approving a removal")
    now = timezone.now()
    with transaction.atomic():
        if not ActionRun.objects.filter(pk=run.pk, status=ActionRun.State.AWAITING).update(
            status=ActionRun.State.QUEUED, approved_by=user, approved_at=now, queued_at=now
        ):
            raise ActionRefused("Someone decided on it meanwhile.")
        audit_record(
            organization=membership.organization, action="resource.action_approved", actor=user,
            target=run.resource, ip=ip, data={"run": run.pk, "action": run.action},
        )  # fmt: skip
        RESOURCE_ACTION.enqueue(run.pk)
    run.refresh_from_db()
    return run


def action_run_reject(
    *, run: ActionRun, user: User, reason: str = "", ip: str | None = None
) -> ActionRun:
    """Another admin rejects an awaiting clean-up: it ends, nothing sent."""
    membership = _decide(run, user, "Rejecting a removal")
    now = timezone.now()
    message = f"Rejected by {user.email}" + (f": {reason.strip()}" if reason.strip() else ".")
    if not ActionRun.objects.filter(pk=run.pk, status=ActionRun.State.AWAITING).update(
        status=ActionRun.State.REJECTED, approved_by=user, approved_at=now, finished_at=now,
        message=message[:500],
    ):  # fmt: skip
        raise ActionRefused("Someone decided on it meanwhile.")
    audit_record(
        organization=membership.organization, action="resource.action_rejected", actor=user,
        target=run.resource, ip=ip, data={"run": run.pk, "action": run.action, "reason": reason},
    )  # fmt: skip
    run.refresh_from_db()
    return run
