"""Who calls the API: a personal access token (Authorization: Bearer) or the browser session
(with CSRF). Either way the request gets `organization`, `role` and `user`, as org_view
gives the HTML views, so the same get_for_org() and role checks apply."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from accounts.roles import Role
from accounts.services import user_has_mfa
from accounts.tenancy import current_membership
from accounts.tokens import token_authenticate


class TokenAuth(HttpBearer):
    openapi_description = "A personal access token made on the API tokens page."

    def __init__(self, min_role: Role = Role.VIEWER) -> None:
        self.min_role = min_role
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        identity = token_authenticate(token)
        if identity is None:
            return None
        request.user = identity.token.user
        request.organization = identity.membership.organization
        request.role = identity.role
        request.api_token = identity.token
        require(request, self.min_role)
        return identity.token


class OrgSessionAuth(SessionAuth):
    """The browser session, in the organization chosen in the header."""

    def __init__(self, min_role: Role = Role.VIEWER) -> None:
        self.min_role = min_role
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        membership = current_membership(request)
        if membership is None:
            return None
        request.organization = membership.organization
        request.role = membership.role_enum
        require(request, self.min_role)
        return user


def require(request: HttpRequest, role: Role) -> None:
    """The API's role check, the one the HTML views make with org_view(role), and the
    organization's two-factor rule, which the pages apply in RequireMfaMiddleware."""
    if not request.role.allows(role):
        raise PermissionDenied(f"This needs the {role.label} role or higher.")
    if request.organization.require_mfa and not user_has_mfa(request.user):
        raise PermissionDenied(
            f"{request.organization.name} requires two-factor authentication: set it up in "
            "mcloud's pages first."
        )


def role_auth(role: Role) -> list[HttpBearer | SessionAuth]:
    """The `auth=` of an operation that needs more than the viewer role. The role is checked
    with the credentials, before the body is read, so a refused caller gets 403 whatever it
    sent; the isolation tests read each operation's `min_role` from here."""
    return [TokenAuth(role), OrgSessionAuth(role)]


AUTH = role_auth(Role.VIEWER)
THROTTLE = [
    AuthRateThrottle(settings.API_RATE_LIMIT),
    AnonRateThrottle(settings.API_ANON_RATE_LIMIT),
]
