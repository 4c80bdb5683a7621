"""Who calls the API: a personal access token (Authorization: Bearer) or the browser session
(with CSRF). Either way the request gets `user`, `organization` and `role`, as org_view gives
the HTML views, so the same get_for_org() and role checks apply.

This module is the kernel's part and imports no app: the accounts app, which owns users,
organizations, roles and tokens, registers how a token or a session becomes an identity
(`identities_register`, from its AppConfig.ready()).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeGuard

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import AnonRateThrottle, AuthRateThrottle, BaseThrottle


class Role(Protocol):
    """A role as the API checks it (the accounts app's `Role`)."""

    @property
    def label(self) -> str: ...

    def allows(self, required: Any) -> bool: ...


class CallerRequest(HttpRequest):
    """A request the identities accepted, as the kernel sees it: the caller's role and, for a
    token, the token's row (the apps see the organization too, as a MemberRequest)."""

    role: Role
    api_token: Any


class Identities(Protocol):
    def from_token(self, request: HttpRequest, token: str) -> TypeGuard[CallerRequest]:
        """Set the request's user, organization, role and api_token for a valid token."""
        ...

    def from_session(self, request: HttpRequest) -> TypeGuard[CallerRequest]:
        """Set the request's organization and role for a signed-in member (user is set)."""
        ...

    def refusal(self, request: HttpRequest) -> str:
        """Why this identity may not use the API now (the organization's rules), or ""."""
        ...


_identities: list[Identities] = []


def identities_register(identities: Identities) -> None:
    _identities[:] = [identities]


def _source() -> Identities:
    if not _identities:
        raise RuntimeError("No identities registered: the accounts app registers them.")
    return _identities[0]


class TokenAuth(HttpBearer):
    openapi_description = "A personal access token made on the API tokens page."

    def __init__(self, min_role: Role | None = None) -> None:
        self.min_role = min_role
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not _source().from_token(request, token):
            return None
        require(request, self.min_role)
        return request.api_token


class OrgSessionAuth(SessionAuth):
    """The browser session, in the organization chosen in the header."""

    def __init__(self, min_role: Role | None = None) -> None:
        self.min_role = min_role
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not _source().from_session(request):
            return None
        require(request, self.min_role)
        return user


def require(request: CallerRequest, role: Role | None) -> None:
    """The API's role check, the one the HTML views make with org_view(role), and the
    organization's own rules (two-factor sign-in), which the pages apply in a middleware."""
    if role is not None and not request.role.allows(role):
        raise PermissionDenied(f"This needs the {role.label} role or higher.")
    if refusal := _source().refusal(request):
        raise PermissionDenied(refusal)


def role_auth(role: Role | None) -> list[HttpBearer | SessionAuth]:
    """The `auth=` of an operation that needs more than being a member. The role is checked
    with the credentials, before the body is read, so a refused caller gets 403 whatever it
    sent; the isolation tests read each operation's `min_role` from here."""
    return [TokenAuth(role), OrgSessionAuth(role)]


AUTH = role_auth(None)  # any member of the organization
THROTTLE: list[BaseThrottle] = [
    AuthRateThrottle(settings.API_RATE_LIMIT),
    AnonRateThrottle(settings.API_ANON_RATE_LIMIT),
]
