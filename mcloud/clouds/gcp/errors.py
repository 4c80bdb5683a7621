"""Google's exceptions as display-safe CloudErrors, and which of them are worth a retry.

Nothing Google or the token endpoint says reaches a message unchecked: the API's own message
without the request line, the OAuth error code alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.protobuf import json_format

from mcloud.clouds.base import CloudError

# Retried with backoff: throttling, server errors, connections dropped or reset on the way,
# and reads that timed out (every inventory call here is a read), as boto3 and azure-core do.
TRANSIENT = (
    requests.Timeout,
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.ServiceUnavailable,
    gexc.BadGateway,
    gexc.GatewayTimeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    auth_exc.TransportError,
)
_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
_REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


def _reason(exc: gexc.GoogleAPICallError) -> str:
    """The API's own message, without the request line the REST transport puts before it."""
    return _REQUEST_PREFIX.sub("", exc.message or "")[:300]


def _oauth_error(exc: auth_exc.RefreshError) -> str:
    """The OAuth error code of the token endpoint's answer ("invalid_grant"), and nothing else
    it said: its words are not ours to show."""
    for arg in exc.args:
        code = arg.get("error") if isinstance(arg, dict) else None
        if isinstance(code, str) and _OAUTH_ERROR.fullmatch(code):
            return code
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    code = first.split(":", 1)[0].strip()
    return code if _OAUTH_ERROR.fullmatch(code) else "refused"


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn google exceptions into display-safe CloudErrors."""
    try:
        yield
    except auth_exc.RefreshError as exc:
        raise CloudError(
            f"GCP rejected the service-account key ({_oauth_error(exc)})",
            permanent=True,
            code="RefreshError",
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
    except json_format.Error:
        raise CloudError(
            f"GCP sent an answer that could not be read while trying to {doing}",
            code="Unreadable",
        ) from None
