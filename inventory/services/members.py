"""Member accounts: the accounts a connection finds in its provider's organization (an AWS
organization's member accounts, the Azure subscriptions a service principal can see, the GCP
projects under an organization or folder), each then checked and synced as an account of its
own.

Invariants:
- One CloudAccount per (connection, member id), made by discovery and never by hand. It
  stores no credentials: it signs in through its connection (inventory.account_adapters).
- Discovery creates the members that are new, revives those that came back, and retires
  those no longer listed as active: a retired member's live resources are tombstoned (with
  events) and it is neither checked nor synced, but its rows, history and costs stay.
- A failed listing of the organization changes nothing: no member is retired on a guess.
- A connection whose discovery is turned off (the admin pinned a list of subscriptions or
  projects, or unticked discovery) retires the members it had found, at its next sync: what
  it covers is its own list again.
- Providers differ only in what a member is (`CloudProvider.member_is_scope`): an AWS member
  account covers the connection's regions; an Azure subscription or a GCP project is one
  scope, itself.
- Excluding a member (disabling it) is an admin's choice: discovery never re-enables it.
- Each member syncs on its own schedule with its own lease, so one member's failure (its
  role missing) shows on that member alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from inventory.account_adapters import adapter_for
from inventory.models import CloudAccount, SyncRun
from inventory.schedules import account_schedule_update
from inventory.services.ingest import live_scopes, scopes_retire
from mcloud.clouds.base import Member, MemberDiscovery
from mcloud.clouds.registry import provider_get


@dataclass
class Discovery:
    """What one discovery changed."""

    found: list[CloudAccount] = field(default_factory=list)
    back: list[CloudAccount] = field(default_factory=list)
    left: list[CloudAccount] = field(default_factory=list)
    listed: int = 0
    words: tuple[str, str] = ("member account", "member accounts")

    @property
    def summary(self) -> str:
        """ "12 member accounts: 2 new, 1 back, 1 left" for the sync's notes."""
        word = self.words[0] if self.listed == 1 else self.words[1]
        kinds = ((self.found, "new"), (self.back, "back"), (self.left, "left"))
        changes = [f"{len(rows)} {what}" for rows, what in kinds if rows]
        return f"{self.listed} {word}" + (f": {', '.join(changes)}" if changes else "")


def discovers_members(account: CloudAccount) -> bool:
    """Whether `account` is a connection that looks for member accounts."""
    return (
        account.parent_id is None
        and bool(provider_get(account.provider).members)
        and bool(account.config.get("discover_members"))
    )


def account_members_discover(*, account: CloudAccount) -> Discovery:
    """List the connection's organization and bring its member accounts up to date (see the
    module docstring). Raises CloudError when the organization cannot be listed."""
    if account.parent_id is not None:
        return Discovery()
    if discovers_members(account):
        adapter = cast("MemberDiscovery", adapter_for(account))  # its entry says it discovers
        members = [m for m in adapter.members() if m.active]
    else:
        members = []  # discovery turned off (a pinned list): the members it found leave
    now = timezone.now()
    known = {row.member_id: row for row in account.members.all()}
    provider = provider_get(account.provider)
    result = Discovery(listed=len(members), words=(provider.member, provider.members))
    with transaction.atomic():
        for member in members:
            row = known.get(member.member_id)
            if row is None:
                result.found.append(_member_create(account, member))
            elif row.retired_at is not None or row.member_path != member.path:
                back = row.retired_at is not None
                row.retired_at, row.member_path = None, member.path
                row.save(update_fields=["retired_at", "member_path", "updated_at"])
                if back:
                    result.back.append(row)
                    _audit(row, "cloud_account.member_back", member)
        listed = {m.member_id for m in members}
        for member_id, row in known.items():
            if member_id not in listed and row.retired_at is None:
                _member_retire(row, now)
                result.left.append(row)
    for row in (*result.found, *result.back, *result.left):
        account_schedule_update(row)
    if result.found or result.back:
        transaction.on_commit(lambda: _first_steps([*result.found, *result.back]))
    return result


def _member_create(connection: CloudAccount, member: Member) -> CloudAccount:
    row = CloudAccount.objects.create(
        organization=connection.organization,
        parent=connection,
        provider=connection.provider,
        name=_free_name(connection, member),
        member_id=member.member_id,
        member_path=member.path,
        sync_interval_minutes=connection.sync_interval_minutes,
        is_sandbox=connection.is_sandbox,
        secrets={},
    )
    _audit(row, "cloud_account.member_found", member)
    return row


def _member_retire(row: CloudAccount, now: datetime) -> None:
    row.retired_at = now
    row.save(update_fields=["retired_at", "updated_at"])
    removed = scopes_retire(account=row, scopes=live_scopes(account=row))
    audit_record(
        organization=row.organization, action="cloud_account.member_left", target=row,
        actor_label="discovery",
        data={"member": row.member_id, "resources_removed": sum(removed.values())},
    )  # fmt: skip


def _free_name(connection: CloudAccount, member: Member) -> str:
    """ "aws-org / web-prod", or with the member's id when that name is taken."""
    name = f"{connection.name} / {member.name}"[:100]
    taken = CloudAccount.objects.filter(organization=connection.organization, name=name)
    return (
        f"{name[: 100 - len(member.member_id) - 3]} ({member.member_id})"
        if taken.exists()
        else name
    )


def _audit(row: CloudAccount, action: str, member: Member) -> None:
    audit_record(
        organization=row.organization, action=action, target=row, actor_label="discovery",
        data={"member": member.member_id, "name": member.name, "path": member.path},
    )  # fmt: skip


def _first_steps(rows: list[CloudAccount]) -> None:
    """A new member is synced and checked at once, as a new account is: every member's sync
    is queued before any of their checks, so that the organization's inventory comes first
    and the checks (which a sync makes again: a missing role fails it as it fails a check)
    follow. With a check before each sync, the workers spent a check's time before every
    member's sync (bench/sync_org.py)."""
    from inventory.services.health import connection_check_request
    from inventory.services.sync import sync_run_request

    active = [row for row in rows if row.is_active]
    for row in active:
        sync_run_request(account=row, trigger=SyncRun.Trigger.SCHEDULED)
    for row in active:
        connection_check_request(account=row)
