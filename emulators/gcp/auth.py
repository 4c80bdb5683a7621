"""OAuth 2.0 for service accounts: keys, the JWT-bearer grant, and bearer-token checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.base import Handler, Request, Response
from emulators.gcp.common import GcpPart, _Account, _ApiError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


class _JwtError(Exception):
    """A JWT that Google would refuse; the message is Google's error_description."""


class AuthMixin(GcpPart):
    _tokens: dict[str, tuple[str, float]]  # token -> (email, expires at)

    def add_service_account(
        self, project_id: str, *, email: str | None = None, projects: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A new key for a (new or known) service account, as the JSON key file Google issues.

        The account may read `projects` (default: its own project). Call after start(): the key's
        token_uri points at this server.
        """
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        allowed = set(projects) if projects is not None else {project_id}
        with self._lock:
            for project in {project_id, *allowed}:
                self.add_project(project)
            email = email or f"sa-{len(self._accounts) + 1}@{project_id}.iam.gserviceaccount.com"
            account = self._accounts.get(email)
            if account is None:
                client_id = str(self._random.randrange(10**20, 10**21))
                account = self._accounts[email] = _Account(email, client_id, set())
            account.projects |= allowed
            key_id = f"{self._random.getrandbits(160):040x}"
            account.keys[key_id] = private.public_key()
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": account.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                f"https://www.googleapis.com/robot/v1/metadata/x509/{quote(email, safe='')}"
            ),
            "universe_domain": "googleapis.com",
        }

    def revoke_key(self, client_email: str, *, tokens: bool = False) -> None:
        """Delete the account's keys: new grants and self-signed JWTs fail from now on.

        Access tokens already issued stay valid until they expire, as at Google; pass
        tokens=True to drop them too.
        """
        with self._lock:
            self._accounts[client_email].keys.clear()
            if tokens:
                self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client_email}

    def deny_service(self, client_email: str, service: str, *, denied: bool = True) -> None:
        """Refuse (or allow again) every call of `client_email` to one API ("compute",
        "cloudasset", "storage", "bigquery"), as GCP does for a role without that API's
        permissions: 403 PERMISSION_DENIED."""
        with self._lock:
            account = self._accounts[client_email]
            if denied:
                account.denied.add(service)
            else:
                account.denied.discard(service)

    def _denied(self, service: str, email: str) -> _ApiError:
        permission = {"compute": "compute.instances.list",
                      "cloudasset": "cloudasset.assets.listResource"}.get(
            service, f"{service}.resources.list")  # fmt: skip
        return _ApiError(
            self.error(
                403,
                "Forbidden",
                f"Permission '{permission}' denied on resource (or it may not exist).",
                extra={
                    "status": "PERMISSION_DENIED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "IAM_PERMISSION_DENIED",
                            "domain": "iam.googleapis.com",
                            "metadata": {"permission": permission},
                        }
                    ],
                },
            )
        )

    def _unauthenticated(self, service: str, why: str) -> _ApiError:
        return _ApiError(
            self.error(
                401,
                "Unauthenticated",
                _UNAUTHENTICATED,
                extra={
                    "status": "UNAUTHENTICATED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": why,
                            "domain": "googleapis.com",
                            "metadata": {"service": f"{service}.googleapis.com"},
                        }
                    ],
                },
            )
        )

    def _verify_jwt(self, token: str, audiences: set[str]) -> dict[str, Any]:
        """The claims of an RS256 JWT signed by a live key of a registered account."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise _JwtError("Invalid JWT Signature.") from exc
        with self._lock:
            account = self._accounts.get(str(claims.get("iss")))
            key = account.keys.get(str(header.get("kid"))) if account else None
        if account is None:
            raise _JwtError("Invalid grant: account not found")
        if key is None:
            raise _JwtError("Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "iat", "exp"]},
                leeway=60,
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
            raise _JwtError(_SHORT_LIVED) from exc
        except jwt.InvalidTokenError as exc:
            raise _JwtError("Invalid JWT Signature.") from exc
        if claims["exp"] - claims["iat"] > TOKEN_LIFETIME:
            raise _JwtError(_SHORT_LIVED)
        if "aud" in claims and claims["aud"] not in audiences:
            raise _JwtError("Invalid JWT: Failed audience check.")
        return claims

    def _principal(self, request: Request, service: str) -> str:
        """The service account's email behind the bearer token, or a 401 _ApiError."""
        token = request.bearer_token
        if not token:
            raise self._unauthenticated(service, "CREDENTIALS_MISSING")
        with self._lock:
            issued = self._tokens.get(token)
        if issued:
            if issued[1] < time.time():
                raise self._unauthenticated(service, "ACCESS_TOKEN_EXPIRED")
            return issued[0]
        # A self-signed JWT (AIP-4111): aud is the service, or absent with a scope claim.
        try:
            claims = self._verify_jwt(token, {f"https://{service}.googleapis.com/"})
        except _JwtError as exc:
            raise self._unauthenticated(service, "ACCESS_TOKEN_TYPE_UNSUPPORTED") from exc
        if claims.get("sub", claims["iss"]) != claims["iss"] or not (
            claims.get("aud") or claims.get("scope")
        ):
            raise self._unauthenticated(service, "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        return str(claims["iss"])

    def _authenticated(self, service: str, handler: Callable[[Request, str], Response]) -> Handler:
        """Wrap a handler so it runs only for a valid bearer token, with the caller's email."""

        def run(request: Request) -> Response:
            try:
                email = self._principal(request, service)
                with self._lock:
                    account = self._accounts.get(email)
                    if account is not None and service in account.denied:
                        raise self._denied(service, email)
                return handler(request, email)
            except _ApiError as exc:
                return exc.response

        return run

    # --- OAuth ---------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        """The JWT-bearer grant of google.oauth2.service_account.Credentials.refresh()."""
        form = request.form()
        if form.get("grant_type") != JWT_GRANT:
            return _oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        if not form.get("assertion"):
            return _oauth_error("invalid_request", "Missing required parameter: assertion")
        audiences = {f"{self.url}/token", "https://oauth2.googleapis.com/token"}
        try:
            claims = self._verify_jwt(form["assertion"], audiences)
        except _JwtError as exc:
            return _oauth_error("invalid_grant", str(exc))
        if "aud" not in claims:
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        token = "ya29.c." + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (str(claims["iss"]), time.time() + TOKEN_LIFETIME)
        body = {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        return Response.json(body)


def _oauth_error(error: str, description: str) -> Response:
    """RFC 6749 error body; google-auth raises RefreshError with both fields in the message."""
    return Response.json({"error": error, "error_description": description}, 400)
