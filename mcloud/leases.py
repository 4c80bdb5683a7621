"""Leases: how a background run holds what it works on, and how the runs of a dead worker are
found. One helper for every kind of run: a sync holds its account, a cost import holds the
account's import slot, a Terraform run holds its deployment.

- A lease is two columns of the held row, `lease_token` and `lease_until`, taken with one
  conditional UPDATE (the lease is free or expired): one holder at a time, across every worker
  on every host.
- Its holder renews it every LEASE_SECONDS / 3 (`lease_kept`: on the run's thread at its safe
  points, and from a background thread while that thread is held up, e.g. in a long provider
  call). A worker that dies stops renewing, so its lease expires within LEASE_SECONDS.
- A run stores the token it took. It is dead when it is still running and the lease of its row
  has expired or is no longer its token (released, or taken by another worker). Runs queued that
  no worker started within TASK_TIMEOUT are dead too.
- `runs_recover` is the one routine that fails dead runs, releases what they held and lets their
  app audit them. Every request for work calls it for its object first, under the object's row
  lock (`row_lock`), and only then looks for an active run: a request never waits on a ghost,
  and N requests at once make one run. A schedule calls it for every object, as a backstop.

This module imports no app: each app describes its runs with a `RunKind` and registers it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The lease is no longer this holder's (another worker took it, or recovery released it):
    the run must stop writing."""


def lease_seconds() -> int:
    return settings.LEASE_SECONDS


@dataclass(frozen=True)
class Lease:
    """The lease columns (`lease_token`, `lease_until`) of row `pk` of `model`."""

    model: type[Model]
    pk: int

    def rows(self) -> QuerySet[Any]:
        return self.model._default_manager.filter(pk=self.pk)


def lease_acquire(lease: Lease) -> str | None:
    """Take the lease: its new token, or None while a live holder has it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        lease.rows()
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_token=token, lease_until=now + timedelta(seconds=lease_seconds()))
    )
    return token if taken else None


def lease_renew(lease: Lease, token: str) -> None:
    """Extend the lease by LEASE_SECONDS, or raise LeaseLost when it is not `token`'s."""
    renewed = bool(token) and lease.rows().filter(lease_token=token).update(
        lease_until=timezone.now() + timedelta(seconds=lease_seconds())
    )
    if not renewed:
        raise LeaseLost


def lease_release(lease: Lease, token: str) -> bool:
    """Let go of the lease if `token` still holds it; whether it did."""
    return bool(token) and bool(
        lease.rows().filter(lease_token=token).update(lease_token="", lease_until=None)
    )


def lease_is_live(until: datetime | None, held: str = "", token: str | None = None) -> bool:
    """Whether a lease (its `until` and `held` token, as read) is unexpired, and, given a
    `token`, held by it."""
    if until is None or until < timezone.now():
        return False
    return token is None or (bool(token) and held == token)


class LeaseKeeper:
    """Keeps a lease alive while its run works (see `lease_kept`)."""

    def __init__(self, lease: Lease, token: str) -> None:
        self.lease, self.token = lease, token
        self.every = lease_seconds() / 3
        self._renewed = time.monotonic()
        self._suspect = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep, name=f"lease-{lease.model._meta.model_name}-{lease.pk}", daemon=True
        )

    def check(self) -> None:
        """On the run's thread, between steps: renew when due; raise LeaseLost once lost."""
        if self._suspect.is_set() or self._due():
            lease_renew(self.lease, self.token)
            self._suspect.clear()
            self._renewed = time.monotonic()

    def _due(self) -> bool:
        return time.monotonic() - self._renewed >= self.every

    def _keep(self) -> None:
        """The background thread: renew when the run's thread has not (it is held up)."""
        try:
            while not self._stop.wait(min(1.0, self.every / 3)):
                if not self._due():
                    continue
                try:
                    lease_renew(self.lease, self.token)
                except LeaseLost:
                    # This thread has a connection of its own, which does not see what the
                    # run's thread has not committed: the run's thread decides (`check`).
                    self._suspect.set()
                except DatabaseError as error:  # away or busy: the next tick tries again
                    logger.warning("Renewing %s failed: %s", self.lease, error)
                else:
                    self._renewed = time.monotonic()
        finally:
            connections.close_all()  # this thread's connections only


@contextmanager
def lease_kept(lease: Lease, token: str) -> Iterator[LeaseKeeper]:
    """Hold an acquired lease for the block and release it at the end. The block calls
    `keeper.check()` between its steps (it renews there, and raises LeaseLost once the lease is
    gone); a background thread renews meanwhile whenever the block is held up longer than
    LEASE_SECONDS / 3, so a long provider call never lets the lease expire."""
    keeper = LeaseKeeper(lease, token)
    keeper._thread.start()
    try:
        yield keeper
    finally:
        keeper._stop.set()
        # Not joined for long: a renewal waiting on a busy database ends by itself, and
        # matches nothing once the lease is released.
        keeper._thread.join(timeout=2)
        lease_release(lease, token)


def row_lock(rows: QuerySet[Any], pk: int) -> Any:
    """Row `pk` of `rows`, held until the current transaction ends (call it inside
    `transaction.atomic()`): PostgreSQL locks the row (`SELECT ... FOR UPDATE`); SQLite has no
    row locks, so a first write makes this transaction hold the database's write lock (our
    SQLite transactions begin IMMEDIATE anyway). Requests that lock the same row run one after
    the other."""
    if connection.vendor == "sqlite":
        pk_name = rows.model._meta.pk.name
        rows.model._default_manager.filter(pk=pk).update(**{pk_name: F(pk_name)})
        return rows.get(pk=pk)
    return rows.select_for_update(of=("self",)).get(pk=pk)


# --- recovery of dead runs ---------------------------------------------------------------------
@dataclass(frozen=True)
class RunKind:
    """Runs that hold a lease while they work, as `runs_recover` needs to know them.

    The lease lives on row `owner_id` of `lease_model`, reached from a run by `lease_path`;
    `on_failed(run, reason)` runs in the transaction that fails a dead run (with the run as it
    was loaded): it audits, and releases what else the run held.
    """

    name: str
    runs: type[Model]
    owner: str  # the runs' foreign key to what they work on
    lease_model: type[Model]
    lease_path: str
    running: str
    failed: str
    abandoned: str
    queued: str | None = None
    never_started: str = ""
    on_failed: Callable[[Any, str], None] | None = None


RUN_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> None:
    RUN_KINDS[kind.name] = kind


def run_is_dead(kind: RunKind, run: Any, until: datetime | None, held: str) -> bool:
    """Whether `run` (running) has lost its worker: its lease (`until`, `held`) expired or is
    no longer its token."""
    return run.status == kind.running and not lease_is_live(until, held, run.lease_token)


def runs_recover(kind: RunKind, *, owner_id: int | None = None) -> int:
    """Fail the dead runs of `kind` (of one owner, or all), release their leases, and call the
    kind's `on_failed`. Returns how many it failed."""
    now = timezone.now()
    runs = kind.runs._default_manager.all()
    if owner_id is not None:
        runs = runs.filter(**{f"{kind.owner}_id": owner_id})
    path = kind.lease_path
    running = runs.filter(status=kind.running).annotate(
        held_token=F(f"{path}__lease_token"), held_until=F(f"{path}__lease_until")
    )
    dead = [
        (run, kind.abandoned)
        for run in running
        if run_is_dead(kind, run, run.held_until, run.held_token)
    ]
    if kind.queued is not None:
        stale = runs.filter(
            status=kind.queued, queued_at__lt=now - timedelta(seconds=settings.TASK_TIMEOUT)
        )
        dead += [(run, kind.never_started) for run in stale]
    recovered = 0
    for run, reason in dead:
        with transaction.atomic():
            if not kind.runs._default_manager.filter(pk=run.pk, status=run.status).update(
                status=kind.failed, error=reason[:500], finished_at=now
            ):
                continue  # finished, or recovered by another request, meanwhile
            owner_id_of_run = getattr(run, f"{kind.owner}_id")
            if run.status == kind.running:
                lease_release(Lease(kind.lease_model, owner_id_of_run), run.lease_token)
            if kind.on_failed is not None:
                kind.on_failed(run, reason)
        logger.warning("Recovered %s run %s: %s", kind.name, run.pk, reason)
        recovered += 1
    return recovered


def runs_recover_all() -> int:
    """Every registered kind, every owner: the schedule's backstop."""
    return sum(runs_recover(kind) for kind in RUN_KINDS.values())
