"""azure-core's exceptions as display-safe CloudErrors, and the retry of reads sent as POST.

Messages never carry what Azure echoed back beyond its error code (and, for a rejected
sign-in, the AADSTS code and its first sentence): no secret, token or stack trace."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DeserializationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from mcloud.clouds.base import CloudError

_AADSTS = re.compile(r"(AADSTS\d+): ([^.\r\n]*\.)")
_RETRIED_STATUSES = (429, 500, 502, 503, 504)


def retried[T](call: Callable[[], T], retries: int) -> T:
    """Call a read that is sent as a POST (a cost or Resource Graph query), retrying what
    azure-core retries only for GET: dropped connections, throttling and server errors."""
    for attempt in range(retries + 1):
        delay = min(0.5 * 2**attempt, 8)
        try:
            return call()
        except (ServiceRequestError, ServiceResponseError):
            if attempt == retries:
                raise
        except HttpResponseError as error:
            if error.status_code not in _RETRIED_STATUSES or attempt == retries:
                raise
            delay = _retry_after(error) if _retry_after(error) is not None else delay
        time.sleep(delay)
    raise AssertionError("unreachable")


def _retry_after(error: HttpResponseError) -> float | None:
    """The seconds a throttled answer asks to wait (at most 30), if it says."""
    headers = getattr(error.response, "headers", None) or {}
    try:
        return min(max(float(headers.get("Retry-After", "")), 0.0), 30.0)
    except ValueError:
        return None


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
        code = (exc.error.code if exc.error else None) or "AuthenticationFailed"
        raise CloudError(
            f"Azure rejected the credentials ({code})", permanent=True, code=code
        ) from None
    except ResourceNotFoundError as exc:
        code = (exc.error.code if exc.error else None) or "NotFound"
        raise CloudError(
            f"Azure could not {doing}: it does not exist ({code})", permanent=True, code=code
        ) from None
    except HttpResponseError as exc:
        code = (exc.error.code if exc.error else None) or str(exc.status_code)
        if exc.status_code in (401, 403):
            raise CloudError(
                f"Azure denied the request to {doing} ({code})", permanent=True, code=code
            ) from None
        raise CloudError(f"Azure could not {doing} ({code})", code=code) from None
    except ServiceResponseError:
        raise CloudError(
            f"Azure did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except DeserializationError:
        raise CloudError(
            f"Azure sent an answer that could not be read while trying to {doing}",
            code="Unreadable",
        ) from None
    except ServiceRequestError:
        raise CloudError("Azure could not be reached", code="ConnectionError") from None
    except AzureError as exc:
        name = exc.__class__.__name__
        raise CloudError(f"Azure could not {doing} ({name})", code=name) from None
