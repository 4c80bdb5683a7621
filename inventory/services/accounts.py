"""Creating, changing, pausing and deleting cloud accounts. Audited; never logs secrets."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from inventory.models import CloudAccount, default_sync_interval
from inventory.schedules import account_schedule_delete, account_schedule_update
from mcloud.errors import ActionRefused


def member_refusal(account: CloudAccount, doing: str) -> ActionRefused:
    """Why a member account cannot be changed or deleted like an account added by hand."""
    return ActionRefused(
        f"{account.name} is a member account that {account.parent} discovered: it signs in "
        f"through that connection, so it cannot be {doing}. Exclude it instead, or change "
        "the connection."
    )


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


@transaction.atomic
def cloud_account_create(
    *,
    organization: Organization,
    provider: str,
    name: str,
    enabled: bool,
    config: dict[str, Any],
    secrets: dict[str, str],
    user: User | None,
    ip: str | None = None,
    sync_interval_minutes: int | None = None,
) -> CloudAccount:
    account = CloudAccount.objects.create(
        organization=organization,
        provider=provider,
        name=name,
        enabled=enabled,
        config=config,
        secrets=secrets,
        sync_interval_minutes=sync_interval_minutes or default_sync_interval(),
        created_by=user,
    )
    account_schedule_update(account)
    audit_record(
        organization=organization,
        action="cloud_account.created",
        target=account,
        data={"provider": provider, "config": config},
        actor=user,
        ip=ip,
    )
    return account


@transaction.atomic
def cloud_account_update(
    *,
    account: CloudAccount,
    name: str,
    enabled: bool,
    config: dict[str, Any],
    secrets: dict[str, str],
    user: User | None,
    ip: str | None = None,
    sync_interval_minutes: int | None = None,
) -> CloudAccount:
    """Save the form's values. Audit entries name the secrets that changed, never their values."""
    if account.is_member:
        raise member_refusal(account, "edited")
    interval = sync_interval_minutes or account.sync_interval_minutes
    changed = _changes(
        {"name": account.name, "enabled": account.enabled,
         "sync_interval_minutes": account.sync_interval_minutes, **account.config},
        {"name": name, "enabled": enabled, "sync_interval_minutes": interval, **config},
    )  # fmt: skip
    secrets_changed = _changes(account.secrets, secrets)
    account.name, account.enabled, account.config, account.secrets = name, enabled, config, secrets
    account.sync_interval_minutes = interval
    account.save()
    account_schedule_update(account)
    audit_record(
        organization=account.organization,
        action="cloud_account.updated",
        target=account,
        data={"changed": changed, "secrets_replaced": secrets_changed},
        actor=user,
        ip=ip,
    )
    return account


@transaction.atomic
def cloud_account_set_enabled(
    *, account: CloudAccount, enabled: bool, user: User, ip: str | None = None
) -> CloudAccount:
    account.enabled = enabled
    account.save(update_fields=["enabled", "updated_at"])
    account_schedule_update(account)
    audit_record(
        organization=account.organization,
        action="cloud_account.enabled" if enabled else "cloud_account.disabled",
        target=account,
        actor=user,
        ip=ip,
    )
    return account


@transaction.atomic
def cloud_account_pause(*, account: CloudAccount, reason: str) -> CloudAccount:
    account.paused_at = timezone.now()
    account.pause_reason = reason[:500]
    account.save(update_fields=["paused_at", "pause_reason", "updated_at"])
    audit_record(
        organization=account.organization,
        action="cloud_account.paused",
        target=account,
        actor_label="health check",
        data={"reason": reason},
    )
    return account


@transaction.atomic
def cloud_account_resume(
    *, account: CloudAccount, user: User, ip: str | None = None
) -> CloudAccount:
    account.paused_at = None
    account.pause_reason = ""
    account.consecutive_failures = 0
    account.save(update_fields=["paused_at", "pause_reason", "consecutive_failures", "updated_at"])
    audit_record(
        organization=account.organization,
        action="cloud_account.resumed",
        target=account,
        actor=user,
        ip=ip,
    )
    return account


@transaction.atomic
def cloud_account_delete(*, account: CloudAccount, user: User, ip: str | None = None) -> None:
    """Delete the account, its members (of a connection that discovers them) and their rows."""
    if account.is_member and account.retired_at is None:
        raise member_refusal(account, "deleted while it is in the organization")
    audit_record(
        organization=account.organization,
        action="cloud_account.deleted",
        target=account,
        data={"provider": account.provider, "name": account.name},
        actor=user,
        ip=ip,
    )
    for member_id in [account.pk, *account.members.values_list("pk", flat=True)]:
        account_schedule_delete(member_id)
    account.delete()
