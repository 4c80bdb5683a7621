"""Azure AD's v2.0 client-credentials flow, and the bearer-token check ARM makes."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
import uuid

from emulators.azure.state import (
    ARM_AUDIENCES,
    AzurePart,
    _App,
    _Token,
    _unauthorized,
)
from emulators.base import Request, Response


class IdentityMixin(AzurePart):
    # --- state: identities ------------------------------------------------------------
    def add_tenant(self, tenant_id: str) -> None:
        with self._lock:
            self._state.tenants.add(tenant_id.lower())

    def add_app(
        self, tenant_id: str, client_id: str, secret: str, subscriptions: list[str]
    ) -> None:
        """A service principal with Reader on `subscriptions` (it may sign in to its tenant)."""
        with self._lock:
            self._state.tenants.add(tenant_id.lower())
            self._state.apps[client_id.lower()] = _App(
                tenant_id.lower(),
                client_id,
                secret,
                {s.lower() for s in subscriptions},
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id.lower()}")),
            )

    def grant(self, client_id: str, subscription_id: str, *, granted: bool = True) -> None:
        """Give the service principal Reader on one more subscription (or take it away)."""
        with self._lock:
            subscriptions = self._state.apps[client_id.lower()].subscriptions
            if granted:
                subscriptions.add(subscription_id.lower())
            else:
                subscriptions.discard(subscription_id.lower())

    # --- wire: Azure AD -----------------------------------------------------------------
    def _aad_error(self, status: int, error: str, code: int, description: str) -> Response:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = uuid.uuid4(), uuid.uuid4()
        return Response.json(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {now}",
                "error_codes": [code],
                "timestamp": now,
                "trace_id": str(trace),
                "correlation_id": str(correlation),
                "error_uri": f"{self.url}/error?code={code}",
            },
            status,
        )

    def _unknown_tenant(self, tenant: str) -> Response:
        return self._aad_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud.",
        )

    def _openid_configuration(self, request: Request) -> Response:
        tenant = request.params["tenant"]
        with self._lock:
            if tenant.lower() not in self._state.tenants:
                return self._unknown_tenant(tenant)
        base = f"{self.url}/{tenant}"
        return Response.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    def _token(self, request: Request) -> Response:
        """The client-credentials grant, with AAD's error codes for each way it goes wrong."""
        tenant, form = request.params["tenant"], request.form()
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        with self._lock:
            if tenant.lower() not in self._state.tenants:
                return self._unknown_tenant(tenant)
            app = self._state.apps.get(client_id.lower())
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type')}'.",
            )
        if app is None or app.tenant_id != tenant.lower():
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        if not secret:
            return self._aad_error(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if not secrets.compare_digest(secret, app.secret):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )
        scope = form.get("scope", "").split()
        resource = [s.removesuffix("/.default") for s in scope if s.endswith("/.default")]
        if len(scope) != 1 or not resource:
            return self._aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scope)} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._state.tokens[token] = _Token(
                app.client_id, app.tenant_id, resource[0], time.time() + self.token_lifetime
            )
        return Response.json(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    # --- wire: ARM ----------------------------------------------------------------------
    def _authorize(self, request: Request, sub: str | None, action: str) -> _App | Response:
        """The calling app, or the error ARM answers, checked in the order ARM checks them."""
        token = request.bearer_token
        if token is None:
            return _unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        with self._lock:
            issued = self._state.tokens.get(token)
            app = self._state.apps.get(issued.client_id.lower()) if issued else None
            subscription = self._state.subscriptions.get((sub or "").lower())
        if issued is None or app is None:
            return _unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        if issued.expires_at < time.time():
            expired = dt.datetime.fromtimestamp(issued.expires_at, dt.UTC)
            return _unauthorized(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired:%m/%d/%Y %H:%M:%S}' is earlier than "
                f"current UTC time '{dt.datetime.now(dt.UTC):%m/%d/%Y %H:%M:%S}'.",
            )
        if issued.audience not in ARM_AUDIENCES:
            return _unauthorized(
                "InvalidAuthenticationToken",
                f"The access token has been obtained for wrong audience or resource "
                f"'{issued.audience}'. It should exactly match with one of the allowed audiences "
                + ",".join(f"'{a}'" for a in ARM_AUDIENCES)
                + ".",
            )
        if not request.arg("api-version"):
            return self.error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if sub is None:
            return app
        if subscription is None:
            return self.error(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        if subscription["tenant"].lower() != issued.tenant_id:
            return _unauthorized(
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer 'https://sts.windows.net/"
                f"{issued.tenant_id}/'. It must match the tenant 'https://sts.windows.net/"
                f"{subscription['tenant']}/' associated with this subscription.",
            )
        if sub.lower() not in app.subscriptions:
            return self.error(
                403,
                "AuthorizationFailed",
                f"The client '{app.object_id}' with object id '{app.object_id}' does not have "
                f"authorization to perform action '{action}' over scope '/subscriptions/{sub}' "
                "or the scope is invalid. If access was recently granted, please refresh your "
                "credentials.",
            )
        return app
