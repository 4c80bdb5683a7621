"""Syncing a cloud account's inventory.

- At most one sync per account runs at a time, across every worker on every host: a sync
  holds the account's lease (`mcloud.leases`) while it works, renewed in the background.
- Asking for a sync (`sync_run_request`: "Sync now", the API, the schedule, the command line)
  first recovers the account's dead runs (failed and audited), then, under the account's row
  lock, answers with the active run or else queues a new one: N requests at once make one run
  and N answers naming it; a run already queued is never queued again.
- Only a run that ran (took the lease) is followed by other work (the cost import after
  "Sync now"; after every sync that did not fail, `SYNC_COMPLETIONS`: drift). Those read
  what the sync wrote at once, so a sync that wrote many rows first refreshes PostgreSQL's
  planner statistics of the inventory's tables (`mcloud.planner_statistics`).
- An account disabled, excluded (a member) or retired is not synced: a run queued before
  that fails without running.
- Scopes (regions, subscriptions, projects) are listed in parallel threads, which never
  touch the database; each listing passes the one validation step (`listing_checked`) there,
  and the calling thread writes it as it arrives.
- A scope that fails, in its listing or while it is written (one savepoint per scope), writes
  and removes nothing: its previous inventory stays as it was, the other scopes go on, and
  the run names the scope and why.
- After a successful listing of the account's scopes, the resources of scopes it no longer
  names are retired (tombstoned, with `deleted` events) and the run says why ("region
  ap-east-1 no longer enabled: 12 resources removed"). A scope listing that fails retires
  nothing (the run fails).
- Items skipped and duplicate ids merged are counted on the run with the provider's ids, and
  logged once per run; they never fail it.
- A part of a scope the provider denied (one service's permission missing) tombstones
  nothing: the stored resources of its types are kept as they were, and the run says how
  many ("kept" finding) beside the skip that names the denied listing.
- SYNC_FAILING_AFTER failed syncs in a row (of runs that ran: a sync refused because another
  was running does not count) are one "sync failing repeatedly" notification, once per
  streak: at the run that makes the streak that long, not at each failure after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from inventory.account_adapters import adapter_for
from inventory.extensions import SYNC_COMPLETIONS
from inventory.models import CloudAccount, Resource, ResourceEvent, ResourceLink, SyncRun
from inventory.services.ingest import Counts, ingest_scope, live_scopes, scopes_retire
from inventory.services.members import account_members_discover, discovers_members
from inventory.tasks import SYNC_RUN
from mcloud.clouds.base import CloudAdapter, CloudError, ScopeListing
from mcloud.clouds.records import CheckedListing, listing_checked
from mcloud.clouds.registry import provider_get
from mcloud.leases import (
    Lease,
    LeaseKeeper,
    LeaseLost,
    RunKind,
    lease_acquire,
    lease_kept,
    lease_release,
    row_lock,
    runs_recover,
)
from mcloud.planner_statistics import statistics_refresh

logger = logging.getLogger(__name__)
LEASE_LOST = "Stopped: another worker took over the sync."
SYNC_ABANDONED = "Abandoned: the worker running this sync stopped before it finished."
NEVER_STARTED = "No worker started this sync in time."
BUSY = "Another sync of this account was running."
NOT_SYNCED = "Not synced: the account is disabled, excluded or has left its organization."
ACTIVE = (SyncRun.State.QUEUED, SyncRun.State.RUNNING)
SYNC_FAILING_AFTER = 3  # failed syncs in a row that make a "sync failing repeatedly" notice


def _audit_abandoned(run: SyncRun, reason: str) -> None:
    """`sync.started` gets its end when the worker died, as when it finished (done by the
    recovery, not by whoever asked for the sync)."""
    account = CloudAccount.objects.select_related("organization").get(pk=run.account_id)
    audit_record(
        organization=account.organization, action="sync.failed", target=account,
        actor_label=f"sync recovery ({run.trigger})",
        data={"run": run.pk, "status": SyncRun.State.FAILED, "error": reason, "recovered": True},
    )  # fmt: skip


SYNC_RUNS = RunKind(
    name="sync",
    runs=SyncRun,
    owner="account",
    lease_model=CloudAccount,
    lease_path="account",
    running=SyncRun.State.RUNNING,
    failed=SyncRun.State.FAILED,
    abandoned=SYNC_ABANDONED,
    queued=SyncRun.State.QUEUED,
    never_started=NEVER_STARTED,
    on_failed=_audit_abandoned,
)


def account_lease(account: CloudAccount) -> Lease:
    return Lease(CloudAccount, account.pk)


# --- asking for a sync -------------------------------------------------------------------
def sync_run_request(
    *,
    account: CloudAccount,
    trigger: str,
    requested_by: User | None = None,
    enqueue: bool = True,
) -> tuple[SyncRun, bool]:
    """(the run that answers a request for a sync of `account`, whether it is new).

    The active run when there is one, else a new queued run, handed to a worker at commit
    unless `enqueue` is false (the caller runs it). See the module docstring.
    """
    runs_recover(SYNC_RUNS, owner_id=account.pk)  # committed whatever happens next
    with transaction.atomic():
        row_lock(CloudAccount.objects.all(), account.pk)
        active = (
            SyncRun.objects.filter(account_id=account.pk, status__in=ACTIVE)
            .order_by("-queued_at", "-id")
            .first()
        )
        if active is not None:
            return active, False
        run = SyncRun.objects.create(
            organization_id=account.organization_id,
            account=account,
            trigger=trigger,
            requested_by=requested_by,
        )
        if enqueue:
            SYNC_RUN.enqueue(run.pk)
    return run, True


# --- a sync ------------------------------------------------------------------------------
def cloud_account_sync(
    *,
    account: CloudAccount,
    trigger: str = SyncRun.Trigger.MANUAL,
    run: SyncRun | None = None,
    requested_by: User | None = None,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun | None:
    """Carry out a queued `run` of the account now, in this process, and return it finished.

    Without a `run`, one is requested first (`sync_run_request`), and the result is None when
    a sync of the account is active already. A run that cannot take the account's lease fails
    at once without running (`run.ran` is false).
    """
    if run is None:
        run, created = sync_run_request(
            account=account, trigger=trigger, requested_by=requested_by, enqueue=False
        )
        if not created:
            return None
    flags = CloudAccount.objects.filter(pk=account.pk).values_list("enabled", "retired_at")
    enabled, retired_at = flags.first() or (False, None)
    if not enabled or retired_at is not None:  # excluded or left after the run was queued
        return _sync_finish(run, SyncRun.State.FAILED, NOT_SYNCED)
    lease = account_lease(account)
    with transaction.atomic():  # the lease and the run's start show together
        token = lease_acquire(lease)
        if token is not None:
            now = timezone.now()
            if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.State.QUEUED).update(
                status=SyncRun.State.RUNNING, started_at=now, lease_token=token
            ):  # recovered meanwhile, or taken by a twin delivery of the task
                lease_release(lease, token)
                run.refresh_from_db()
                return run
            run.status, run.started_at, run.lease_token = SyncRun.State.RUNNING, now, token
    if token is None:
        return _sync_finish(run, SyncRun.State.FAILED, BUSY)
    try:
        with lease_kept(lease, token) as keeper:
            runs_recover(SYNC_RUNS, owner_id=account.pk)  # the run whose lease this took over
            audit_record(
                organization=account.organization,
                action="sync.started",
                target=account,
                actor=run.requested_by,
                actor_label=f"sync ({run.trigger})",
                data={"run": run.pk, "trigger": run.trigger},
            )
            if discovers_members(account) or _has_live_members(account):
                _discover(account, run)
                keeper.check()
            listed = _sync_scopes(account, run, keeper, on_progress)
    except LeaseLost:
        return _sync_finish(
            run, SyncRun.State.FAILED, "Stopped: another worker took over the sync."
        )
    except CloudError as error:
        return _sync_finish(run, SyncRun.State.FAILED, error.message)
    except Exception as error:
        logger.exception("Sync %s of account %s failed", run.pk, account.pk)
        return _sync_finish(
            run, SyncRun.State.FAILED, f"Unexpected error ({error.__class__.__name__})"
        )
    if run.scope_errors and len(run.scope_errors) == listed:
        word = provider_get(account.provider).scope
        return _sync_finish(run, SyncRun.State.FAILED, f"Every {word} failed.")
    state = SyncRun.State.PARTIAL if run.scope_errors else SyncRun.State.SUCCEEDED
    return _sync_finish(run, state, "")


def _sync_scopes(
    account: CloudAccount,
    run: SyncRun,
    keeper: LeaseKeeper,
    on_progress: Callable[[SyncRun], None] | None,
) -> int:
    """List every scope and write each listing as it arrives; returns how many were listed."""
    adapter = adapter_for(account)
    listing: ScopeListing = adapter.scope_listing()
    scopes = listing.scopes
    keeper.check()
    totals = Counts()
    _retire(account, run, listing, totals)
    # Progress counts in the provider's word ("3 of 3 regions"): AWS's global S3 listing is
    # listed like a scope but is no region, so it is not counted.
    counted = set(provider_get(account.provider).counted_scopes(scopes))
    run.scopes_total = len(counted)
    run.save(update_fields=["scopes_total", "removed", "findings"])
    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.SYNC_CONCURRENCY, len(scopes))),
        thread_name_prefix=f"sync-{account.pk}",
    ) as pool:
        pending: dict[Future[CheckedListing], str] = {
            pool.submit(_listed, adapter, scope): scope for scope in scopes
        }
        while pending:
            # Wake up often enough to renew the lease on this thread through a slow region.
            done, _ = wait(pending, timeout=keeper.every, return_when=FIRST_COMPLETED)
            keeper.check()
            for future in done:
                scope = pending.pop(future)
                try:
                    checked = future.result()
                except CloudError as error:
                    run.scope_errors[scope] = error.message
                except Exception as error:  # one scope's bug fails only that scope
                    logger.exception("Listing %s of account %s failed", scope, account.pk)
                    run.scope_errors[scope] = f"Unexpected error ({error.__class__.__name__})"
                else:
                    _ingest(account, run, scope, checked, totals)
                run.scopes_done += scope in counted
                run.created, run.updated = totals.created, totals.updated
                run.unchanged, run.removed = totals.unchanged, totals.removed
                run.save(
                    update_fields=[
                        "scopes_done",
                        "created",
                        "updated",
                        "unchanged",
                        "removed",
                        "scope_errors",
                        "skipped",
                        "merged",
                        "findings",
                    ]
                )
                if on_progress is not None:
                    on_progress(run)
    return len(scopes)


def _discover(account: CloudAccount, run: SyncRun) -> None:
    """Bring the connection's member accounts up to date before its own sync; a failure is a
    note of the run, never its failure (the connection's own resources still sync)."""
    try:
        note = account_members_discover(account=account).summary
    except CloudError as error:
        note = f"Could not list the organization's accounts: {error.message}"
    run.findings.append({"kind": "note", "reason": note})


def _has_live_members(account: CloudAccount) -> bool:
    """A connection that no longer discovers but still has members to retire."""
    return account.parent_id is None and account.members.filter(retired_at__isnull=True).exists()


def _listed(adapter: CloudAdapter, scope: str) -> CheckedListing:
    """On a listing thread: the scope's listing, through the one validation step."""
    return listing_checked(adapter.list_scope(scope))


def _retire(account: CloudAccount, run: SyncRun, listing: ScopeListing, totals: Counts) -> None:
    """Retire the scopes with live resources that the listing of scopes no longer names."""
    gone = live_scopes(account=account) - set(listing.scopes)
    for scope, removed in scopes_retire(account=account, scopes=gone, run=run).items():
        totals.removed += removed
        run.findings.append(
            {"kind": "retired", "scope": scope, "reason": listing.why_gone(scope),
             "count": removed, "items": []}
        )  # fmt: skip
    # A scope the account names that the provider no longer offers is said even when it
    # held nothing: the settings name something that is not there.
    for scope in sorted(listing.gone.keys() - gone):
        run.findings.append(
            {"kind": "retired", "scope": scope, "reason": listing.gone[scope], "count": 0,
             "items": []}
        )  # fmt: skip
    run.removed = totals.removed


def _ingest(
    account: CloudAccount, run: SyncRun, scope: str, checked: CheckedListing, totals: Counts
) -> None:
    """Write one scope (a savepoint of its own): a failure fails this scope alone."""
    try:
        counts = ingest_scope(account=account, scope=scope, records=checked, run=run)
    except Exception as error:  # a database or data error: the scope's rows stay as they were
        logger.exception("Writing %s of account %s failed", scope, account.pk)
        run.scope_errors[scope] = (
            f"Its resources could not be saved ({error.__class__.__name__}); "
            "the previous inventory is kept."
        )
        return
    totals.add(counts)
    by_reason: dict[str, list[str]] = {}
    for skip in checked.skips:
        by_reason.setdefault(skip.reason, []).append(skip.item)
    for reason, items in by_reason.items():
        run.findings.append(
            {"kind": "skip", "scope": scope, "reason": reason, "count": len(items),
             "items": items[:FINDING_ITEMS]}
        )  # fmt: skip
    if counts.kept:  # the denial itself is a skip above: say what it spared
        run.findings.append(
            {"kind": "kept", "scope": scope, "reason": "not listed (access denied)",
             "count": counts.kept, "items": sorted(checked.unlisted)}
        )  # fmt: skip
    if checked.merged:
        merged = list(dict.fromkeys(checked.merged))
        run.findings.append(
            {"kind": "merge", "scope": scope, "reason": "duplicate id",
             "count": len(checked.merged), "items": merged[:FINDING_ITEMS]}
        )  # fmt: skip
    run.skipped += len(checked.skips)
    run.merged += len(checked.merged)


FINDING_ITEMS = 10  # provider ids kept per finding


def _sync_finish(run: SyncRun, state: str, error: str) -> SyncRun:
    now = timezone.now()
    if any(f.get("kind") != "note" for f in run.findings):  # once: skipped, merged, retired
        logger.warning("Sync %s of account %s: %s", run.pk, run.account_id, "; ".join(run.notes))
    run.status, run.error, run.finished_at = state, error[:500], now
    run.started_at = run.started_at or now
    run.save()
    account = run.account
    if state != SyncRun.State.FAILED:
        CloudAccount.objects.filter(pk=account.pk).update(last_synced_at=now)
    audit_record(
        organization=account.organization,
        action="sync.failed" if state == SyncRun.State.FAILED else "sync.finished",
        target=account, actor=run.requested_by, actor_label=f"sync ({run.trigger})",
        data={"run": run.pk, "status": state, "created": run.created, "updated": run.updated,
              "removed": run.removed, "errors": run.scope_errors, "error": run.error,
              "skipped": run.skipped, "merged": run.merged},
    )  # fmt: skip
    if state == SyncRun.State.FAILED and run.ran:
        _failing_streak_notify(account, run)
    elif run.ran:
        # Links and events are written with the resources, about as many.
        written = run.created + run.updated + run.removed
        statistics_refresh([Resource, ResourceLink, ResourceEvent], written=written)
        _completions(account, run)
    return run


def _completions(account: CloudAccount, run: SyncRun) -> None:
    """The work other apps do after every sync that ran (`SYNC_COMPLETIONS`): each in a
    savepoint of its own, and a failure is logged, never the sync's."""
    for name, completion in SYNC_COMPLETIONS.items():
        try:
            with transaction.atomic():
                completion(account, run)
        except Exception:
            logger.exception("After sync %s of account %s: %s failed", run.pk, account.pk, name)


def _failing_streak_notify(account: CloudAccount, run: SyncRun) -> None:
    """Notify when this failure makes SYNC_FAILING_AFTER failures in a row, exactly: the
    streak is told once, and a success ends it."""
    latest = list(
        SyncRun.objects.filter(account_id=account.pk, finished_at__isnull=False)
        .exclude(lease_token="")  # runs that ran
        .exclude(status__in=ACTIVE)
        .order_by("-finished_at", "-id")
        .values_list("status", flat=True)[: SYNC_FAILING_AFTER + 1]
    )
    failed = [status == SyncRun.State.FAILED for status in latest]
    streak, before = failed[:SYNC_FAILING_AFTER], failed[SYNC_FAILING_AFTER:]
    if len(streak) < SYNC_FAILING_AFTER or not all(streak) or before == [True]:
        return
    notify(
        organization=account.organization,
        event=Event.SYNC_FAILING,
        title=f"The sync of {account.name} failed {SYNC_FAILING_AFTER} times in a row",
        text=f"The latest error: {run.error}",
        url=reverse("inventory:account_detail", args=[account.pk]),
        facts=[("Account", account.name), ("Provider", account.get_provider_display())],
    )
