"""Azure through azure-identity and the azure-mgmt-* clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.resource import SubscriptionClient

from mcloud.clouds.base import AzureCredentials, CloudError, ConnectionResult, Endpoints

# The token audience is Resource Manager's, wherever its endpoint answers.
ARM_SCOPE = "https://management.azure.com/.default"
PUBLIC_AUTHORITY = "login.microsoftonline.com"
_AADSTS = re.compile(r"(AADSTS\d+): ([^.\r\n]*\.)")


class AzureAdapter:
    def __init__(self, credentials: AzureCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._credential: ClientSecretCredential | None = None

    def credential(self) -> ClientSecretCredential:
        if self._credential is None:
            c, e = self.credentials, self.endpoints
            kwargs: dict[str, Any] = {
                "authority": e.azure_authority,
                "connection_timeout": e.timeout,
                "read_timeout": e.timeout,
            }
            if e.azure_authority != PUBLIC_AUTHORITY:
                kwargs["disable_instance_discovery"] = True  # a private or emulated authority
            if e.azure_ca_bundle:
                kwargs["connection_verify"] = e.azure_ca_bundle
            self._credential = ClientSecretCredential(
                c.tenant_id, c.client_id, c.client_secret, **kwargs
            )
        return self._credential

    def client_kwargs(self) -> dict[str, Any]:
        e = self.endpoints
        kwargs: dict[str, Any] = {
            "base_url": e.azure_arm_url,
            "credential_scopes": [ARM_SCOPE],
            "retry_total": e.retries,
            "retry_backoff_factor": 0.5,
            "connection_timeout": e.timeout,
            "read_timeout": e.timeout,
        }
        if e.azure_ca_bundle:
            kwargs["connection_verify"] = e.azure_ca_bundle
        return kwargs

    def client(self, client_class: type, **extra: Any) -> Any:
        return client_class(self.credential(), **extra, **self.client_kwargs())

    def test_connection(self) -> ConnectionResult:
        """Read each subscription the account covers."""
        subscriptions = self.client(SubscriptionClient).subscriptions
        names = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read subscription {subscription_id}"):
                names.append(subscriptions.get(subscription_id).display_name)
        plural = "s" if len(names) != 1 else ""
        return ConnectionResult(
            message=f"Connected as application {self.credentials.client_id} to "
            f"subscription{plural} {', '.join(names)}",
            identity=self.credentials.client_id,
        )


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn azure-core exceptions into display-safe CloudErrors."""
    try:
        yield
    except ClientAuthenticationError as exc:
        found = _AADSTS.search(str(exc))
        if found:
            code, sentence = found.groups()
            what = "client secret" if code == "AADSTS7000215" else "credentials"
            raise CloudError(
                f"Azure rejected the {what} ({code}: {sentence})", permanent=True, code=code
            ) from None
        code = exc.error.code if exc.error else "AuthenticationFailed"
        raise CloudError(
            f"Azure rejected the credentials ({code})", permanent=True, code=code
        ) from None
    except ResourceNotFoundError as exc:
        code = exc.error.code if exc.error else "NotFound"
        raise CloudError(
            f"Azure could not {doing}: it does not exist ({code})", permanent=True, code=code
        ) from None
    except HttpResponseError as exc:
        code = exc.error.code if exc.error else str(exc.status_code)
        if exc.status_code in (401, 403):
            raise CloudError(
                f"Azure denied the request to {doing} ({code})", permanent=True, code=code
            ) from None
        raise CloudError(f"Azure could not {doing} ({code})", code=code) from None
    except ServiceResponseError:
        raise CloudError(
            f"Azure did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except ServiceRequestError:
        raise CloudError("Azure could not be reached", code="ConnectionError") from None
