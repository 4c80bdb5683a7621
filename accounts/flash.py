"""Secrets shown once after a redirect (a new API token, a new webhook secret).

A successful POST redirects, so that a reload never repeats it; what the next page must show
once travels in the session, encrypted like every secret at rest, and is gone once read.
"""

from __future__ import annotations

from django.http import HttpRequest

from mcloud.crypto import DecryptionError, decrypt, encrypt

_PREFIX = "accounts.shown_once."


def secret_flash_put(request: HttpRequest, name: str, value: str) -> None:
    request.session[_PREFIX + name] = encrypt(value)


def secret_flash_pop(request: HttpRequest, name: str) -> str:
    """The secret put under `name`, once; "" when there is none (or it cannot be read)."""
    token = request.session.pop(_PREFIX + name, "")
    if not token:
        return ""
    try:
        return decrypt(token)
    except DecryptionError:
        return ""
