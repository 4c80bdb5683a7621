"""What the Azure fake holds, and the wire helpers its parts share."""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.base import Request, Response

ARM_SCOPE = "https://management.azure.com/.default"
# The resources ARM accepts tokens for (the token's audience is the scope minus "/.default").
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)",
    re.IGNORECASE,
)
_SCOPE = r"/+subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?"


@dataclass
class _App:
    tenant_id: str
    client_id: str
    secret: str
    subscriptions: set[str]
    object_id: str


@dataclass
class _Token:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float


@dataclass
class _State:
    tenants: set[str] = field(default_factory=set)
    apps: dict[str, _App] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case id -> JSON
    power: dict[str, str] = field(default_factory=dict)  # lower-case VM id -> power state
    costs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    # (lower-case subscription, lower-case type) -> items sent as they are (see add_raw)
    raw: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    # Long-running operations of power actions, by id (emulators.azure.arm_actions).
    operations: dict[str, Any] = field(default_factory=dict)
    # Management groups by lower-case id (emulators.azure.management_groups).
    management_groups: dict[str, dict[str, Any]] = field(default_factory=dict)


class AzurePart:
    """What each part of AzureFake (identity, ARM, costs) expects of the whole."""

    _lock: threading.RLock
    _state: _State
    url: str
    page_size: int
    cost_page_size: int
    token_lifetime: int
    error: Callable[[int, str, str], Response]
    _authorize: Callable[[Request, str | None, str], _App | Response]
    _next_link: Callable[[Request, str], str]


def _resource_id(sub: str, rg: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rtype}/{name}"


def _timestamp(when: dt.datetime | None, zone: str) -> str:
    """ARM's seven-digit fractions; Compute ends with "+00:00", Storage with "Z"."""
    when = when or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return f"{when.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%f}0{zone}"


def _encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> str | None:
    """The value inside a $skiptoken; ValueError for one this server did not write."""
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"The skip token '{token}' is not valid.") from exc


def _arm(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    request_id = str(uuid.uuid4())
    now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Response.json(
        data,
        status,
        {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
            "x-ms-routing-request-id": f"WESTEUROPE:{now}:{request_id}",
            **(headers or {}),
        },
    )


def _unauthorized(code: str, message: str) -> Response:
    """ARM's 401; its challenge carries no claims, so azure-core raises instead of retrying."""
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        f'error="invalid_token", error_description="{message}"'
    )
    return _arm({"error": {"code": code, "message": message}}, 401, {"WWW-Authenticate": challenge})
