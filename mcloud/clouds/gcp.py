"""GCP through google-auth and the google-cloud-* clients (REST transport)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exc
from google.cloud import compute_v1
from google.oauth2 import service_account

from mcloud.clouds.base import CloudError, ConnectionResult, Endpoints, GcpCredentials

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_TRANSIENT = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.ServiceUnavailable,
    gexc.BadGateway,
    gexc.GatewayTimeout,
)


class GcpAdapter:
    def __init__(self, credentials: GcpCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._google_credentials: service_account.Credentials | None = None

    @property
    def client_email(self) -> str:
        return self.credentials.key_info.get("client_email", "")

    def google_credentials(self) -> service_account.Credentials:
        if self._google_credentials is None:
            info = dict(self.credentials.key_info)
            if self.endpoints.gcp_token_uri:
                info["token_uri"] = self.endpoints.gcp_token_uri
            with translate_errors("read the service-account key"):
                self._google_credentials = service_account.Credentials.from_service_account_info(
                    info, scopes=SCOPES
                )
        return self._google_credentials

    def _options(self, endpoint: str | None) -> dict[str, Any] | None:
        return {"api_endpoint": endpoint} if endpoint else None

    def compute(self, client_class: type) -> Any:
        return client_class(
            credentials=self.google_credentials(),
            transport="rest",
            client_options=self._options(self.endpoints.gcp_compute_endpoint),
        )

    def retry(self) -> Retry:
        """Throttling and server errors are retried with backoff, within the call timeout."""
        return Retry(
            predicate=if_exception_type(*_TRANSIENT),
            initial=0.2,
            maximum=5.0,
            multiplier=2.0,
            timeout=self.endpoints.timeout * (self.endpoints.retries + 1),
        )

    def test_connection(self) -> ConnectionResult:
        """Read each project the account covers."""
        projects = self.compute(compute_v1.ProjectsClient)
        names = []
        for project_id in self.credentials.project_ids:
            with translate_errors(f"read project {project_id}"):
                project = projects.get(
                    project=project_id,
                    timeout=self.endpoints.timeout,
                    retry=self.retry() if self.endpoints.retries else None,
                )
            names.append(project.name)
        return ConnectionResult(
            message=f"Connected as {self.client_email} to {_plural('project', names)}",
            identity=self.client_email,
        )


def _plural(noun: str, names: list[str]) -> str:
    return f"{noun}{'s' if len(names) != 1 else ''} {', '.join(names)}"


_REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


def _reason(exc: gexc.GoogleAPICallError) -> str:
    """The API's own message, without the request line the REST transport puts before it."""
    return _REQUEST_PREFIX.sub("", exc.message or "")[:300]


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn google exceptions into display-safe CloudErrors."""
    try:
        yield
    except auth_exc.RefreshError as exc:
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "refused"
        raise CloudError(
            f"GCP rejected the service-account key ({reason})", permanent=True, code="RefreshError"
        ) from None
    except (ValueError, auth_exc.MalformedError) as exc:
        raise CloudError(
            f"The service-account key is not usable ({exc.__class__.__name__})",
            permanent=True,
            code="MalformedKey",
        ) from None
    except gexc.Unauthorized:
        raise CloudError(
            "GCP rejected the service-account key (UNAUTHENTICATED)",
            permanent=True,
            code="Unauthenticated",
        ) from None
    except gexc.Forbidden as exc:
        raise CloudError(
            f"GCP denied the request to {doing} ({_reason(exc)})", permanent=True, code="Forbidden"
        ) from None
    except gexc.NotFound:
        raise CloudError(
            f"GCP could not {doing}: it does not exist", permanent=True, code="NotFound"
        ) from None
    except (gexc.DeadlineExceeded, gexc.RetryError, requests.Timeout):
        raise CloudError(
            f"GCP did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except (requests.ConnectionError, auth_exc.TransportError):
        raise CloudError("GCP could not be reached", code="ConnectionError") from None
    except gexc.GoogleAPICallError as exc:
        raise CloudError(
            f"GCP could not {doing} ({exc.code}: {_reason(exc)})", code=str(exc.code)
        ) from None
