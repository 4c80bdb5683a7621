"""Signing what mcloud POSTs to the URLs users set, as the Standard Webhooks specification
says: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, which a receiver checks
with any of that specification's libraries (and so rejects replays).

One helper for every signed call (budget webhooks, generic notification channels), so that a
receiver verifies all of them the same way. The secret is `whsec_` and 32 random bytes in
base64; a message keeps its id across retries, so a receiver drops a delivery it has seen.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from django.utils import timezone
from standardwebhooks import Webhook


def signing_secret_new() -> str:
    """A signing secret in the Standard Webhooks format: whsec_ and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(
    *, secret: str, message_id: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    """The headers of a JSON POST of `body`, signed with `secret` under `message_id`."""
    now = now or timezone.now()
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
