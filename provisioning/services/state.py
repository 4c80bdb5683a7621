"""Who may touch a deployment, and where its Terraform state lives.

- **The run lease**: at most one run per deployment at a time, across every worker on every host.
  A run holds the deployment's lease (`mcloud.leases`) while it works. A worker that dies leaves
  the lease to expire; the next request for work on the deployment then marks its run failed
  (`services.runs`). Its Terraform died with it (`provisioning.lifeline`).
- **The state store**: `DatabaseStateStore` is the engine's `StateStore` on the database. Every
  state Terraform saves is a new encrypted `DeploymentState` row; Terraform's lock is a
  conditional UPDATE of the deployment row, so it holds across processes. The lock records the
  run whose Terraform took it: when that run is failed because its worker died, recovery
  releases the lock (audited). A lock held by anything else stays until an admin forces it
  open (`state_force_unlock`, refused while a run holds the lease). Each save also rewrites
  the provider ids the state holds (`services.managed`): what "managed" means.
- **The thread bridge**: Terraform's state requests arrive on the state server's threads, but a
  run's database work belongs to the thread that runs it (its connection, and in tests its open
  transaction). The bridge hands those calls over to the run's thread, which runs them between
  its other chores (see `services.worker`).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mcloud.leases import Lease, lease_is_live, lease_renew
from provisioning.models import Deployment, DeploymentState
from provisioning.services.managed import deployment_resources_record
from provisioning.state_server import StateLock, state_serial

BRIDGE_CALL_TIMEOUT = 120.0  # seconds a state request waits for the run's thread


# --- the run lease -------------------------------------------------------------------------------
def deployment_lease(deployment_id: int) -> Lease:
    return Lease(Deployment, deployment_id)


def deployment_lease_live(deployment: Deployment) -> bool:
    """Whether a run holds the deployment's lease (as `deployment` was read)."""
    return lease_is_live(deployment.lease_until)


# --- the thread bridge ---------------------------------------------------------------------------
class ThreadBridge:
    """Runs calls made on other threads in the thread that created it, when it `pump()`s."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self._calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]] = (
            queue.Queue()
        )

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if threading.get_ident() == self.owner:
            return fn(*args)
        future: Future[Any] = Future()
        self._calls.put((fn, args, future))
        return future.result(timeout=BRIDGE_CALL_TIMEOUT)

    def pump(self, timeout: float) -> None:
        """Run the calls waiting, after waiting up to `timeout` seconds for the first."""
        try:
            item = self._calls.get(timeout=timeout) if timeout > 0 else self._calls.get_nowait()
        except queue.Empty:
            return
        while True:
            fn, args, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 (the calling thread raises it)
                    future.set_exception(exc)
            try:
                item = self._calls.get_nowait()
            except queue.Empty:
                return


# --- the state store -----------------------------------------------------------------------------
class DatabaseStateStore:
    """A deployment's Terraform state in the database: versioned, encrypted, locked by row.

    With a `lease_token`, saving requires the run's lease to be still held (a worker that lost
    its lease never overwrites the state of the run that took over). With a `bridge`, calls
    from other threads run in the bridge's thread.
    """

    def __init__(
        self,
        deployment: Deployment,
        *,
        lease_token: str = "",
        run_id: int | None = None,
        bridge: ThreadBridge | None = None,
    ) -> None:
        self.deployment_id = deployment.pk
        self.organization_id = deployment.organization_id
        self.lease_token = lease_token
        self.run_id = run_id
        self.bridge = bridge
        # The lock that refused this store's Terraform, if one did (for the run's error).
        self.refused_by: StateLock | None = None

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.bridge.call(fn, *args) if self.bridge is not None else fn(*args)

    # The StateStore protocol.
    def load(self) -> bytes | None:
        return self._call(self._load)

    def save(self, state: bytes) -> None:
        self._call(self._save, bytes(state))

    def lock(self, lock: StateLock) -> StateLock | None:
        return self._call(self._lock, lock)

    def unlock(self, lock_id: str) -> StateLock | None:
        return self._call(self._unlock, lock_id)

    def current_lock(self) -> StateLock | None:
        return self._call(self._current_lock)

    # Beyond the protocol.
    def current_serial(self) -> int | None:
        """The serial of the current state, read without decrypting it."""
        return self._latest().values_list("serial", flat=True).first()

    def force_unlock(self) -> StateLock | None:
        """Release whatever lock is held (a worker died holding it); the lock that was held."""
        held = self._current_lock()
        Deployment.objects.filter(pk=self.deployment_id).update(**_UNLOCKED)
        return held

    def release_lock_of_run(self, run_id: int) -> StateLock | None:
        """Release the lock if run `run_id`'s Terraform holds it; the lock released, if any."""
        held = self._current_lock()
        if held is None:
            return None
        released = Deployment.objects.filter(
            pk=self.deployment_id, state_lock_id=held.id, state_lock_run_id=run_id
        ).update(**_UNLOCKED)
        return held if released else None

    def save_recovered(self, state: bytes) -> None:
        """Keep a state that Terraform and the state server could not save (the run still
        holds the deployment's lease, so nobody else writes it meanwhile)."""
        self._save(state, check_lease=False)

    # --- the work, in the owner thread -----------------------------------------------------------
    def _latest(self) -> Any:
        return DeploymentState.objects.filter(deployment_id=self.deployment_id).order_by("-version")

    def _load(self) -> bytes | None:
        row = self._latest().only("state").first()
        return row.state if row is not None else None

    def _save(self, state: bytes, *, check_lease: bool = True) -> None:
        with transaction.atomic():
            if check_lease and self.lease_token:
                lease_renew(deployment_lease(self.deployment_id), self.lease_token)
            last = self._latest().values_list("version", flat=True).first() or 0
            DeploymentState.objects.create(
                organization_id=self.organization_id,
                deployment_id=self.deployment_id,
                version=last + 1,
                serial=state_serial(state),
                lineage=_lineage(state),
                size=len(state),
                state=state,
                run_id=self.run_id,
            )
            # What the state holds makes resources managed: it follows every save.
            deployment_resources_record(
                organization_id=self.organization_id, deployment_id=self.deployment_id, state=state
            )

    def _lock(self, lock: StateLock) -> StateLock | None:
        for _ in range(3):  # the holder may let go between our two statements
            taken = (
                Deployment.objects.filter(pk=self.deployment_id)
                .filter(Q(state_lock_id="") | Q(state_lock_id=lock.id))
                .update(
                    state_lock_id=lock.id,
                    state_lock_info=lock.info.decode("utf-8", errors="replace"),
                    state_locked_at=timezone.now(),
                    state_lock_run_id=self.run_id,
                )
            )
            if taken:
                return None
            held = self._current_lock()
            if held is not None:
                self.refused_by = held
                return held
        held = StateLock("unknown", b'{"ID": "unknown", "Info": "the lock keeps changing hands"}')
        self.refused_by = held
        return held

    def _unlock(self, lock_id: str) -> StateLock | None:
        released = Deployment.objects.filter(pk=self.deployment_id, state_lock_id=lock_id).update(
            **_UNLOCKED
        )
        if released:
            return None
        return self._current_lock()

    def _current_lock(self) -> StateLock | None:
        row = (
            Deployment.objects.filter(pk=self.deployment_id)
            .values_list("state_lock_id", "state_lock_info")
            .first()
        )
        if row is None or not row[0]:
            return None
        return StateLock(row[0], row[1].encode())


_UNLOCKED: dict[str, Any] = {
    "state_lock_id": "",
    "state_lock_info": "",
    "state_locked_at": None,
    "state_lock_run": None,
}


def _lineage(state: bytes) -> str:
    try:
        doc = json.loads(state)
    except ValueError:
        return ""
    return str(doc.get("lineage") or "")[:64] if isinstance(doc, dict) else ""


def lock_description(deployment: Deployment) -> dict[str, Any] | None:
    """Terraform's lock info (who, what operation, since when, which run) for the page and the
    API, or None."""
    if not deployment.state_lock_id:
        return None
    info = _lock_info(deployment.state_lock_info.encode())
    return {
        "id": deployment.state_lock_id,
        "who": str(info.get("Who", ""))[:200],
        "operation": str(info.get("Operation", "")).removeprefix("OperationType"),
        "since": deployment.state_locked_at,
        "run_id": deployment.state_lock_run_id,
    }


def lock_refusal_message(lock: StateLock) -> str:
    """A run's error when the state lock is held by someone else: who holds it, and what to do."""
    info = _lock_info(lock.info)
    who = str(info.get("Who") or "another Terraform")[:120]
    operation = str(info.get("Operation", "")).removeprefix("OperationType")
    since = str(info.get("Created", ""))[:19].replace("T", " ")
    what = ", ".join(part for part in (operation, f"since {since} UTC" if since else "") if part)
    return (
        f"The state is locked by {who}{f' ({what})' if what else ''}, lock {lock.id[:64]}, so "
        "Terraform could not take it. If no Terraform runs for this deployment any more, an "
        "admin can release it with Force unlock on the deployment's page."
    )


def _lock_info(raw: bytes) -> dict[str, Any]:
    try:
        info = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}
