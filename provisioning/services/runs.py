"""What people do with runs: plan, approve and apply, discard, cancel; and what recovering a
run whose worker died means here. The worker side (running Terraform) is in `services.worker`.

Every request for work (plan, approve, cancel, edit, force unlock, and the worker taking a run)
first recovers the deployment's dead runs, then holds its row (`deployment_for_work`): a run
whose worker died is failed and audited, and the state lock its Terraform held is released
(audited too), so the request acts at once, never on a ghost. Then these rules, checked in the
transaction holding the row, before anything is queued:
- one queued or running run per deployment (the worker's lease enforces it again);
- a newer plan supersedes the plans awaiting approval (they become discarded);
- only a plan awaiting approval can be approved, only by someone else than who planned it when
  the organization requires a second person, and only while the state is the one it was
  planned against (a stale plan is refused before anything runs);
- a destroy plan is approved only with the deployment's name typed in;
- a plan that failed a mandatory policy is approved only once an owner overrode it
  (`services.policies`).

What people hear of runs (`run_notify`): a plan awaiting approval, an apply (or destroy)
applied, and any run that failed, the worker's dead runs included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from accounts.roles import Role
from mcloud.errors import ActionRefused
from mcloud.leases import RunKind, row_lock, runs_recover
from provisioning.models import Deployment, DeploymentRun
from provisioning.selectors import provisioning_settings
from provisioning.services.policies import run_policy_refusal
from provisioning.services.state import DatabaseStateStore
from provisioning.tasks import RUN_EXECUTE

RUN_ABANDONED = "Abandoned: the worker running this run stopped before it finished."
NEVER_STARTED = "No worker started this run in time."
Kind, Status = DeploymentRun.Kind, DeploymentRun.Status


def run_audit(
    run: DeploymentRun,
    action: str,
    *,
    actor: User | None = None,
    ip: str | None = None,
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
        ip=ip,
    )


def run_notify(run: DeploymentRun, event: Event) -> None:
    """Tell the organization about a run that awaits approval, was applied or failed."""
    deployment = run.deployment
    kind = run.get_kind_display()
    if event == Event.PLAN_AWAITING_APPROVAL:
        title, text = f"{kind} #{run.pk} of {deployment.name} awaits approval", ""
    elif event == Event.RUN_APPLIED:
        destroy = run.plan_run is not None and run.plan_run.kind == Kind.DESTROY
        done = "destroyed" if destroy else "applied"
        title, text = f"{deployment.name} was {done} (run #{run.pk})", ""
    else:
        title, text = f"{kind} #{run.pk} of {deployment.name} failed", run.error
    facts: list[tuple[str, object]] = [("Deployment", deployment.name)]
    if run.plan_summary:
        s = run.plan_summary
        facts.append(("Changes", f"{s.get('create', 0)} to create, {s.get('update', 0)} to "
                      f"update, {s.get('replace', 0)} to replace, {s.get('destroy', 0)} to "
                      "destroy"))  # fmt: skip
    who = run.started_by.email if run.started_by_id and run.started_by else "mcloud"
    facts.append(("Started by", who))
    if event == Event.PLAN_AWAITING_APPROVAL:
        blockers = [r.policy_name for r in run.policy_results.all() if r.blocks]
        if blockers:
            facts.append(("Blocked by policies", ", ".join(blockers)))
    notify(
        organization=deployment.organization, event=event, title=title, text=text,
        url=reverse("provisioning:run_detail", args=[run.pk]), facts=facts,
    )  # fmt: skip


def _enqueue(run: DeploymentRun) -> None:
    RUN_EXECUTE.enqueue(run.pk)


@contextmanager
def deployment_for_work(deployment: Deployment) -> Iterator[Deployment]:
    """For a request for work: the deployment's dead runs are recovered (committed whatever the
    request decides next), then a transaction holds the deployment's row for the block."""
    runs_recover(DEPLOYMENT_RUNS, owner_id=deployment.pk)
    with transaction.atomic():
        yield row_lock(Deployment.objects.select_related("organization"), deployment.pk)


def refuse_if_busy(deployment: Deployment) -> None:
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
    planned = deployment.runs.filter(status=Status.PLANNED)
    pending = list(planned.exclude(pk=exclude) if exclude is not None else planned)
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
    ip: str | None = None,
    enqueue: bool = True,
) -> DeploymentRun:
    """Queue a plan (or a destroy plan) of the deployment's current version and values."""
    with deployment_for_work(deployment) as deployment:
        refuse_if_busy(deployment)
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
        run_audit(run, "plan_requested", actor=user, ip=ip)
        if enqueue:
            _enqueue(run)
    return run


def run_approve(
    *,
    plan_run: DeploymentRun,
    user: User,
    confirm_name: str | None = None,
    comment: str = "",
    ip: str | None = None,
    enqueue: bool = True,
) -> DeploymentRun:
    """Approve a plan awaiting approval: queue an apply of exactly its saved plan file. The
    approver's `comment`, if any, is kept on the plan and its apply, for their history."""
    with deployment_for_work(plan_run.deployment) as deployment:
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
        refusal = run_policy_refusal(plan_run)
        if refusal:
            raise ActionRefused(refusal)
        refuse_if_busy(deployment)
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
        run_audit(run, "approved", actor=user, ip=ip, plan=plan_run.pk,
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


def run_discard(
    *, run: DeploymentRun, user: User, comment: str = "", ip: str | None = None
) -> None:
    """Throw a plan awaiting approval away, with an optional comment for its history."""
    updated = DeploymentRun.objects.filter(pk=run.pk, status=Status.PLANNED).update(
        status=Status.DISCARDED, plan_file=None, error=f"Discarded by {user.email}.",
        discarded_by=user, discarded_at=timezone.now(), comment=comment.strip()[:500],
    )  # fmt: skip
    if not updated:
        raise ActionRefused("Only a plan awaiting approval can be discarded.")
    run_audit(run, "discarded", actor=user, ip=ip, reason="discarded")


def cancel_permission_check(run: DeploymentRun, role: Role) -> None:
    """Members cancel plans; applies are the admins' to cancel, as they are to start."""
    if run.kind == Kind.APPLY and not role.allows(Role.ADMIN):
        raise PermissionDenied("Cancelling an apply needs the Admin role or higher.")


def run_cancel(*, run: DeploymentRun, user: User, ip: str | None = None) -> str:
    """Cancel a queued run at once, or ask the worker running it to stop Terraform.

    Returns the run's status afterwards ("cancelled", or "running" until the worker stops).
    A run whose worker died is failed first (as any request for work does), and cancelling it
    is refused with that news.
    """
    now = timezone.now()
    with deployment_for_work(run.deployment):
        if DeploymentRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
            status=Status.CANCELLED, cancel_requested=True, finished_at=now,
            error=f"Cancelled by {user.email} before it started.",
        ):  # fmt: skip
            if run.kind == Kind.APPLY and run.plan_run_id is not None:
                # Nothing ran: the plan may still be approved.
                DeploymentRun.objects.filter(pk=run.plan_run_id, status=Status.APPROVED).update(
                    status=Status.PLANNED, approved_by=None, approved_at=None, comment=""
                )
            run_audit(run, "cancelled", actor=user, ip=ip, before_start=True)
            return Status.CANCELLED
        if DeploymentRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            cancel_requested=True
        ):
            run_audit(run, "cancel_requested", actor=user, ip=ip)
            return Status.RUNNING
    if DeploymentRun.objects.filter(pk=run.pk, error=RUN_ABANDONED).exists():
        raise ActionRefused(
            f"The worker running #{run.pk} had stopped before it finished: the run is now marked "
            "failed, and the deployment is free for the next plan."
        )
    raise ActionRefused("This run has already finished.")


def log_append(run_id: int, text: str) -> None:
    """Append to a run's log in SQL, so that nothing read before is rewritten."""
    if text:
        DeploymentRun.objects.filter(pk=run_id).update(log=Concat(F("log"), Value(text)))


# --- recovery -------------------------------------------------------------------------------------
def _run_abandoned(run: DeploymentRun, reason: str) -> None:
    """A run failed by recovery (`mcloud.leases.runs_recover`): its log ends with why, an apply
    that had started leaves the deployment failed, and the state lock its Terraform held (if
    any) is released; each audited."""
    log_append(run.pk, f"[mcloud] Failed: {reason}\n")
    deployment = Deployment.objects.select_related("organization").get(pk=run.deployment_id)
    run.deployment = deployment
    if run.kind == Kind.APPLY and run.started_at is not None:
        Deployment.objects.filter(pk=deployment.pk).update(status=Deployment.Status.FAILED)
    run_audit(run, "failed", error=reason)
    run.error = reason
    run_notify(run, Event.RUN_FAILED)
    held = DatabaseStateStore(deployment).release_lock_of_run(run.pk)
    if held is not None:
        log_append(run.pk, "[mcloud] Released the state lock its Terraform held.\n")
        audit_record(
            organization=deployment.organization, action="deployment.state_unlocked",
            actor_label="provisioning recovery", target=deployment,
            data={"lock": held.id, "run": run.pk, "reason": "the worker running it stopped",
                  "at": timezone.now().isoformat()},
        )  # fmt: skip


DEPLOYMENT_RUNS = RunKind(
    name="deployment",
    runs=DeploymentRun,
    owner="deployment",
    lease_model=Deployment,
    lease_path="deployment",
    running=Status.RUNNING,
    failed=Status.FAILED,
    abandoned=RUN_ABANDONED,
    queued=Status.QUEUED,
    never_started=NEVER_STARTED,
    on_failed=_run_abandoned,
)
