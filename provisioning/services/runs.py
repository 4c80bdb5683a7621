"""What people do with runs: plan, approve and apply, discard, cancel; and the recovery of
runs whose worker died. The worker side (running Terraform) is in `services.worker`.

Rules, checked here before anything is queued, in a transaction holding the deployment row:
- one queued or running run per deployment (the worker's lease enforces it again);
- a newer plan supersedes the plans awaiting approval (they become discarded);
- only a plan awaiting approval can be approved, only by someone else than who planned it when
  the organization requires a second person, and only while the state is the one it was
  planned against (a stale plan is refused before anything runs);
- a destroy plan is approved only with the deployment's name typed in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.tasks import async_task

from accounts.audit import audit_record
from accounts.exceptions import ActionRefused
from accounts.models import User
from accounts.roles import Role
from provisioning.models import Deployment, DeploymentRun
from provisioning.services.deployments import provisioning_settings
from provisioning.services.state import DatabaseStateStore

ABANDONED = "Abandoned: the worker running this run stopped before it finished."
NEVER_STARTED = "No worker started this run in time."
Kind, Status = DeploymentRun.Kind, DeploymentRun.Status


def run_audit(
    run: DeploymentRun,
    action: str,
    *,
    actor: User | None = None,
    request: Any = None,
    **data: Any,
) -> None:
    """Audit a run's event, never with a variable value (only ids, kinds and counts)."""
    audit_record(
        organization=run.deployment.organization,
        action=f"deployment.{action}",
        actor=actor,
        actor_label="provisioning worker",
        target=run.deployment,
        data={"run": run.pk, "kind": run.kind, **data},
        request=request,
    )


def _enqueue(run: DeploymentRun) -> None:
    transaction.on_commit(
        lambda: async_task("provisioning.tasks.run_execute", run.pk, group="provisioning")
    )


def _locked(deployment: Deployment) -> Deployment:
    """The deployment row, held until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions serialize writers anyway)."""
    return (
        Deployment.objects.select_for_update().select_related("organization").get(pk=deployment.pk)
    )


def _refuse_if_busy(deployment: Deployment) -> None:
    active = deployment.runs.filter(status__in=DeploymentRun.ACTIVE).order_by("-pk").first()
    if active is not None:
        raise ActionRefused(
            f"{active.get_kind_display()} #{active.pk} of {deployment.name} is "
            f"{active.get_status_display().lower()}: wait for it to finish, or cancel it."
        )


def plans_discard_pending(
    *, deployment: Deployment, reason: str, user: User | None, exclude: int | None = None
) -> int:
    """Discard the plans of `deployment` awaiting approval, dropping their plan files."""
    pending = list(deployment.runs.filter(status=Status.PLANNED).exclude(pk=exclude))
    for run in pending:
        if DeploymentRun.objects.filter(pk=run.pk, status=Status.PLANNED).update(
            status=Status.DISCARDED, plan_file=None, error=f"Discarded: {reason}."[:500]
        ):
            run.deployment = deployment
            run_audit(run, "discarded", actor=user, reason=reason)
    return len(pending)


def run_plan_queue(
    *,
    deployment: Deployment,
    user: User | None,
    destroy: bool = False,
    request: Any = None,
    enqueue: bool = True,
) -> DeploymentRun:
    """Queue a plan (or a destroy plan) of the deployment's current version and values."""
    with transaction.atomic():
        deployment = _locked(deployment)
        _refuse_if_busy(deployment)
        if destroy and deployment.status in (Deployment.Status.NEW, Deployment.Status.DESTROYED):
            raise ActionRefused(f"{deployment.name} has nothing to destroy.")
        run = DeploymentRun.objects.create(
            organization=deployment.organization,
            deployment=deployment,
            kind=Kind.DESTROY if destroy else Kind.PLAN,
            blueprint_version=deployment.blueprint_version,
            started_by=user,
        )
        run.deployment = deployment
        plans_discard_pending(
            deployment=deployment, reason=f"superseded by run #{run.pk}", user=user, exclude=run.pk
        )
        Deployment.objects.filter(pk=deployment.pk).update(last_run=run)
        run_audit(run, "plan_requested", actor=user, request=request)
        if enqueue:
            _enqueue(run)
    return run


def run_approve(
    *,
    plan_run: DeploymentRun,
    user: User,
    confirm_name: str | None = None,
    comment: str = "",
    request: Any = None,
    enqueue: bool = True,
) -> DeploymentRun:
    """Approve a plan awaiting approval: queue an apply of exactly its saved plan file. The
    approver's `comment`, if any, is kept on the plan and its apply, for their history."""
    with transaction.atomic():
        deployment = _locked(plan_run.deployment)
        plan_run = DeploymentRun.objects.select_for_update().get(pk=plan_run.pk)
        plan_run.deployment = deployment
        if not plan_run.is_plan or plan_run.status != Status.PLANNED or not plan_run.plan_file:
            raise ActionRefused(
                f"Run #{plan_run.pk} is not a plan awaiting approval "
                f"({plan_run.get_status_display().lower()}): plan again."
            )
        rules = provisioning_settings(deployment.organization)
        if rules.require_second_approver and plan_run.started_by_id == user.pk:
            raise ActionRefused(
                "This organization requires a second person: someone other than who made the "
                "plan must approve it."
            )
        if plan_run.kind == Kind.DESTROY and (confirm_name or "").strip() != deployment.name:
            raise ActionRefused(f"Type the deployment's name, {deployment.name}, to destroy it.")
        _refuse_if_busy(deployment)
        current = DatabaseStateStore(deployment).current_serial()
        if current != plan_run.state_serial:
            raise ActionRefused(stale_message(plan_run.state_serial, current))
        now, comment = timezone.now(), comment.strip()[:500]
        DeploymentRun.objects.filter(pk=plan_run.pk).update(
            status=Status.APPROVED, approved_by=user, approved_at=now, comment=comment
        )
        run = DeploymentRun.objects.create(
            organization=deployment.organization, deployment=deployment, kind=Kind.APPLY,
            blueprint_version=plan_run.blueprint_version, plan_run=plan_run, started_by=user,
            approved_by=user, approved_at=now, comment=comment,
        )  # fmt: skip
        run.deployment = deployment
        Deployment.objects.filter(pk=deployment.pk).update(last_run=run)
        run_audit(run, "approved", actor=user, request=request, plan=plan_run.pk,
                  destroy=plan_run.kind == Kind.DESTROY)  # fmt: skip
        if enqueue:
            _enqueue(run)
    return run


def stale_message(planned: int | None, current: int | None) -> str:
    def serial(value: int | None) -> str:
        return "no state" if value is None else f"state serial {value}"

    return (
        f"This plan is stale: it was made against {serial(planned)}, and the deployment now has "
        f"{serial(current)}. Plan again."
    )


def run_discard(*, run: DeploymentRun, user: User, comment: str = "", request: Any = None) -> None:
    """Throw a plan awaiting approval away, with an optional comment for its history."""
    updated = DeploymentRun.objects.filter(pk=run.pk, status=Status.PLANNED).update(
        status=Status.DISCARDED, plan_file=None, error=f"Discarded by {user.email}.",
        discarded_by=user, discarded_at=timezone.now(), comment=comment.strip()[:500],
    )  # fmt: skip
    if not updated:
        raise ActionRefused("Only a plan awaiting approval can be discarded.")
    run_audit(run, "discarded", actor=user, request=request, reason="discarded")


def cancel_permission_check(run: DeploymentRun, role: Role) -> None:
    """Members cancel plans; applies are the admins' to cancel, as they are to start."""
    if run.kind == Kind.APPLY and not role.allows(Role.ADMIN):
        raise PermissionDenied("Cancelling an apply needs the Admin role or higher.")


def run_cancel(*, run: DeploymentRun, user: User, request: Any = None) -> str:
    """Cancel a queued run at once, or ask the worker running it to stop Terraform.

    Returns the run's status afterwards ("cancelled", or "running" until the worker stops).
    """
    now = timezone.now()
    if DeploymentRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=now,
        error=f"Cancelled by {user.email} before it started.",
    ):  # fmt: skip
        if run.kind == Kind.APPLY:  # nothing ran: the plan may still be approved
            DeploymentRun.objects.filter(pk=run.plan_run_id, status=Status.APPROVED).update(
                status=Status.PLANNED, approved_by=None, approved_at=None, comment=""
            )
        run_audit(run, "cancelled", actor=user, request=request, before_start=True)
        return Status.CANCELLED
    if DeploymentRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(cancel_requested=True):
        run_audit(run, "cancel_requested", actor=user, request=request)
        return Status.RUNNING
    raise ActionRefused("This run has already finished.")


def log_append(run_id: int, text: str) -> None:
    """Append to a run's log in SQL, so that nothing read before is rewritten."""
    if text:
        DeploymentRun.objects.filter(pk=run_id).update(log=Concat(F("log"), Value(text)))


def runs_recover_abandoned(*, deployment_id: int | None = None) -> int:
    """Mark failed the runs whose worker died (running without a live lease of theirs), and
    the queued runs that no worker started in time."""
    now = timezone.now()
    running = DeploymentRun.objects.filter(status=Status.RUNNING).select_related("deployment")
    queued = DeploymentRun.objects.filter(
        status=Status.QUEUED, queued_at__lt=now - timedelta(seconds=settings.TASK_TIMEOUT)
    ).select_related("deployment")
    if deployment_id is not None:
        running = running.filter(deployment_id=deployment_id)
        queued = queued.filter(deployment_id=deployment_id)
    dead = [
        (run, ABANDONED)
        for run in running
        if run.deployment.lease_token != run.lease_token
        or run.deployment.lease_until is None
        or run.deployment.lease_until < now
    ] + [(run, NEVER_STARTED) for run in queued]
    recovered = 0
    for run, reason in dead:
        with transaction.atomic():
            if not DeploymentRun.objects.filter(pk=run.pk, status=run.status).update(
                status=Status.FAILED, error=reason, finished_at=now
            ):
                continue
            log_append(run.pk, f"[mcloud] Failed: {reason}\n")
        recovered += 1
        if run.kind == Kind.APPLY and run.started_at is not None:
            Deployment.objects.filter(pk=run.deployment_id).update(status=Deployment.Status.FAILED)
        run_audit(run, "failed", error=reason)
    return recovered
