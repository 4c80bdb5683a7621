"""How a token or a browser session becomes an API caller: the accounts app's part of the
API's authentication (mcloud.api.security), registered in AccountsConfig.ready()."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.services import user_has_mfa
from accounts.tenancy import current_membership
from accounts.tokens import token_authenticate


class AccountIdentities:
    def from_token(self, request: HttpRequest, token: str) -> bool:
        identity = token_authenticate(token)
        if identity is None:
            return False
        request.user = identity.token.user
        request.organization = identity.membership.organization  # type: ignore[attr-defined]
        request.role = identity.role  # type: ignore[attr-defined]
        request.api_token = identity.token  # type: ignore[attr-defined]
        return True

    def from_session(self, request: HttpRequest) -> bool:
        membership = current_membership(request)
        if membership is None:
            return False
        request.organization = membership.organization  # type: ignore[attr-defined]
        request.role = membership.role_enum  # type: ignore[attr-defined]
        return True

    def refusal(self, request: HttpRequest) -> str:
        organization = request.organization  # type: ignore[attr-defined]
        if organization.require_mfa and not user_has_mfa(request.user):  # type: ignore[arg-type]
            return (
                f"{organization.name} requires two-factor authentication: set it up in "
                "mcloud's pages first."
            )
        return ""
