"""Carrying out a run: Terraform in a thread of its own, and this thread doing all the rest.

`run_execute` takes the deployment's lease, starts `TerraformRun` in a helper thread and then
loops until Terraform is done, about ten times a second:
- it runs the state calls that Terraform's state server hands over (the thread bridge), so
  every database access of the run happens here, on this thread's connection;
- every ~0.5 s it appends the new log lines to the run's row with an SQL concat (what was
  flushed survives a restart of the web or the worker process);
- every second it reads the run's `cancel_requested` flag, and calls `TerraformRun.cancel()`
  when it is set (Terraform is interrupted like Ctrl-C, saves its state and unlocks);
- it keeps the lease (`mcloud.leases.lease_kept`: renewed every lease/3 seconds, from a
  background thread too while this one is held up); a lost lease cancels Terraform.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.notifications.events import Event
from inventory.account_adapters import adapter_for
from inventory.models import SyncRun
from inventory.services.sync import sync_run_request
from mcloud.clouds.base import CloudError
from mcloud.leases import LeaseKeeper, LeaseLost, lease_acquire, lease_kept, runs_recover
from provisioning.blueprint_files import BlueprintError
from provisioning.models import DEPLOYMENT_ID_VARIABLE, Deployment, DeploymentRun
from provisioning.plan_costs import estimate_line, plan_cost_estimate
from provisioning.services.drift import drift_clear, drift_record, terraform_differences
from provisioning.services.policies import policies_evaluate_run
from provisioning.services.runs import (
    DEPLOYMENT_RUNS,
    log_append,
    plans_discard_pending,
    run_audit,
    run_notify,
    stale_message,
)
from provisioning.services.state import (
    DatabaseStateStore,
    ThreadBridge,
    deployment_lease,
    lock_refusal_message,
)
from provisioning.terraform import (
    ApplyResult,
    Limits,
    PlanResult,
    RunSpec,
    TerraformConfig,
    TerraformError,
    TerraformRun,
)

logger = logging.getLogger(__name__)
Kind, Status = DeploymentRun.Kind, DeploymentRun.Status
FLUSH_SECONDS = 0.5
CANCEL_CHECK_SECONDS = 1.0
MAX_LOG_CHARS = 2_000_000
_SECRET_ENV = ("SECRET", "TOKEN", "CREDENTIALS", "PASSWORD")


class RunLog:
    """Lines from Terraform's thread, buffered, masked, and flushed by the run's thread."""

    def __init__(self, run_id: int, secrets: list[str]) -> None:
        self.run_id = run_id
        self.secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)
        self._lines: list[str] = []
        self._mutex = threading.Lock()
        self._size = 0
        self._flushed_at = time.monotonic()

    def __call__(self, line: str) -> None:
        for secret in self.secrets:
            line = line.replace(secret, "(masked)")
        with self._mutex:
            if self._size > MAX_LOG_CHARS:
                return
            self._size += len(line) + 1
            if self._size > MAX_LOG_CHARS:
                line = "[mcloud] The log is too long: the rest is not kept."
            self._lines.append(line)

    def note(self, message: str) -> None:
        self(f"[mcloud] {message}")

    def flush(self) -> None:
        with self._mutex:
            lines, self._lines = self._lines, []
        self._flushed_at = time.monotonic()
        if lines:
            log_append(self.run_id, "\n".join(lines) + "\n")

    def flush_if_due(self) -> None:
        if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()


def terraform_config() -> TerraformConfig:
    return TerraformConfig(
        binary=settings.TERRAFORM_BIN,
        plugin_dir=settings.TERRAFORM_PLUGIN_DIR,
        timeout=settings.TERRAFORM_RUN_TIMEOUT,
        cancel_grace=settings.TERRAFORM_CANCEL_GRACE_SECONDS,
        isolated=settings.TERRAFORM_ISOLATION == "on",
        limits=Limits(
            processes=settings.TERRAFORM_MAX_PROCESSES,
            open_files=settings.TERRAFORM_MAX_OPEN_FILES,
            file_size_mb=settings.TERRAFORM_MAX_FILE_MB,
            memory_mb=settings.TERRAFORM_MAX_MEMORY_MB,
            cpu_seconds=settings.TERRAFORM_RUN_TIMEOUT,
            tmp_mb=settings.TERRAFORM_TMP_MB,
        ),
        egress_allow=settings.TERRAFORM_EGRESS_ALLOW,
        work_dir=settings.TERRAFORM_WORK_DIR or None,
    )


def run_execute(*, run_id: int) -> DeploymentRun | None:
    """Carry out a queued run in this process and return it, as stored, once finished
    (None: no such run).

    A run whose deployment another run holds waits a few seconds for it, then fails with a
    clear message without running Terraform. A run already taken by another worker (a task
    delivered twice) is left alone.
    """
    run = _load(run_id)
    if run is None or run.status != Status.QUEUED:
        return run
    deployment = run.deployment
    runs_recover(DEPLOYMENT_RUNS, owner_id=deployment.pk)
    token = _lease_wait(deployment.pk)
    if token is None:
        _refuse_busy(run)
        return _load(run_id)
    with lease_kept(deployment_lease(deployment.pk), token) as keeper:
        try:
            if DeploymentRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
                status=Status.RUNNING, started_at=timezone.now(), lease_token=token
            ):  # else cancelled meanwhile, or taken by a twin delivery of the task
                reloaded = _load(run_id)
                assert reloaded is not None
                run = reloaded
                _execute(run, keeper)
        except LeaseLost:
            _run_finish(run, Status.FAILED, "Stopped: another worker took over the deployment.")
        except Exception as error:
            logger.exception("Provisioning run %s failed", run.pk)
            _run_finish(run, Status.FAILED, f"Unexpected error ({error.__class__.__name__}).")
    return _load(run_id)


def _refuse_busy(run: DeploymentRun) -> None:
    holder = run.deployment.runs.filter(status=Status.RUNNING).exclude(pk=run.pk).first()
    busy = f" (#{holder.pk}, {holder.get_kind_display().lower()})" if holder else ""
    error = f"Refused: another run of this deployment{busy} was in progress."
    if DeploymentRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=Status.FAILED, error=error, started_at=timezone.now()
    ):  # else cancelled meanwhile, or taken by a twin delivery of the task
        _run_finish(run, Status.FAILED, error)


def _load(run_id: int) -> DeploymentRun | None:
    return (
        DeploymentRun.objects.select_related(
            "deployment__organization",
            "deployment__account",
            "blueprint_version__blueprint",
            "plan_run",
            "started_by",
        )
        .filter(pk=run_id)
        .first()
    )


def _lease_wait(deployment_id: int) -> str | None:
    deadline = time.monotonic() + settings.PROVISIONING_LEASE_WAIT_SECONDS
    while True:
        token = lease_acquire(deployment_lease(deployment_id))
        if token is not None or time.monotonic() >= deadline:
            return token
        time.sleep(0.25)


def _execute(run: DeploymentRun, keeper: LeaseKeeper) -> DeploymentRun:
    deployment = run.deployment
    version = run.blueprint_version
    variables = {**deployment.variables, **deployment.sensitive_variables}
    if any(v["name"] == DEPLOYMENT_ID_VARIABLE for v in version.variables):
        variables[DEPLOYMENT_ID_VARIABLE] = str(deployment.pk)
    spec = RunSpec(
        files=dict(version.files),
        variables=variables,
        sensitive=version.sensitive_names,
        egress=deployment.account is not None,
    )
    secrets = [str(deployment.sensitive_variables[k]) for k in deployment.sensitive_variables]
    log = RunLog(run.pk, secrets)
    who = run.started_by.email if run.started_by else "mcloud"
    log.note(f"{run.get_kind_display()} #{run.pk} of {deployment.name} ({version}), by {who}.")
    store = DatabaseStateStore(deployment, lease_token=keeper.token, run_id=run.pk)
    if run.cancel_requested:
        log.flush()
        return _run_finish(run, Status.CANCELLED, "Cancelled before Terraform started.")
    if run.kind == Kind.APPLY:
        problem = _apply_refusal(run, store)
        if problem:
            log.flush()
            if run.plan_run_id is not None:  # always, for an apply
                DeploymentRun.objects.filter(pk=run.plan_run_id).update(plan_file=None)
            return _run_finish(run, Status.FAILED, problem)
    if deployment.account is not None:
        try:
            spec.env = adapter_for(deployment.account).terraform_env()
        except CloudError as error:
            log.flush()
            return _run_finish(run, Status.FAILED, f"{deployment.account.name}: {error.message}")
        log.secrets = sorted(
            {*log.secrets, *(v for k, v in spec.env.items() if any(w in k for w in _SECRET_ENV))},
            key=len,
            reverse=True,
        )
    try:
        result = _drive(run, keeper, store, log, spec)
    except (TerraformError, BlueprintError) as error:
        log.flush()
        return _run_finish(run, Status.FAILED, str(error))
    if isinstance(result, PlanResult) and run.kind == Kind.DRIFT:
        return _drift_checked(run, result, store)
    if isinstance(result, PlanResult):
        return _planned(run, result, store)
    return _applied(run, result, store)


def _apply_refusal(run: DeploymentRun, store: DatabaseStateStore) -> str:
    plan = run.plan_run
    if plan is None or not plan.plan_file:
        return "Refused: the plan file is gone (it was discarded or already applied). Plan again."
    current = store.current_serial()
    if current != plan.state_serial:
        return "Refused: " + stale_message(plan.state_serial, current)
    return ""


def _drive(
    run: DeploymentRun, keeper: LeaseKeeper, store: DatabaseStateStore, log: RunLog, spec: RunSpec
) -> PlanResult | ApplyResult:
    """Run Terraform in a helper thread while this one serves it (see the module docstring)."""
    bridge = ThreadBridge()
    store.bridge = bridge
    terraform = TerraformRun(terraform_config(), store, log)
    plan_bytes = run.plan_run.plan_file if run.kind == Kind.APPLY and run.plan_run else None

    def operation() -> PlanResult | ApplyResult:
        if run.kind == Kind.APPLY:
            assert plan_bytes is not None
            return terraform.apply(spec, plan_bytes)
        return terraform.plan(
            spec, destroy=run.kind == Kind.DESTROY, refresh_only=run.kind == Kind.DRIFT
        )

    outcome: dict[str, Any] = {}
    helper = threading.Thread(
        target=_capture(operation, outcome), name=f"terraform-run-{run.pk}", daemon=True
    )
    helper.start()
    try:
        _serve(run, keeper, bridge, log, terraform, helper)
    except BaseException:
        terraform.cancel()  # then let Terraform stop, save its state and unlock
        deadline = time.monotonic() + terraform.config.cancel_grace * 3 + 30
        while helper.is_alive() and time.monotonic() < deadline:
            bridge.pump(0.1)
        raise
    finally:
        bridge.pump(0)
        log.flush()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _capture(fn: Callable[[], Any], outcome: dict[str, Any]) -> Callable[[], None]:
    def target() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 (re-raised in the run's thread)
            outcome["error"] = exc

    return target


def _serve(
    run: DeploymentRun,
    keeper: LeaseKeeper,
    bridge: ThreadBridge,
    log: RunLog,
    terraform: TerraformRun,
    helper: threading.Thread,
) -> None:
    next_check = time.monotonic() + CANCEL_CHECK_SECONDS
    while helper.is_alive():
        bridge.pump(0.1)
        log.flush_if_due()
        now = time.monotonic()
        if now >= next_check:
            next_check = now + CANCEL_CHECK_SECONDS
            if not terraform.cancelled and _cancel_requested(run.pk):
                terraform.cancel()
        keeper.check()  # renews when due; LeaseLost cancels Terraform (see _drive)


def _cancel_requested(run_id: int) -> bool:
    return DeploymentRun.objects.filter(pk=run_id, cancel_requested=True).exists()


# --- outcomes ------------------------------------------------------------------------------------
def _interrupted(result: PlanResult | ApplyResult) -> tuple[str, str] | None:
    if result.cancelled:
        return Status.CANCELLED, "Cancelled while Terraform ran."
    if result.timed_out:
        return Status.FAILED, f"Timed out after {settings.TERRAFORM_RUN_TIMEOUT} s."
    return None


def _failure(result: PlanResult | ApplyResult, store: DatabaseStateStore) -> str:
    """Why Terraform failed: the state lock someone else holds, or see the log."""
    if store.refused_by is not None:
        return lock_refusal_message(store.refused_by)
    return f"Terraform failed (exit code {result.exit_code}): see the log."


def _planned(run: DeploymentRun, result: PlanResult, store: DatabaseStateStore) -> DeploymentRun:
    interrupted = _interrupted(result)
    if interrupted:
        return _run_finish(run, *interrupted, exit_code=result.exit_code)
    if not result.ok:
        return _run_finish(run, Status.FAILED, _failure(result, store), exit_code=result.exit_code)
    changes = result.summary.has_changes
    run.state_serial, run.plan_summary = result.state_serial, asdict(result.summary)
    run.plan_json = result.plan_json or {}
    if changes:
        run.plan_file = result.plan
        run.cost_estimate = plan_cost_estimate(run.plan_json)
        log_append(run.pk, f"[mcloud] {estimate_line(run.cost_estimate)}\n")
        _policies_check(run)
    with transaction.atomic():
        plans_discard_pending(
            deployment=run.deployment, reason=f"superseded by run #{run.pk}",
            user=run.started_by, exclude=run.pk,
        )  # fmt: skip
        run.save(
            update_fields=["plan_file", "state_serial", "plan_summary", "plan_json",
                           "cost_estimate"]
        )  # fmt: skip
        # Nothing to apply: the plan finishes as "No changes", with nothing to approve.
        return _run_finish(run, Status.PLANNED if changes else Status.NO_CHANGES, "", exit_code=0)


def _drift_checked(
    run: DeploymentRun, result: PlanResult, store: DatabaseStateStore
) -> DeploymentRun:
    """A refresh-only plan: its `resource_drift` is the deployment's drift as Terraform sees
    it. Nothing awaits approval and no pending plan is superseded; the plan file is dropped."""
    interrupted = _interrupted(result)
    if interrupted:
        return _run_finish(run, *interrupted, exit_code=result.exit_code)
    if not result.ok:
        return _run_finish(run, Status.FAILED, _failure(result, store), exit_code=result.exit_code)
    differences = terraform_differences(result.plan_json)
    run.state_serial = result.state_serial
    run.plan_summary = {"drift": len(differences)}
    run.save(update_fields=["state_serial", "plan_summary"])
    with transaction.atomic():
        drift_record(deployment=run.deployment, terraform=differences, run=run)
        status = Status.DRIFTED if differences else Status.NO_CHANGES
        return _run_finish(run, status, "", exit_code=result.exit_code)


def _policies_check(run: DeploymentRun) -> None:
    """Evaluate the organization's policies over the plan before it awaits approval, and say
    in the log what they found."""
    results = policies_evaluate_run(run=run, plan=run.plan_json, cost_estimate=run.cost_estimate)
    if not results:
        return
    counts = Counter(r.status for r in results)
    said = ", ".join(f"{counts[s]} {s}" for s in ("passed", "failed", "error") if counts[s])
    blockers = [r.policy_name for r in results if r.blocks]
    line = f"[mcloud] Policies: {said}."
    if blockers:
        line += f" Approval is blocked by mandatory policies: {', '.join(blockers)}."
    log_append(run.pk, line + "\n")


def _applied(run: DeploymentRun, result: ApplyResult, store: DatabaseStateStore) -> DeploymentRun:
    deployment = run.deployment
    if result.unsaved_state is not None:
        store.save_recovered(result.unsaved_state)
        log_append(
            run.pk, "[mcloud] The state Terraform could not save is kept as a new version.\n"
        )
    destroy = run.plan_run is not None and run.plan_run.kind == Kind.DESTROY
    if run.plan_run_id is not None:  # always, for an apply
        DeploymentRun.objects.filter(pk=run.plan_run_id).update(plan_file=None)  # used once
    run.outputs = masked_outputs(result.outputs)
    run.save(update_fields=["outputs"])
    if result.ok:
        deployment.status = Deployment.Status.DESTROYED if destroy else Deployment.Status.ACTIVE
        deployment.outputs = {} if destroy else run.outputs
        deployment.save(update_fields=["status", "outputs", "updated_at"])
        drift_clear(deployment=deployment)
        finished = _run_finish(run, Status.APPLIED, "", exit_code=0)
    else:
        # A cancelled apply may have changed part of the deployment: said as such, not failed.
        deployment.status = (
            Deployment.Status.CANCELLED if result.cancelled else Deployment.Status.FAILED
        )
        deployment.save(update_fields=["status", "updated_at"])
        interrupted = _interrupted(result) or (Status.FAILED, _failure(result, store))
        finished = _run_finish(run, *interrupted, exit_code=result.exit_code)
    _queue_sync(deployment)
    return finished


def masked_outputs(outputs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Outputs as stored and shown: a sensitive one keeps its name and type, never its value."""
    return {
        name: {
            "value": None if doc.get("sensitive") else doc.get("value"),
            "sensitive": bool(doc.get("sensitive")),
            "type": doc.get("type"),
        }
        for name, doc in sorted(outputs.items())
    }


def _queue_sync(deployment: Deployment) -> None:
    """After an apply on an account, sync it so that the new resources show in the inventory."""
    account = deployment.account
    if account is None or not account.is_active:
        return
    sync_run_request(account=account, trigger=SyncRun.Trigger.DEPLOYMENT)


def _run_finish(
    run: DeploymentRun, status: str, error: str, *, exit_code: int | None = None
) -> DeploymentRun:
    now = timezone.now()
    run.status, run.error, run.finished_at = status, error[:500], now
    run.started_at = run.started_at or now
    run.exit_code = exit_code
    fields = ["status", "error", "finished_at", "started_at", "exit_code"]
    if status != Status.PLANNED:
        run.plan_file = None  # only a plan awaiting approval keeps its file
        fields.append("plan_file")
    with transaction.atomic():  # the last line and the final status show together
        log_append(run.pk, f"[mcloud] {_closing_line(run)}\n")
        run.save(update_fields=fields)
    actions: dict[str, str] = {
        Status.PLANNED: "planned",
        Status.NO_CHANGES: "planned",
        Status.CANCELLED: "cancelled",
        Status.FAILED: "failed",
    }
    action = actions.get(status)
    if run.kind == Kind.DRIFT and status in (Status.DRIFTED, Status.NO_CHANGES):
        action = "drift_checked"
    if status == Status.APPLIED:
        destroy = run.plan_run is not None and run.plan_run.kind == Kind.DESTROY
        action = "destroyed" if destroy else "applied"
    if action:
        data: dict[str, Any] = {"status": status}
        if action == "drift_checked":
            data["differences"] = run.plan_summary.get("drift", 0)
        elif status in (Status.PLANNED, Status.NO_CHANGES):
            s = run.plan_summary
            data.update({k: s.get(k, 0) for k in ("create", "update", "replace", "destroy")})
        if status == Status.APPLIED:
            data["outputs"] = sorted(run.outputs)
        if error:
            data["error"] = error[:200]
        run_audit(run, action, actor=run.started_by, **data)
    events: dict[str, Event] = {
        Status.PLANNED: Event.PLAN_AWAITING_APPROVAL,
        Status.APPLIED: Event.RUN_APPLIED,
        Status.FAILED: Event.RUN_FAILED,
    }
    event = events.get(status)
    if event is not None:
        run_notify(run, event)
    return run


def _closing_line(run: DeploymentRun) -> str:
    if run.kind == Kind.DRIFT and run.status == Status.DRIFTED:
        n = run.plan_summary.get("drift", 0)
        return f"Drift found: {n} change(s) made outside Terraform. Reconcile with a plan."
    if run.kind == Kind.DRIFT and run.status == Status.NO_CHANGES:
        return "No drift: the real resources match the state."
    if run.status == Status.PLANNED:
        s = run.plan_summary
        return (
            f"Planned: {s.get('create', 0)} to create, {s.get('update', 0)} to update, "
            f"{s.get('replace', 0)} to replace, {s.get('destroy', 0)} to destroy. "
            "Awaiting approval."
        )
    if run.status == Status.NO_CHANGES:
        return "No changes: the infrastructure matches the configuration; nothing to apply."
    if run.status == Status.FAILED:
        return f"Failed: {run.error}"
    return f"{run.get_status_display()}.{' ' + run.error if run.error else ''}"
