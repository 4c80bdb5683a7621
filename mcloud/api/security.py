"""Who calls the API: a personal access token (Authorization: Bearer) or the browser session
(with CSRF). Either way the request gets `organization`, `role` and `user`, as org_view
gives the HTML views, so the same get_for_org() and role checks apply."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from accounts.roles import Role
from accounts.tenancy import current_membership
from accounts.tokens import token_authenticate


class TokenAuth(HttpBearer):
    openapi_description = "A personal access token made on the API tokens page."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        identity = token_authenticate(token)
        if identity is None:
            return None
        request.user = identity.token.user
        request.organization = identity.membership.organization
        request.role = identity.role
        request.api_token = identity.token
        return identity.token


class OrgSessionAuth(SessionAuth):
    """The browser session, in the organization chosen in the header."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        membership = current_membership(request)
        if membership is None:
            return None
        request.organization = membership.organization
        request.role = membership.role_enum
        return user


def require(request: HttpRequest, role: Role) -> None:
    """The API's role check, the one the HTML views make with org_view(role)."""
    if not request.role.allows(role):
        raise PermissionDenied(f"This needs the {role.label} role or higher.")


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an API operation with the least role that may call it (viewers by default).
    The role is kept on the function, where the isolation tests read the role matrix."""

    def decorator(operation: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(operation)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require(request, role)
            return operation(request, *args, **kwargs)

        # Resolved types, so django-ninja reads the operation's parameters from the wrapper.
        checked.__signature__ = inspect.signature(operation, eval_str=True)
        checked.min_role = role
        return checked

    return decorator


AUTH = [TokenAuth(), OrgSessionAuth()]
THROTTLE = [
    AuthRateThrottle(settings.API_RATE_LIMIT),
    AnonRateThrottle(settings.API_ANON_RATE_LIMIT),
]
