"""Actions on resources: start, stop and reboot a VM through its provider; delete or release
a waste finding's resource (the clean-ups: their rules in `inventory.services.cleanups`).

- Asking (`resource_action_request`: the resource page, the API) checks the rules (a member
  or more; a live VM of an active account whose provider acts; not managed by a deployment
  (`inventory.managed`), whose Terraform would undo it; no guard refuses it, see
  `inventory.extensions.ACTION_GUARDS`), audits the request and queues a run at commit.
  It first recovers the resource's dead runs, then, under the resource's lease row lock,
  answers with the active run when there is one: an action is never queued twice, and a
  second "Stop" while one is under way names the first.
- An off-hours schedule asks through `resource_action_schedule`: the same rules but the role
  (checked when the schedule was saved); its runs say `source=schedule` and name it.
- A run (`action_run_execute`, a q2 task) takes the resource's lease and moves from queued
  to running with one conditional UPDATE: a twin delivery of the task, or a run recovered
  meanwhile, does nothing. A worker killed mid-action leaves the run running with a lease
  that expires: the next request, or the recovery schedule, fails it (`runs_recover`) and
  says the provider may have acted; the action is never sent again by itself.
- Before the adapter is called the run waits for its provider's next slot
  (`inventory.rate_limit`): every worker and host share each provider's rate limit.
- The adapter reads the VM first: an action that would change nothing is a `noop` run, not
  sent. Afterwards the resource's scope is listed and written again (the same ingest as a
  sync, under the account's sync lease), so the inventory shows the new state at once; the
  run and an `action` event in the resource's history say what happened.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from inventory.account_adapters import adapter_for
from inventory.extensions import ACTION_FOLLOWUPS, ACTION_GUARDS
from inventory.managed import ManagedBy, managed_by
from inventory.models import (
    ActionRun,
    PowerSchedule,
    Resource,
    ResourceActionLease,
    ResourceEvent,
)
from inventory.rate_limit import acquire_action_slot
from inventory.services.ingest import ingest_scope
from inventory.services.sync import account_lease
from inventory.tasks import RESOURCE_ACTION
from mcloud.clouds.base import (
    CLEANUP_ACTIONS,
    ActionResult,
    CloudError,
    ResourceCleanups,
    ResourceType,
    VmActions,
)
from mcloud.clouds.records import listing_checked
from mcloud.clouds.registry import provider_get
from mcloud.errors import ActionRefused
from mcloud.leases import (
    Lease,
    LeaseLost,
    RunKind,
    lease_acquire,
    lease_kept,
    lease_release,
    row_lock,
    runs_recover,
)

logger = logging.getLogger(__name__)
ACTION_ROLE = Role.MEMBER  # who may start, stop and reboot
ACTIVE = (ActionRun.State.QUEUED, ActionRun.State.RUNNING)
ABANDONED = (
    "Abandoned: the worker running this action stopped before it finished; the provider may "
    "have acted, and the next sync shows the resource's state."
)
NEVER_STARTED = "No worker started this action in time."
BUSY = "Another action on this resource was running."
LEASE_LOST = "Stopped: another worker took over this action."


def _audit_abandoned(run: ActionRun, reason: str) -> None:
    """The request gets its end when the worker died, as when it finished; a bulk action's
    run may be its last."""
    if run.bulk_id is not None:
        bulk_id = run.bulk_id
        transaction.on_commit(lambda: _bulk_run_ended(bulk_id))
        return
    resource = Resource.objects.select_related("organization").get(pk=run.resource_id)
    audit_record(
        organization=resource.organization, action="resource.action_failed", target=resource,
        actor_label="action recovery",
        data={"run": run.pk, "action": run.action, "error": reason, "recovered": True},
    )  # fmt: skip


ACTION_RUNS = RunKind(
    name="resource action",
    runs=ActionRun,
    owner="resource",
    lease_model=ResourceActionLease,
    lease_path="resource__action_lease",
    running=ActionRun.State.RUNNING,
    failed=ActionRun.State.FAILED,
    abandoned=ABANDONED,
    queued=ActionRun.State.QUEUED,
    never_started=NEVER_STARTED,
    on_failed=_audit_abandoned,
)


def action_lease(resource: Resource) -> Lease:
    ResourceActionLease.objects.get_or_create(resource_id=resource.pk)
    return Lease(ResourceActionLease, resource.pk)


# --- asking for an action ----------------------------------------------------------------
def resource_action_refusal(
    *, resource: Resource, action: str, managed: list[ManagedBy] | None = None
) -> str:
    """Why `action` cannot be asked of `resource` whoever asks, or "" (the page shows the
    buttons only when this is empty). `managed`: the deployments whose state holds it, when
    the caller has them already."""
    if action not in ActionRun.Action.values:
        return f"Unknown action {action!r}."
    if resource.type != ResourceType.VM:
        return "Only virtual machines can be started, stopped or rebooted."
    if resource.deleted_at is not None:
        return "This resource is gone: there is nothing to act on."
    if action not in provider_get(resource.provider).actions:
        return f"mcloud cannot {action} resources of this provider."
    if not resource.account.is_active:
        return f"{resource.account.name} is disabled or paused: resume it first."
    if managed is None:
        owners = managed_by(
            organization_id=resource.organization_id, resource_ids=[resource.resource_id]
        )
        managed = owners.get(resource.resource_id.lower(), [])
    if deployments := managed:
        return (
            f"The deployment {deployments[0].name} manages it: change it through its "
            "deployment, or Terraform would undo it."
        )
    for guard in ACTION_GUARDS.values():
        if refusal := guard(resource, action):
            return refusal
    return ""


def resource_action_request(
    *, resource: Resource, action: str, user: User, ip: str | None = None
) -> tuple[ActionRun, bool]:
    """(the run that answers `user`'s request for `action` on `resource`, whether it is new).

    PermissionDenied for a viewer or an outsider, ActionRefused when the action cannot be
    asked (`resource_action_refusal`). See the module docstring. A clean-up (delete, release)
    follows its own rules (`inventory.services.cleanups.resource_cleanup_request`)."""
    if action in CLEANUP_ACTIONS:
        from inventory.services.cleanups import resource_cleanup_request  # it imports this

        return resource_cleanup_request(resource=resource, action=action, user=user, ip=ip)
    membership = Membership.objects.filter(
        organization_id=resource.organization_id, user=user
    ).first()
    if membership is None or not membership.role_enum.allows(ACTION_ROLE):
        raise PermissionDenied("Starting, stopping and rebooting need the Member role or higher.")
    return _action_queue(
        resource=resource, action=action, requested_by=user, ip=ip,
        organization=membership.organization, actor_label="",
    )  # fmt: skip


def resource_action_schedule(
    *, resource: Resource, action: str, schedule: PowerSchedule
) -> tuple[ActionRun, bool]:
    """The same request, made by an off-hours schedule (`inventory.services.power_schedules`):
    the same rules bar the role, which was checked when a person saved the schedule. The run
    names the schedule. ActionRefused when the action cannot be asked."""
    return _action_queue(
        resource=resource, action=action, requested_by=None, ip=None,
        organization=schedule.organization, actor_label=f"power schedule {schedule.name}",
        schedule=schedule,
    )  # fmt: skip


def _action_queue(
    *,
    resource: Resource,
    action: str,
    requested_by: User | None,
    ip: str | None,
    organization: Organization,
    actor_label: str,
    schedule: PowerSchedule | None = None,
) -> tuple[ActionRun, bool]:
    if refusal := resource_action_refusal(resource=resource, action=action):
        raise ActionRefused(refusal)
    runs_recover(ACTION_RUNS, owner_id=resource.pk)  # committed whatever happens next
    action_lease(resource)
    with transaction.atomic():
        row_lock(ResourceActionLease.objects.all(), resource.pk)
        active = (
            ActionRun.objects.filter(resource_id=resource.pk, status__in=ACTIVE)
            .order_by("-queued_at", "-id")
            .first()
        )
        if active is not None:
            return active, False
        run = ActionRun.objects.create(
            organization_id=resource.organization_id,
            resource=resource,
            action=action,
            requested_by=requested_by,
            schedule=schedule,
            source=ActionRun.Source.PERSON if schedule is None else ActionRun.Source.SCHEDULE,
            status_before=resource.status,
        )
        audit_record(
            organization=organization, action="resource.action_requested",
            actor=requested_by, actor_label=actor_label, target=resource, ip=ip,
            data={"run": run.pk, "action": action,
                  **({"schedule": schedule.pk} if schedule is not None else {})},
        )  # fmt: skip
        RESOURCE_ACTION.enqueue(run.pk)
    return run, True


# --- an action ---------------------------------------------------------------------------
def _act(adapter: object, run: ActionRun, resource: Resource) -> ActionResult:
    """Ask the provider, once its rate limit allows (shared by every worker)."""
    cleanup = run.action in CLEANUP_ACTIONS
    if cleanup and isinstance(adapter, ResourceCleanups):
        acquire_action_slot(resource.provider)
        return adapter.cleanup(resource.type, resource.resource_id, resource.region)
    if not cleanup and isinstance(adapter, VmActions):
        acquire_action_slot(resource.provider)
        return adapter.vm_action(run.action, resource.resource_id, resource.region)
    raise CloudError(f"mcloud cannot {run.action} resources of this provider.")


def action_run_execute(*, run: ActionRun) -> ActionRun:
    """Carry out a queued run now, in this process: the provider's action, then a re-sync of
    the resource's scope and an event in its history. Returns the run, final."""
    resource = Resource.objects.select_related("account__organization").get(pk=run.resource_id)
    runs_recover(ACTION_RUNS, owner_id=resource.pk)
    lease = action_lease(resource)
    with transaction.atomic():  # the lease and the run's start show together
        token = lease_acquire(lease)
        if token is not None:
            now = timezone.now()
            if not ActionRun.objects.filter(pk=run.pk, status=ActionRun.State.QUEUED).update(
                status=ActionRun.State.RUNNING, started_at=now, lease_token=token
            ):  # recovered meanwhile, or taken by a twin delivery of the task
                lease_release(lease, token)
                run.refresh_from_db()
                return run
            run.status, run.started_at, run.lease_token = ActionRun.State.RUNNING, now, token
    if token is None:
        failed = ActionRun.objects.filter(pk=run.pk, status=ActionRun.State.QUEUED).update(
            status=ActionRun.State.FAILED, error=BUSY, finished_at=timezone.now()
        )
        run.refresh_from_db()
        if failed and run.bulk_id is not None:
            _bulk_run_ended(run.bulk_id)
        elif failed:
            _audit_finished(run, resource)
        return run
    try:
        with lease_kept(lease, token):
            adapter = adapter_for(resource.account)
            result = _act(adapter, run, resource)
    except LeaseLost:
        return _finish(run, resource, error=LEASE_LOST)
    except CloudError as error:
        return _finish(run, resource, error=error.message, code=error.code)
    except Exception as error:
        logger.exception("Action run %s on resource %s failed", run.pk, resource.pk)
        return _finish(run, resource, error=f"Unexpected error ({error.__class__.__name__})")
    return _finish(run, resource, result=result)


def _finish(
    run: ActionRun,
    resource: Resource,
    *,
    result: ActionResult | None = None,
    error: str = "",
    code: str = "",
) -> ActionRun:
    """Record the outcome, re-sync the resource's scope when the provider may have changed
    it (or says it is gone), and add the event. A bulk action's run leaves the re-sync, the
    event and the audit to its bulk action's end (one re-sync per scope)."""
    if result is not None:
        run.status = ActionRun.State.SUCCEEDED if result.changed else ActionRun.State.NOOP
        run.message = result.message[:500]
    else:
        run.status, run.error, run.code = ActionRun.State.FAILED, error[:500], code[:64]
    if run.bulk_id is not None:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "error", "code", "finished_at"])
        _bulk_run_ended(run.bulk_id)
        return run
    if result is None or result.changed or code == "NotFound" or run.action in CLEANUP_ACTIONS:
        run.resync_note = resource_resync(resource=resource)[:300]
    resource.refresh_from_db(fields=["status", "deleted_at"])
    run.status_after = resource.status
    run.finished_at = timezone.now()
    run.save()
    ResourceEvent.objects.create(
        organization_id=resource.organization_id, account_id=resource.account_id,
        resource=resource, action_run=run, kind=ResourceEvent.Kind.ACTION,
        old_status=run.status_before, new_status=run.status_after, occurred_at=run.finished_at,
    )  # fmt: skip
    _audit_finished(run, resource)
    for name, followup in ACTION_FOLLOWUPS.items():
        try:
            followup(run)
        except Exception:  # a follow-up's failure is its own: the run stands
            logger.exception("Follow-up %s of action run %s failed", name, run.pk)
    return run


def _bulk_run_ended(bulk_id: int) -> None:
    from inventory.services.bulk_actions import bulk_action_settle_if_done  # it imports this

    bulk_action_settle_if_done(bulk_id=bulk_id)


def _audit_finished(run: ActionRun, resource: Resource) -> None:
    verb = "failed" if run.status == ActionRun.State.FAILED else "finished"
    audit_record(
        organization=resource.account.organization, action=f"resource.action_{verb}",
        target=resource, actor=run.requested_by,
        actor_label="power schedule" if run.source == run.Source.SCHEDULE else "resource action",
        data={"run": run.pk, "action": run.action, "status": run.status,
              "message": run.message, "error": run.error},
    )  # fmt: skip


def resource_resync(*, resource: Resource) -> str:
    """List the resource's scope again and write it, as a sync does, so the inventory shows
    what the action changed: the cheapest correct re-sync (a scope is the unit a listing is
    complete for, and an incomplete one would retire what it missed). Under the account's
    sync lease; when a sync holds it, that sync is left to show the change. Returns a note
    ("" when done)."""
    account = resource.account
    lease = account_lease(account)
    token = lease_acquire(lease)
    if token is None:
        return "A sync of the account was running; the next one shows the new state."
    try:
        with lease_kept(lease, token):
            listing = adapter_for(account).list_scope(resource.scope)
            ingest_scope(account=account, scope=resource.scope, records=listing_checked(listing))
    except CloudError as error:
        return f"The inventory could not be refreshed: {error.message}"
    except Exception as error:
        logger.exception("Re-sync of resource %s after an action failed", resource.pk)
        return f"The inventory could not be refreshed ({error.__class__.__name__})."
    return ""
