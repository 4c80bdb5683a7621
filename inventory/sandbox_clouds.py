"""The sandbox: accounts that point at the local emulators (`python -m emulators`).

The emulators make fresh credentials each time they start and tell them at
`SANDBOX_URL/sandbox.json`; sandbox accounts store no secret and read them from there, each
through its provider's `SandboxMapping` (inventory/providers.py).
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from mcloud.clouds.base import CloudError
from mcloud.clouds.registry import CloudProvider, SandboxMapping


def sandbox_description() -> dict[str, Any]:
    """Endpoints and credentials of the running emulators; a CloudError when none runs."""
    try:
        answer = requests.get(f"{settings.SANDBOX_URL}/sandbox.json", timeout=3)
        answer.raise_for_status()
    except requests.RequestException:
        raise CloudError(
            f"The sandbox emulators do not answer at {settings.SANDBOX_URL}. Start them with "
            "`make run` (or `python -m emulators`).",
            code="SandboxDown",
        ) from None
    return answer.json()


def sandbox_mapping(provider: CloudProvider) -> SandboxMapping:
    """How a sandbox account of `provider` reads the description; a CloudError for a
    provider that the emulators do not play."""
    if provider.sandbox is None:
        raise CloudError(
            f"The sandbox emulators play no {provider.label} account.",
            permanent=True,
            code="NoSandbox",
        )
    return provider.sandbox
