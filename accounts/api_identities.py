"""How a token or a browser session becomes an API caller: the accounts app's part of the
API's authentication (mcloud.api.security), registered in AccountsConfig.ready()."""

from __future__ import annotations

from typing import TypeGuard, cast

from django.http import HttpRequest

from accounts.services import user_has_mfa
from accounts.tenancy import ApiRequest, api_request_bind, current_membership
from accounts.tokens import token_authenticate
from mcloud.api.security import CallerRequest


class AccountIdentities:
    def from_token(self, request: HttpRequest, token: str) -> TypeGuard[CallerRequest]:
        identity = token_authenticate(token)
        if identity is None:
            return False
        request.user = identity.token.user
        api_request_bind(
            request,
            organization=identity.membership.organization,
            role=identity.role,
            token=identity.token,
        )
        return True

    def from_session(self, request: HttpRequest) -> TypeGuard[CallerRequest]:
        membership = current_membership(request)
        if membership is None:
            return False
        api_request_bind(
            request, organization=membership.organization, role=membership.role_enum, token=None
        )
        return True

    def refusal(self, request: HttpRequest) -> str:
        # Called only after from_token or from_session accepted the request.
        member = cast(ApiRequest, request)
        organization = member.organization
        if organization.require_mfa and not user_has_mfa(member.user):
            return (
                f"{organization.name} requires two-factor authentication: set it up in "
                "mcloud's pages first."
            )
        return ""
