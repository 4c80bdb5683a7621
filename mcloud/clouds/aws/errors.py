"""botocore's exceptions as mcloud's: display-safe `CloudError`s, and which refusals are a
missing permission for one service rather than a problem of the whole account.

- Key errors (a key AWS does not know or accept, an expired token) fail whatever was asked:
  no other call with the same key can succeed.
- A denial (AccessDenied and its spellings, or any other HTTP 403 that is not a key error) is
  permanent too, but it concerns the action asked for: a listing of one service that AWS
  denies says so and lets the other services of its scope be listed (see `inventory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from mcloud.clouds.base import CloudError

# Error codes that retrying cannot fix.
PERMANENT = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "AuthFailure",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "OptInRequired",
    }
)
KEY_ERRORS = frozenset(
    {
        "AuthFailure",  # EC2's word for a key it does not accept
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "InvalidSignatureException",  # the REST and JSON services' word for a wrong secret
    }
)
# Throttling answers (waited out and sent again: `mcloud.clouds.throttling`), as botocore
# knows them; any HTTP 429 is one too.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
    }
)
# Refused whatever the action: the key or its session is at fault, not a permission.
_ACCOUNT_WIDE = KEY_ERRORS | {"ExpiredToken", "ExpiredTokenException", "OptInRequired"}


def error_code(exc: BaseException) -> str:
    """AWS's error code of a refused call ("" for any other exception)."""
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code") or "")


def is_gone(exc: BaseException, *codes: str) -> bool:
    """Whether `exc` says the item asked about does not exist (any longer)."""
    return bool(codes) and error_code(exc) in codes


def _status(exc: ClientError) -> object:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def denial(exc: BaseException) -> str | None:
    """The code of a refusal that concerns only the action asked for (a missing permission),
    or None for anything else (a bad key, throttling, a server error, ...).

    A 403 without a readable code (some JSON services answer a denial in XML, which botocore
    cannot read) is a denial too, named by its status."""
    if not isinstance(exc, ClientError):
        return None
    code = exc.response.get("Error", {}).get("Code") or ""
    if code in _ACCOUNT_WIDE:
        return None
    if code in PERMANENT or _status(exc) == 403:
        return code if code and not code.isdigit() else "HTTP 403"
    return None


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn botocore exceptions into display-safe CloudErrors."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc) or "Unknown"
        if code in PERMANENT or _status(exc) in (401, 403):
            message = (
                f"AWS rejected the access key ({code})"
                if code in KEY_ERRORS
                else f"AWS denied the request to {doing} ({code})"
            )
            raise CloudError(message, permanent=True, code=code) from None
        raise CloudError(f"AWS could not {doing} ({code})", code=code) from None
    except (ConnectTimeoutError, ReadTimeoutError):
        raise CloudError(
            f"AWS did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except EndpointConnectionError:
        raise CloudError("AWS could not be reached", code="ConnectionError") from None
    except NoCredentialsError:
        raise CloudError(
            "No AWS credentials are available to assume the role",
            permanent=True,
            code="NoCredentials",
        ) from None
    except BotoCoreError as exc:
        name = exc.__class__.__name__
        raise CloudError(f"AWS could not {doing} ({name})", code=name) from None
