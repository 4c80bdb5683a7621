from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def sandbox(request: HttpRequest) -> dict[str, Any]:
    """Whether "Load a sandbox estate" is offered (development, or SANDBOX_ENABLED)."""
    return {"sandbox_enabled": settings.SANDBOX_ENABLED}
