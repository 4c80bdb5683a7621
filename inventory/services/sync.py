"""Syncing a cloud account's inventory.

- At most one sync per account runs at a time, across every worker on every host: a sync
  first takes the account's lease (a conditional UPDATE on the account row, with an expiry).
  A worker that dies leaves the lease to expire; the next sync marks the dead run failed.
- Scopes (regions, subscriptions, projects) are listed in parallel threads, which never
  touch the database; the calling thread writes each listing as it arrives.
- A scope that fails writes and removes nothing: its previous inventory stays as it was.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from inventory.clouds import adapter_for
from inventory.models import CloudAccount, SyncRun
from inventory.providers import counted_scopes, provider_words
from inventory.services.ingest import Counts, ingest_scope
from mcloud.clouds.base import CloudError, ResourceRecord

logger = logging.getLogger(__name__)
ABANDONED = "Abandoned: the worker running this sync stopped before it finished."


class LeaseLost(Exception):
    """Another worker took the account's lease: this sync must stop writing."""


# --- the lease ---------------------------------------------------------------------------
def lease_acquire(account: CloudAccount) -> str | None:
    """Take the account's sync lease, or None when a live sync holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        CloudAccount.objects.filter(pk=account.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_token=token, lease_until=now + _lease_ttl())
    )
    return token if taken else None


def lease_renew(account: CloudAccount, token: str) -> None:
    renewed = CloudAccount.objects.filter(pk=account.pk, lease_token=token).update(
        lease_until=timezone.now() + _lease_ttl()
    )
    if not renewed:
        raise LeaseLost


def lease_release(account: CloudAccount, token: str) -> None:
    CloudAccount.objects.filter(pk=account.pk, lease_token=token).update(
        lease_token="", lease_until=None
    )


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.SYNC_LEASE_SECONDS)


def runs_recover_abandoned(account: CloudAccount | None = None) -> int:
    """Mark failed the runs whose worker died: running without a live lease of theirs."""
    now = timezone.now()
    running = SyncRun.objects.filter(status=SyncRun.State.RUNNING)
    if account is not None:
        running = running.filter(account=account)
    dead = [
        run.pk
        for run in running.select_related("account")
        if run.account.lease_token != run.lease_token
        or run.account.lease_until is None
        or run.account.lease_until < now
    ]
    stale_queue = SyncRun.objects.filter(
        status=SyncRun.State.QUEUED, queued_at__lt=now - timedelta(seconds=settings.TASK_TIMEOUT)
    )
    if account is not None:
        stale_queue = stale_queue.filter(account=account)
    return SyncRun.objects.filter(Q(pk__in=dead) | Q(pk__in=stale_queue.values("pk"))).update(
        status=SyncRun.State.FAILED, error=ABANDONED, finished_at=now
    )


# --- a sync ------------------------------------------------------------------------------
def sync_run_queue(
    *, account: CloudAccount, trigger: str, requested_by: User | None = None
) -> SyncRun:
    """The run to show for a "Sync now": the active one, or a new queued one."""
    active = (
        SyncRun.objects.filter(
            account=account, status__in=[SyncRun.State.QUEUED, SyncRun.State.RUNNING]
        )
        .order_by("-queued_at")
        .first()
    )
    if active is not None:
        return active
    return SyncRun.objects.create(
        organization_id=account.organization_id,
        account=account,
        trigger=trigger,
        requested_by=requested_by,
    )


def cloud_account_sync(
    *,
    account: CloudAccount,
    trigger: str = SyncRun.Trigger.MANUAL,
    run: SyncRun | None = None,
    requested_by: User | None = None,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun | None:
    """Sync one account now, in this process, and return its finished run.

    When another sync of the account holds the lease nothing runs: a queued `run` is marked
    failed, and without one the result is None.
    """
    token = lease_acquire(account)
    if token is None:
        if run is None:
            return None
        return _finish(run, SyncRun.State.FAILED, "Another sync of this account was running.")
    if run is None:
        run = SyncRun(
            organization_id=account.organization_id,
            account=account,
            trigger=trigger,
            requested_by=requested_by,
        )
    try:
        runs_recover_abandoned(account)
        run.status, run.started_at, run.lease_token = SyncRun.State.RUNNING, timezone.now(), token
        run.save()
        audit_record(
            organization=account.organization,
            action="sync.started",
            target=account,
            actor=run.requested_by,
            actor_label=f"sync ({run.trigger})",
            data={"run": run.pk, "trigger": run.trigger},
        )
        listed = _sync_scopes(account, run, token, on_progress)
    except LeaseLost:
        return _finish(run, SyncRun.State.FAILED, "Stopped: another worker took over the sync.")
    except CloudError as error:
        return _finish(run, SyncRun.State.FAILED, error.message)
    except Exception as error:
        logger.exception("Sync %s of account %s failed", run.pk, account.pk)
        return _finish(run, SyncRun.State.FAILED, f"Unexpected error ({error.__class__.__name__})")
    finally:
        lease_release(account, token)
    if run.scope_errors and len(run.scope_errors) == listed:
        word = provider_words(account.provider).scope
        return _finish(run, SyncRun.State.FAILED, f"Every {word} failed.")
    state = SyncRun.State.PARTIAL if run.scope_errors else SyncRun.State.SUCCEEDED
    return _finish(run, state, "")


def _sync_scopes(
    account: CloudAccount,
    run: SyncRun,
    token: str,
    on_progress: Callable[[SyncRun], None] | None,
) -> int:
    """List every scope and write each listing as it arrives; returns how many were listed."""
    adapter = adapter_for(account)
    scopes = adapter.scopes()
    # Progress counts in the provider's word ("3 of 3 regions"): AWS's global S3 listing is
    # listed like a scope but is no region, so it is not counted.
    counted = set(counted_scopes(account.provider, scopes))
    run.scopes_total = len(counted)
    run.save(update_fields=["scopes_total"])
    totals = Counts()
    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.SYNC_CONCURRENCY, len(scopes))),
        thread_name_prefix=f"sync-{account.pk}",
    ) as pool:
        pending: dict[Future[list[ResourceRecord]], str] = {
            pool.submit(adapter.list_scope, scope): scope for scope in scopes
        }
        while pending:
            # Wake up often enough to keep the lease alive through a slow region.
            done, _ = wait(
                pending, timeout=settings.SYNC_LEASE_SECONDS / 3, return_when=FIRST_COMPLETED
            )
            lease_renew(account, token)
            for future in done:
                scope = pending.pop(future)
                try:
                    records = future.result()
                except CloudError as error:
                    run.scope_errors[scope] = error.message
                except Exception as error:  # one scope's bug fails only that scope
                    logger.exception("Listing %s of account %s failed", scope, account.pk)
                    run.scope_errors[scope] = f"Unexpected error ({error.__class__.__name__})"
                else:
                    totals.add(ingest_scope(account=account, scope=scope, records=records, run=run))
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
                    ]
                )
                if on_progress is not None:
                    on_progress(run)
    return len(scopes)


def _finish(run: SyncRun, state: str, error: str) -> SyncRun:
    now = timezone.now()
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
              "removed": run.removed, "errors": run.scope_errors, "error": run.error},
    )  # fmt: skip
    return run
