"""Personal access tokens of the JSON API: made, shown once, stored as a hash, revoked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiToken, Membership, Organization, User, hash_token
from accounts.roles import Role
from mcloud.errors import ActionRefused

LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute


@transaction.atomic
def token_create(
    *,
    user: User,
    organization: Organization,
    name: str,
    role: Role,
    expires_in_days: int | None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret value, which only this call ever returns."""
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None:
        raise ActionRefused("You are not a member of that organization.")
    role = Role(role)
    if not membership.role_enum.allows(role):
        raise ActionRefused(f"A token cannot have a higher role than yours ({membership.role}).")
    longest = settings.API_TOKEN_MAX_DAYS
    if longest and (expires_in_days is None or expires_in_days > longest):
        raise ActionRefused(f"Tokens expire within {longest} days on this instance.")
    value = ApiToken.PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=user,
        organization=organization,
        name=name.strip(),
        role=role,
        token_hash=hash_token(value),
        hint=value[:10],
        expires_at=expires,
    )
    audit_record(
        organization=organization,
        action="api_token.created",
        target=token,
        actor=user,
        ip=ip,
        data={
            "name": token.name,
            "role": role.value,
            "expires_at": expires.isoformat() if expires else None,
        },
    )
    return token, value


@transaction.atomic
def token_revoke(*, token: ApiToken, user: User, ip: str | None = None) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        organization=token.organization, action="api_token.revoked", target=token, actor=user,
        ip=ip,
    )  # fmt: skip


@dataclass(frozen=True)
class TokenIdentity:
    token: ApiToken
    membership: Membership
    role: Role


def token_authenticate(value: str) -> TokenIdentity | None:
    """The identity behind a token, or None when it is unknown, revoked or expired, or its
    owner left the organization. The role is the lower of the token's and the member's."""
    if not value.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(token_hash=hash_token(value))
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    longest = settings.API_TOKEN_MAX_DAYS  # also for tokens made before the cap was set
    if longest and timezone.now() - token.created_at > timedelta(days=longest):
        return None
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=token.user, organization=token.organization)
        .first()
    )
    if membership is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    role = min(Role(token.role), membership.role_enum, key=lambda r: r.rank)
    return TokenIdentity(token, membership, role)
