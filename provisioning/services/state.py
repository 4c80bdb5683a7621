"""Who may touch a deployment, and where its Terraform state lives.

- **The run lease**: at most one run per deployment at a time, across every worker on every host.
  A run first takes the deployment's lease (a conditional UPDATE of the deployment row, with an
  expiry that the run renews while Terraform works). A worker that dies leaves the lease to
  expire; its run is then marked failed (`runs_recover_abandoned`). Its Terraform died with it
  (`provisioning.lifeline`), but the state lock Terraform held stays, as Terraform's own locks
  do, until an admin forces it open (`state_force_unlock`, refused while the lease is live).
- **The state store**: `DatabaseStateStore` is the engine's `StateStore` on the database. Every
  state Terraform saves is a new encrypted `DeploymentState` row; Terraform's lock is a
  conditional UPDATE of the deployment row, so it holds across processes.
- **The thread bridge**: Terraform's state requests arrive on the state server's threads, but a
  run's database work belongs to the thread that runs it (its connection, and in tests its open
  transaction). The bridge hands those calls over to the run's thread, which runs them between
  its other chores (see `services.worker`).
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from provisioning.models import Deployment, DeploymentState
from provisioning.state_server import StateLock, state_serial

BRIDGE_CALL_TIMEOUT = 120.0  # seconds a state request waits for the run's thread


class LeaseLost(Exception):
    """Another worker took the deployment's lease: this run must stop writing."""


# --- the run lease -------------------------------------------------------------------------------
def lease_seconds() -> int:
    return settings.PROVISIONING_LEASE_SECONDS


def lease_acquire(deployment_id: int) -> str | None:
    """Take the deployment's run lease, or None when a live run holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        Deployment.objects.filter(pk=deployment_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_token=token, lease_until=now + timedelta(seconds=lease_seconds()))
    )
    return token if taken else None


def lease_renew(deployment_id: int, token: str) -> None:
    renewed = Deployment.objects.filter(pk=deployment_id, lease_token=token).update(
        lease_until=timezone.now() + timedelta(seconds=lease_seconds())
    )
    if not renewed:
        raise LeaseLost


def lease_release(deployment_id: int, token: str) -> None:
    Deployment.objects.filter(pk=deployment_id, lease_token=token).update(
        lease_token="", lease_until=None
    )


def lease_is_live(deployment: Deployment) -> bool:
    return deployment.lease_until is not None and deployment.lease_until >= timezone.now()


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
        Deployment.objects.filter(pk=self.deployment_id).update(
            state_lock_id="", state_lock_info="", state_locked_at=None
        )
        return held

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
                lease_renew(self.deployment_id, self.lease_token)
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

    def _lock(self, lock: StateLock) -> StateLock | None:
        for _ in range(3):  # the holder may let go between our two statements
            taken = (
                Deployment.objects.filter(pk=self.deployment_id)
                .filter(Q(state_lock_id="") | Q(state_lock_id=lock.id))
                .update(
                    state_lock_id=lock.id,
                    state_lock_info=lock.info.decode("utf-8", errors="replace"),
                    state_locked_at=timezone.now(),
                )
            )
            if taken:
                return None
            held = self._current_lock()
            if held is not None:
                return held
        return StateLock("unknown", b'{"ID": "unknown", "Info": "the lock keeps changing hands"}')

    def _unlock(self, lock_id: str) -> StateLock | None:
        released = Deployment.objects.filter(pk=self.deployment_id, state_lock_id=lock_id).update(
            state_lock_id="", state_lock_info="", state_locked_at=None
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


def _lineage(state: bytes) -> str:
    try:
        doc = json.loads(state)
    except ValueError:
        return ""
    return str(doc.get("lineage") or "")[:64] if isinstance(doc, dict) else ""


def lock_description(deployment: Deployment) -> dict[str, Any] | None:
    """Terraform's lock info (who, what operation, since when) for the page, or None."""
    if not deployment.state_lock_id:
        return None
    try:
        info = json.loads(deployment.state_lock_info or "{}")
    except ValueError:
        info = {}
    return {
        "id": deployment.state_lock_id,
        "who": str(info.get("Who", ""))[:200],
        "operation": str(info.get("Operation", "")).removeprefix("OperationType"),
        "since": deployment.state_locked_at,
    }
